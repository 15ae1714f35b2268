"""mesa-report's app: step through a night's samples and see where the model looked.

Run it with ``streamlit run streamlit_app.py`` (``make app``). This file only lays out widgets
and charts; sources, caching and navigation live in ``mesa_report.app_support`` and
``mesa_report.app_state``, every view in ``mesa_report.charts``.
"""

from __future__ import annotations

import streamlit as st

from mesa_report import app_state as nav
from mesa_report import app_support as support
from mesa_report import charts
from mesa_report.errors import MesaReportError
from mesa_report.stages import channel_label

st.set_page_config(page_title="mesa-report", page_icon="🧠", layout="wide")
state = st.session_state


def show_error(exc: MesaReportError) -> None:
    st.error(str(exc), icon="⚠️")


# ---- sources --------------------------------------------------------------------------------
if "sources" not in state:
    with st.spinner("Preparing the demo cohort (the first start builds it: up to a minute)…"):
        try:
            state.sources = support.demo_sources()
        except MesaReportError as exc:
            state.sources = None
            show_error(exc)
request, url_problems = nav.session_request(state, st.query_params.to_dict())

with st.sidebar:
    st.header("Open")
    sources = state.sources
    if sources is not None:
        st.caption(("**Demo cohort**" if sources.is_demo else "**Your files**")
                   + f"  \ncheckpoint `{sources.checkpoint.name}`  \nfolder `{sources.preprocessed_dir}`")
    with st.form("open_form"):
        st.text_input("Checkpoint", key="checkpoint_text", placeholder="checkpoints_mesa/best_model.pth")
        st.text_input("Preprocessed folder", key="folder_text", placeholder="C:\\mesa")
        st.text_input("Index CSV", key="csv_text", placeholder="mesa_final.csv (inside the folder)")
        opened = st.form_submit_button("Open", help="Empty fields keep what is open now.")
    if opened:
        try:
            state.sources = support.user_sources(state.checkpoint_text, state.folder_text,
                                                 state.csv_text, sources)
            nav.on_sources_changed(state)
        except MesaReportError as exc:
            show_error(exc)
    if state.sources is not None and not state.sources.is_demo:
        st.button("Back to the demo", on_click=support.back_to_demo, args=(state,))

    st.header("Attention maps")
    view_options = st.container()

st.title("MESA Transformer: where the model looked")
sources = state.sources
if sources is None:
    st.info("Open a checkpoint and a preprocessed folder in the sidebar.")
    st.stop()
for notice in sources.notices:
    st.warning(notice, icon="ℹ️")
for problem in url_problems:
    st.warning(f"Link: {problem}", icon="🔗")

try:
    model = support.open_model(sources.checkpoint)
    store = support.open_store(sources.preprocessed_dir, sources.csv_path)
except MesaReportError as exc:
    show_error(exc)
    st.stop()

with view_options:
    layer = st.selectbox("Layer", support.layer_choices(model.config), key="layer",
                         index=len(support.layer_choices(model.config)) - 1,
                         format_func=lambda k: f"layer {k + 1}",
                         help="Encoder layer of the temporal and inter-epoch maps (the seed shows the last).")
    head = st.selectbox("Head", support.head_choices(model.config), key="head",
                        format_func=support.head_label)
    colours = st.selectbox("Colour scheme", support.COLOUR_CHOICES, key="colours")
cmaps = support.colour_maps(colours)

subject, problems = nav.choose_subject(request.subject, store.mesaids)
state[nav.SUBJECT_KEY] = subject
st.selectbox("Night", store.mesaids, key=nav.SUBJECT_KEY, format_func=support.record_id,
             on_change=nav.on_subject_chosen, args=(state,))
for problem in problems:
    st.warning(f"Link: {problem}", icon="🔗")

try:
    night = support.night_in_store(store, state[nav.SUBJECT_KEY])
    result = support.night_inference(model, night)
except MesaReportError as exc:
    show_error(exc)
    st.stop()

# ---- the night ------------------------------------------------------------------------------
figures = support.night_figures(result.labels, result.pred, result.class_names, result.epoch_seconds)
st.header("The night")
left, right = st.columns([3, 1])
with left:
    st.altair_chart(charts.hypnogram_chart(result.labels, result.pred, result.confidence,
                                           class_names=result.class_names,
                                           epoch_seconds=result.epoch_seconds), width="content")
with right:
    if figures.stages is None:
        st.info("No epoch of this night is scored: nothing to compare the prediction with.")
    else:
        a, k = st.columns(2)
        a.metric("Accuracy", f"{figures.stages.accuracy:.1%}")
        k.metric("Cohen's κ", f"{figures.kappa:.2f}")
        st.caption(f"{figures.n_scored} scored epochs of {figures.n_epochs}")
        st.altair_chart(charts.confusion_chart(figures.stages.confusion, result.class_names,
                                               cmap=charts.CONFUSION_CMAP), width="content")

# ---- the sample -----------------------------------------------------------------------------
view, problems = nav.resolve_view(
    request, subject=subject, n_samples=result.n_samples, sample_starts=result.sample_starts,
    seq_len=result.seq_len, channel_names=result.channel_names,
    fallback_epoch=lambda sample: support.default_epoch(result, sample))
for problem in problems:
    st.warning(f"Link: {problem}", icon="🔗")
state[nav.SAMPLE_KEY], state[nav.EPOCH_KEY], state[nav.CHANNEL_KEY] = view.sample, view.epoch, view.channel

st.header("The sample")
nav_args = (state,)
buttons = st.columns([1, 1, 2, 2, 6])
buttons[0].button("◀ Previous", key="previous", on_click=nav.on_step, args=(state, -1, result.n_samples),
                  disabled=view.sample == 0)
buttons[1].button("Next ▶", key="next", on_click=nav.on_step, args=(state, 1, result.n_samples),
                  disabled=view.sample == result.n_samples - 1)
jump_args = (result.labels, result.pred, result.sample_starts, result.seq_len)
buttons[2].button("Next wrong prediction", key="next_wrong", on_click=nav.on_jump,
                  args=(state, "wrong", *jump_args))
buttons[3].button("Next stage transition", key="next_transition", on_click=nav.on_jump,
                  args=(state, "transition", *jump_args))
if result.n_samples > 1:
    st.slider("Sample", 0, result.n_samples - 1, key=nav.SAMPLE_KEY, on_change=nav.on_sample_chosen,
              args=nav_args)
if notice := state.pop(nav.NOTICE_KEY, None):
    st.info(notice)

att = support.sample_attention(result, view.sample, layer=layer, head=head)
epochs = nav.sample_epochs(result.sample_starts, result.seq_len, view.sample)
first = epochs[0]
st.markdown(support.sample_caption(result, view.sample, att))
event = st.altair_chart(
    charts.inter_epoch_chart(att.epoch, att.true_labels, att.pred_labels, class_names=att.class_names,
                             first_epoch=first, cmap=cmaps["epoch"],
                             subtitle=f"layer {layer + 1} · {att.heads} · click a row to select its epoch"),
    key=nav.chart_key(view.sample, state), on_select="rerun", selection_mode=charts.EPOCH_SELECTION,
    width="content")
nav.take_chart_pick(state, support.picked_epoch(event.selection), epochs)
st.altair_chart(charts.prediction_strip_chart(att.true_labels, att.pred_labels, att.confidence,
                                              class_names=att.class_names, first_epoch=first),
                width="content")

# ---- the epoch ------------------------------------------------------------------------------
st.header("The epoch")
pick, chan = st.columns([2, 3])
pick.selectbox("Epoch", list(epochs), key=nav.EPOCH_KEY, on_change=nav.on_epoch_chosen, args=nav_args,
               format_func=lambda e: support.epoch_label(att, first, e))
chan.radio("Channel", list(result.channel_names), key=nav.CHANNEL_KEY, horizontal=True,
           format_func=channel_label)
position = state[nav.EPOCH_KEY] - first
channel = list(result.channel_names).index(state[nav.CHANNEL_KEY])
heading = support.epoch_label(att, first, state[nav.EPOCH_KEY])
left, right = st.columns(2)
left.altair_chart(charts.channel_chart(att.channel[position], att.channel_names, cmap=cmaps["channel"],
                                       title=f"epoch {heading}", subtitle=f"channel attention · {att.heads}"),
                  width="content")
right.altair_chart(charts.temporal_chart(att.temporal[position, channel], att.token_start_s, att.token_end_s,
                                         cmap=cmaps["temporal"], title=f"epoch {heading}",
                                         subtitle=f"temporal attention · {channel_label(state[nav.CHANNEL_KEY])}"
                                                  f" · layer {layer + 1} · {att.heads}"),
                   width="content")
st.altair_chart(charts.trace_chart(support.epoch_signal(night, state[nav.EPOCH_KEY], channel), result.sfreq_hz,
                                   charts.received_attention(att.temporal[position, channel]),
                                   att.token_start_s, att.token_end_s, channel_name=state[nav.CHANNEL_KEY],
                                   cmap=cmaps["temporal"]),
                width="content")

# ---- downloads and the URL --------------------------------------------------------------------
final = nav.View(subject=subject, sample=view.sample, epoch=state[nav.EPOCH_KEY], channel=state[nav.CHANNEL_KEY])
st.header("Downloads")
stem = f"{support.record_id(subject)}_sample_{view.sample}_epoch_{final.epoch}"
st.download_button("PNG of this view", key="png", file_name=f"{stem}.png", mime="image/png", on_click="ignore",
                   data=lambda: support.view_png(att, first, position, cmaps, title=f"{support.record_id(subject)} · "
                                                 f"sample {view.sample} · epoch {heading}"))
wanted = nav.view_query(final)
if st.query_params.to_dict() != wanted:
    st.query_params.from_dict(wanted)
