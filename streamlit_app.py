"""mesa-report's app: step through a night's samples and see where the model looked.

Run it with ``streamlit run streamlit_app.py`` (``make app``). This file only lays out widgets
and charts: what is opened lives in ``mesa_report.app.sources``, caching and views in
``mesa_report.app.support``, the view and the URL in ``mesa_report.app.state`` (made valid by
``mesa_report.app.resolve``), the buttons in ``mesa_report.app.navigation``, and every chart
comes from ``mesa_report.charts`` (one module per chart family).
"""

from __future__ import annotations

import functools

import streamlit as st

from mesa_report.app import downloads, drawing, navigation, night_overview, report_builder, resolve, support
from mesa_report.app import sources as app_sources
from mesa_report.app import state as nav
from mesa_report.charts.heatmaps import EPOCH_SELECTION, channel_chart, inter_epoch_chart, temporal_chart
from mesa_report.charts.traces import traces_chart
from mesa_report.core.errors import MesaReportError
from mesa_report.core.vocabulary import channel_label
from mesa_report.data.night_ids import record_id
from mesa_report.explain import views

st.set_page_config(page_title="mesa-report", page_icon="🧠", layout="wide")
state = st.session_state
reports = report_builder.shared_builder()  # its worker starts now and warms up while this page is built
request, url_problems = nav.session_request(state, st.query_params.to_dict())

# ---- sources (sidebar) ------------------------------------------------------------------------
if app_sources.SOURCES_KEY not in state:
    with st.spinner("Preparing the demo cohort (the first start builds it: up to a minute)…"):
        try:
            state[app_sources.SOURCES_KEY] = app_sources.demo_sources()
        except MesaReportError as exc:
            state[app_sources.SOURCES_KEY] = None
            st.error(str(exc))
sources = state[app_sources.SOURCES_KEY]

with st.sidebar:
    st.header("Open")
    if sources is not None:
        st.caption(app_sources.sources_caption(sources))
    with st.form("open_form"):
        checkpoint_key, folder_key, csv_key = app_sources.PATH_KEYS
        st.text_input("Checkpoint", key=checkpoint_key, placeholder="checkpoints_mesa/best_model.pth")
        st.text_input("Preprocessed folder", key=folder_key, placeholder="C:\\mesa")
        st.text_input("Index CSV", key=csv_key, placeholder="mesa_final.csv (inside the folder)")
        st.form_submit_button("Open", help="An empty field keeps what is open now.",
                              on_click=app_sources.on_open, args=(state,))
    if error := state.pop(app_sources.OPEN_ERROR_KEY, None):
        st.error(error)
    if sources is not None and not sources.is_demo:
        st.button("Back to the demo", on_click=app_sources.back_to_demo, args=(state,))
    st.header("Attention maps")
    map_options = st.container()

st.title("MESA Transformer: where the model looked")
if sources is None:
    st.info("Open a checkpoint and a preprocessed folder in the sidebar.")
    st.stop()
for notice in sources.notices:
    st.warning(notice)
for problem in url_problems:
    st.warning(f"Link: {problem}")
try:
    model = app_sources.open_model(sources.checkpoint)
    store = app_sources.open_store(sources.preprocessed_dir, sources.csv_path)
except MesaReportError as exc:
    st.error(str(exc))
    st.stop()

options, option_problems = support.settle_options(state, request, model.config)
for problem in option_problems:
    st.warning(f"Link: {problem}")
with map_options:
    method = st.selectbox("Explanation", list(views.METHOD_LABELS), key=nav.METHOD_KEY,
                          format_func=views.METHOD_LABELS.get,
                          help="Raw attention of the chosen layer and head; attention rollout through all layers; "
                               "or attention weighted by its gradient for the selected epoch's predicted stage.")
    ignored = views.ignored_choices(method)
    layer = st.selectbox("Layer", views.layer_choices(model.config), key=nav.LAYER_KEY,
                         format_func=lambda k: f"layer {k + 1}", disabled="layer" in ignored,
                         help=ignored.get("layer", "Encoder layer of the temporal and inter-epoch maps "
                                                   "(the seed shows the last)."))
    # the mean of heads is None in the view model; the widget holds nav.MEAN_HEADS instead, since a
    # selectbox reads None as "nothing chosen" and would show its placeholder
    head = st.selectbox("Head", [nav.MEAN_HEADS, *views.head_choices(model.config)[1:]], key=nav.HEAD_KEY,
                        format_func=lambda h: views.head_label(None if h == nav.MEAN_HEADS else h),
                        disabled="head" in ignored, help=ignored.get("head"))
    head = None if head == nav.MEAN_HEADS else head
    if ignored:
        st.caption(f"Layer and head do not apply here: {'; '.join(ignored.values())}.")
    scheme = st.selectbox("Colour scheme", support.COLOUR_CHOICES, key=nav.SCHEME_KEY,
                          format_func=support.scheme_label)
    cmaps = support.colour_maps(scheme)

# ---- the night --------------------------------------------------------------------------------
subject, problems = resolve.choose_subject(request.subject, store.mesaids)
state[nav.SUBJECT_KEY] = subject
st.selectbox("Night", store.mesaids, key=nav.SUBJECT_KEY, format_func=record_id,
             on_change=navigation.on_subject_chosen, args=(state,))
try:
    night = app_sources.night_in_store(store, subject)
    result = support.night_inference(model, night)
except MesaReportError as exc:
    st.error(str(exc))
    st.stop()
_, more_problems = support.settle_view(state, request, result, subject)
for problem in problems + more_problems:
    st.warning(f"Link: {problem}")
clock_start = night_overview.time_axis_choice(st.sidebar, night.meta)
overview = night_overview.overview(result, night, model.path, clock_start)

figures = support.night_figures(result.labels, result.pred, result.class_names, result.epoch_seconds)
night_charts = support.night_chart_specs(result.labels, result.pred, result.class_names, result.epoch_seconds)
numbers, confusion = st.columns([1, 2])
with numbers:
    if figures.stages is None:
        st.info("No epoch of this night is scored: there is nothing to compare the prediction with.")
    else:
        accuracy, kappa = st.columns(2)
        accuracy.metric("Accuracy", f"{figures.stages.accuracy:.1%}")
        kappa.metric("Cohen's κ", f"{figures.kappa:.2f}")
        st.caption(f"{figures.n_scored} of {figures.n_epochs} epochs scored")
    report_builder.draw_report_buttons(st.container(), reports, report_builder.ReportJob.of(result, night, sources))
if "confusion" in night_charts:
    drawing.draw_spec(confusion, night_charts["confusion"], canvas=True)
night_overview.draw_statistics(st, overview)


# ---- the sample and the epoch (a click here reruns only this part) ----------------------------
@st.fragment
def sample_section() -> None:
    night_overview.take_picks(state, result, overview)
    view, _ = support.settle_view(state, nav.state_request(state), result, subject)
    st.subheader("The night")
    night_overview.draw_navigation(st, state, result, overview, view, f"{record_id(subject)}: scored and predicted",
                                   clock_start)
    st.subheader("Sample")
    buttons = st.container(horizontal=True)
    buttons.button("◀ Previous", key="previous", on_click=navigation.on_step,
                   args=(state, -1, result.n_samples), disabled=view.sample == 0)
    buttons.button("Next ▶", key="next", on_click=navigation.on_step,
                   args=(state, 1, result.n_samples), disabled=view.sample == result.n_samples - 1)
    jump = (result.labels, result.pred, result.sample_starts, result.seq_len)
    buttons.button("Next wrong prediction", key="next_wrong", on_click=navigation.on_jump,
                   args=(state, "wrong", *jump))
    buttons.button("Next stage transition", key="next_transition", on_click=navigation.on_jump,
                   args=(state, "transition", *jump))
    if result.n_samples > 1:
        st.select_slider("Sample", range(result.n_samples), key=nav.SAMPLE_KEY,
                         format_func=lambda k: str(k + 1), on_change=navigation.on_sample_chosen, args=(state,))
    if notice := state.pop(nav.NOTICE_KEY, None):
        st.info(notice)

    epochs = resolve.sample_epochs(result.sample_starts, result.seq_len, view.sample)
    att = support.sample_maps(result, view.sample, layer=layer, head=head, method=method, model=model,
                              night=night, target_epoch=view.epoch)
    st.markdown(support.sample_caption(result, view.sample, att))
    heatmap = inter_epoch_chart(
        att.epoch, att.true_labels, att.pred_labels, class_names=att.class_names, first_epoch=epochs[0],
        cmap=cmaps["epoch"], subtitle=f"{att.detail} · click a row to select its epoch", span=att.span("epoch"))
    event = drawing.draw(st, heatmap, key=navigation.chart_key(view.sample, state), on_select="rerun",
                         selection_mode=EPOCH_SELECTION, canvas=True)
    navigation.take_chart_pick(state, drawing.picked_epoch(event), epochs)

    pick, channels = st.columns([2, 3])
    pick.selectbox("Epoch", list(epochs), key=nav.EPOCH_KEY, on_change=navigation.on_epoch_chosen,
                   args=(state,), format_func=lambda e: support.epoch_label(att, epochs[0], e))
    channels.radio("Channel", list(result.channel_names), key=nav.CHANNEL_KEY, horizontal=True,
                   format_func=channel_label)
    epoch, name = state[nav.EPOCH_KEY], state[nav.CHANNEL_KEY]
    position, channel = epoch - epochs[0], list(result.channel_names).index(name)
    title = f"epoch {support.epoch_label(att, epochs[0], epoch)}"
    left, right = st.columns(2)
    temporal = att.temporal[position, channel]  # (N, N) query × key token
    drawing.draw(left, channel_chart(att.channel[position], att.channel_names, cmap=cmaps["channel"],
                                            title=title, subtitle=f"channel attention · {att.heads}",
                                            span=att.span("channel", position)), canvas=True)
    drawing.draw(right, temporal_chart(
        temporal, att.token_start_s, att.token_end_s, cmap=cmaps["temporal"], title=title,
        subtitle=f"temporal attention · {channel_label(name)} · {att.detail}",
        span=att.span("temporal", position, channel)), canvas=True)
    drawing.draw(st, traces_chart(
        support.epoch_signals(night, epoch, len(att.channel_names)), result.sfreq_hz, att.received(position),
        att.token_start_s, att.token_end_s, channel_names=att.channel_names, cmap=cmaps["temporal"],
        title=f"{title} · EEG traces", span=att.span("trace", position)), canvas=True)

    shown = nav.View(subject=subject, sample=view.sample, epoch=epoch, channel=name, layer=layer, head=head,
                     method=method, scheme=scheme)
    st.download_button("PNG of this view", key="png", file_name=f"{downloads.view_stem(shown)}.png",
                       mime="image/png", on_click="ignore",
                       data=functools.partial(downloads.view_png, att, position, cmaps, subject))
    wanted = nav.view_query(shown)
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


sample_section()
