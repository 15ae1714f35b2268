"""The seed's attention files, its command line, its Python API, and the choice of epochs to show."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from mesa_report.charts.data import chart_frame
from mesa_report.charts.heatmaps import inter_epoch_chart
from mesa_report.charts.scales import COLOUR_SCHEMES
from mesa_report.cli.main import build_parser, main
from mesa_report.core.errors import ConfigError, ReportError
from mesa_report.model.network import MesaTransformer
from mesa_report.model.config import ModelConfig
from mesa_report.render.vega import render_chart
from mesa_report.explain.selection import (
    informative_epochs,
    rank_epochs,
    rank_samples,
    stage_transitions,
    wrong_predictions,
)
from mesa_report.report.seed_pngs import (
    choose_epochs,
    sample_attention,
    sample_charts,
    visualize_sample_attention,
)

REPO = Path(__file__).resolve().parents[1]
SEED_README = REPO.parent / "shared" / "seed" / "attention_visualization_README.md"
CHANNELS = ["EEG1", "EEG2", "EEG3"]
EPOCH_SAMPLES = 3840
TINY = dict(d_model=32, dim_feedforward=64, cnn_channels=(8, 16), classifier_hidden=32)  # seed heads 8/4/8


def _seed_file_names(idx: int, epochs: list[int], n_channels: int, suffix: str = "png") -> set[str]:
    names = {f"attention_dashboard_sample_{idx}", f"epoch_attention_sample_{idx}",
             f"inter_epoch_attention_sample_{idx}",
             f"temporal_attention_first_{len(epochs)}_epochs_sample_{idx}",
             f"channel_attention_first_{len(epochs)}_epochs_sample_{idx}"}
    for e in epochs:
        names.add(f"channel_attention_sample_{idx}_epoch_{e}")
        names |= {f"temporal_attention_sample_{idx}_epoch_{e}_ch_{c}" for c in range(n_channels)}
    return {f"{n}.{suffix}" for n in names}


def _svg_size(svg: bytes) -> tuple[int, int]:
    head = svg[:400].decode()
    return (int(float(re.search(r'width="([\d.]+)"', head).group(1))),
            int(float(re.search(r'height="([\d.]+)"', head).group(1))))


@pytest.fixture(scope="module")
def model() -> MesaTransformer:
    torch.manual_seed(0)
    return MesaTransformer(ModelConfig(**TINY)).eval()


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    features = torch.randn(2, 20, 3, EPOCH_SAMPLES, generator=gen)  # (B, S, C, T)
    labels = torch.randint(0, 6, (2, 20), generator=gen)  # (B, S)
    labels[1, 7] = -1
    return features, labels


SEED_STAGES = "23" + "9" + "01223345550122334555"  # 23 epochs; "9" (unscored) at epoch 2


def _write_seed_store(folder: Path, csv_path: Path) -> None:
    """A store exactly as the seed's users hold it: a bare torch.save'd (4, T) tensor and a CSV.

    One night of 23 epochs and a partial one the loader drops; epoch 2 is unscored, so with
    seq_len 20 only the window of epochs 3-22 survives the loader's ``filter_unscored``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    signal = rng.normal(size=(4, len(SEED_STAGES) * EPOCH_SAMPLES + 100)).astype(np.float32)  # (4, T)
    torch.save(torch.from_numpy(signal), folder / "mesa-sleep-0001_preprocessed.pt")
    pd.DataFrame({"mesaid": [1], "sleep_stages": [SEED_STAGES]}).to_csv(csv_path, index=False)


def _write_seed_checkpoint(path: Path, model: MesaTransformer) -> None:
    """A checkpoint as the seed's training wrote it: no config, only weights and bookkeeping."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"epoch": 3, "model_state_dict": model.state_dict(), "best_val_acc": 0.5,
                "class_names": ["W", "N1", "N2", "N3", "N4", "REM"]}, path)


# --------------------------------------------------------------------------------------------
# The file set
# --------------------------------------------------------------------------------------------
def test_seed_files_are_written_with_their_names_sizes_and_content(model, batch, tmp_path):
    features, labels = batch
    paths = visualize_sample_attention(model, features, labels, CHANNELS, tmp_path, sample_idx=1,
                                       seq_len=20, epochs=[7])
    assert paths[0].name == "attention_dashboard_sample_2.png"  # samples are numbered from 1
    assert {p.name for p in tmp_path.iterdir()} == _seed_file_names(2, [7], 3)
    att = sample_attention(model, features, labels, 1)
    expected = sample_charts(att, [7])
    for stem in ("attention_dashboard_sample_2", "temporal_attention_sample_2_epoch_7_ch_2"):
        image = Image.open(tmp_path / f"{stem}.png").convert("RGB")
        width, height = _svg_size(render_chart(expected[stem], "svg"))
        assert image.size == (2 * width, 2 * height)  # drawn at twice the chart's size
        pixels = np.asarray(image).astype(np.uint32)  # (H, W, 3)
        colours = pixels[..., 0] << 16 | pixels[..., 1] << 8 | pixels[..., 2]  # (H, W) packed RGB
        assert len(np.unique(colours)) > 50 and pixels.std() > 20  # not blank
    for stem in ("epoch_attention_sample_2", "channel_attention_sample_2_epoch_7"):
        pixels = np.asarray(Image.open(tmp_path / f"{stem}.png").convert("L"))  # (H, W)
        assert min(pixels.shape) > 400 and pixels.std() > 20
    dashboard = Image.open(tmp_path / "attention_dashboard_sample_2.png").size
    assert dashboard[0] > 1500 and dashboard[1] > 1200
    # the inter-epoch map spans the width: the right of the top is drawn (the seed's was blank there)
    assert _blank_share(tmp_path / "attention_dashboard_sample_2.png", top=0.1, bottom=0.4, left=0.55, right=0.7) < 0.2


def _blank_share(path: Path, *, top: float, bottom: float, left: float, right: float) -> float:
    """Share of white pixels in a region of an image (fractions of its height and width)."""
    grey = np.asarray(Image.open(path).convert("L"))  # (H, W)
    h, w = grey.shape
    return float((grey[int(top * h):int(bottom * h), int(left * w):int(right * w)] > 245).mean())


def test_the_dashboard_has_no_blank_corner_and_grouped_files_hold_the_first_epochs(model, batch):
    from mesa_report.charts.data import chart_frame

    att = sample_attention(model, *batch, 0, first_epoch=40)
    charts = sample_charts(att, [3, 9, 12])
    inter = charts["attention_dashboard_sample_1"].vconcat[0]  # as wide as the rows of panels under it
    assert inter.width > 2 * inter.height
    for stem, grid in (("channel_attention_first_3_epochs_sample_1", lambda c: c.hconcat),
                       ("temporal_attention_first_3_epochs_sample_1", lambda c: [r.hconcat[0] for r in c.vconcat])):
        chart = charts[stem]
        assert "first 3 epochs (40–42)" in chart.title
        for position, panel in enumerate(grid(chart)):  # the sample's epochs 0, 1, 2: what the name says
            assert panel.title.text.startswith(f"epoch {40 + position}:")
            expected = att.channel[position] if "channel" in stem else att.temporal[position, 0]
            weights = chart_frame(panel)["weight"].to_numpy()
            np.testing.assert_allclose(np.sort(weights), np.sort(expected.ravel()), atol=1e-6)


def test_views_hold_the_models_weights_for_that_sample(model, batch):
    features, labels = batch
    att = sample_attention(model, features, labels, 1, layer=0, head=3)
    with torch.no_grad():
        out = model(features[1:2], return_attention=True)
    np.testing.assert_allclose(att.epoch, out.attention.epoch[0, 0, 3].numpy(), atol=1e-6)
    np.testing.assert_allclose(att.channel[5], out.attention.channel[0, 5, 3].numpy(), atol=1e-6)
    np.testing.assert_allclose(att.temporal[5, 2], out.attention.temporal[0, 5, 2, 0, 3].numpy(), atol=1e-6)
    assert att.true_labels[7] == -1 and (att.heads, att.layer_label) == ("head 4", "layer 1 of 2")
    chart = inter_epoch_chart(att.epoch, att.true_labels, att.pred_labels)
    grid = chart_frame(chart).pivot(index="query_epoch", columns="key_epoch", values="weight").to_numpy()
    np.testing.assert_allclose(grid, out.attention.epoch[0, 0, 3].numpy(), atol=1e-6)
    mean = sample_attention(model, features[1], labels[1])  # one sample without its batch axis
    np.testing.assert_allclose(mean.epoch, out.attention.epoch[0, -1].mean(0).numpy(), atol=1e-6)


def test_default_epochs_are_the_informative_ones(model, batch):
    features, labels = batch
    att = sample_attention(model, features, labels, 0)
    chosen = choose_epochs(att, num_epochs_to_plot=5)
    wrong = np.flatnonzero(wrong_predictions(att.true_labels, att.pred_labels))
    assert len(chosen) == 5 and chosen == sorted(chosen)
    if len(wrong) >= 5:
        assert set(chosen) <= set(wrong)
    else:
        assert set(wrong) <= set(chosen)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(channel_names=["EEG1", "EEG2"]), ConfigError, "2 channel names"),
    (dict(epochs=[20]), ConfigError, "0-19"),
    (dict(cmap="jet"), ReportError, "viridis, plasma"),
    (dict(layer=2), ConfigError, "layer=2"),
    (dict(head=4), ConfigError, "head=4.*channel 4"),
    (dict(seq_len=30), ConfigError, "seq_len=30"),
    (dict(fmt="gif"), ReportError, "png"),
    (dict(sample_idx=5), ConfigError, "sample_idx=5"),
])
def test_bad_input_is_a_clear_error_and_writes_nothing(model, batch, tmp_path, kwargs, error, message):
    features, labels = batch
    args = dict(channel_names=CHANNELS, output_dir=tmp_path / "out", fmt="svg") | kwargs
    with pytest.raises(error, match=message):
        visualize_sample_attention(model, features, labels, **args)
    out = tmp_path / "out"
    assert not out.exists() or list(out.iterdir()) == []


def test_unwritable_output_folder(model, batch, tmp_path):
    blocker = tmp_path / "taken"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(ReportError, match="taken.*--output_dir"):
        visualize_sample_attention(model, *batch, CHANNELS, blocker / "out", fmt="svg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


# --------------------------------------------------------------------------------------------
# Command line and Python API on the seed's files
# --------------------------------------------------------------------------------------------
def test_cli_reads_the_seeds_store_and_checkpoint(model, tmp_path, capsys):
    store, out = tmp_path / "mesa", tmp_path / "viz"
    _write_seed_store(store, store / "mesa_final.csv")
    _write_seed_checkpoint(tmp_path / "best_model.pth", model)
    rc = main(["visualize", "--checkpoint_path", str(tmp_path / "best_model.pth"),
               "--preprocessed-dir", str(store), "--csv_path", str(store / "mesa_final.csv"),
               "--output_dir", str(out), "--num_samples", "3", "--channel_names", *CHANNELS,
               "--seq_len", "20", "--num_channels", "3", "--time_steps", "3840", "--num_classes", "6",
               "--epochs", "4", "--format", "svg", "--cmap", "magma", "--layer", "0", "--quiet"])
    assert rc == 0
    # one numbering: the night's samples 1 (epochs 0-19) and 2 (epochs 3-22), epochs by night index
    assert {p.name for p in out.iterdir()} == (_seed_file_names(1, [0 + 4], 3, "svg")
                                                | _seed_file_names(2, [3 + 4], 3, "svg"))
    printed = capsys.readouterr().out
    assert f"mesa-sleep-0001: samples 1, 2 of 2 -> {out}" in printed
    assert "wrote 18 files for 2 samples (fewer samples than the 3 asked for)" in printed
    svg = (out / "epoch_attention_sample_2.svg").read_text()
    assert ">3 W→" in svg and ">22 REM→" in svg  # the window of epochs 3-22: scored W first, REM last
    assert "Sample 2: epochs 3–22" in svg


def _write_two_night_store(folder: Path) -> Path:
    """Nights 1 and 2 of 60 epochs (3 samples each) with varied stages; the index's path."""
    rng = np.random.default_rng(3)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for mesaid in (1, 2):
        stages = "".join(rng.choice(list("01235"), size=60))
        signal = rng.normal(size=(4, 60 * EPOCH_SAMPLES)).astype(np.float32)  # (4, T)
        torch.save(torch.from_numpy(signal), folder / f"mesa-sleep-{mesaid:04d}_preprocessed.pt")
        rows.append({"mesaid": mesaid, "sleep_stages": stages})
    pd.DataFrame(rows).to_csv(folder / "mesa_final.csv", index=False)
    return folder / "mesa_final.csv"


def _visualize(model, tmp_path, *extra) -> int:
    store = tmp_path / "mesa"
    if not store.is_dir():
        _write_two_night_store(store)
        _write_seed_checkpoint(tmp_path / "best_model.pth", model)
    return main(["visualize", "--checkpoint_path", str(tmp_path / "best_model.pth"), "--preprocessed_dir",
                 str(store), "--format", "svg", "--num_epochs_to_plot", "1", "--quiet", *extra])


def _sample_numbers(folder: Path, suffix: str = "svg") -> set[int]:
    return {int(m) for m in re.findall(rf"epoch_attention_sample_(\d+)\.{suffix}", " ".join(os.listdir(folder)))}


def test_cli_draws_the_samples_the_report_details(model, tmp_path, capsys):
    from mesa_report.data.store import NightStore
    from mesa_report.inference.service import ResultsService
    from mesa_report.model.loaded import open_checkpoint
    from mesa_report.explain.selection import choose_samples

    assert _visualize(model, tmp_path, "--output_dir", str(tmp_path / "viz"), "--num_samples", "2") == 0
    loaded = open_checkpoint(tmp_path / "best_model.pth")
    result = ResultsService().night(loaded, NightStore(tmp_path / "mesa").night(1))
    report_picks = {index + 1 for index, _ in choose_samples(result, 2)}
    assert _sample_numbers(tmp_path / "viz") == report_picks and len(report_picks) == 2
    assert "mesa-sleep-0001: samples" in capsys.readouterr().out
    starts = result.sample_starts[[n - 1 for n in report_picks]]
    assert abs(int(starts[0]) - int(starts[1])) >= result.seq_len  # the samples do not overlap


def test_cli_draws_numbered_samples_of_named_nights_into_a_folder_each(model, tmp_path, capsys):
    out = tmp_path / "viz"
    assert _visualize(model, tmp_path, "--output_dir", str(out), "--subject", "mesa-sleep-0002",
                      "--subject", "1", "--samples", "3", "1") == 0
    assert sorted(p.name for p in out.iterdir()) == ["mesa-sleep-0001", "mesa-sleep-0002"]
    for night in ("mesa-sleep-0001", "mesa-sleep-0002"):
        assert _sample_numbers(out / night) == {1, 3}
    printed = capsys.readouterr().out
    assert f"mesa-sleep-0002: samples 1, 3 of 3 -> {out / 'mesa-sleep-0002'}" in printed
    svg = (out / "mesa-sleep-0002" / "epoch_attention_sample_3.svg").read_text()
    assert "Sample 3: epochs 40–59" in svg  # numbered from 1, named by its night epochs


@pytest.mark.parametrize("extra, message", [
    (("--samples", "4"), r"mesa-sleep-0001 has 3 samples \(1-3\); --samples 4 is out of range"),
    (("--subject", "9"), "not in .*'9'"),
    (("--num_samples", "0"), "--num_samples must be at least 1"),
])
def test_cli_refuses_samples_and_nights_the_store_lacks(model, tmp_path, capsys, extra, message):
    assert _visualize(model, tmp_path, "--output_dir", str(tmp_path / "viz"), *extra) == 2
    err = capsys.readouterr().err.strip()
    assert re.search(message, err) and "\n" not in err
    assert not any((tmp_path / "viz").glob("**/*.svg"))


def test_cli_errors_are_one_line(model, tmp_path, capsys):
    store = tmp_path / "mesa"
    _write_seed_store(store, store / "mesa_final.csv")
    _write_seed_checkpoint(tmp_path / "best_model.pth", model)
    rc = main(["visualize", "--checkpoint_path", str(tmp_path / "best_model.pth"), "--preprocessed_dir",
               str(store), "--output_dir", str(tmp_path / "viz"), "--channel_names", "A", "B", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "2 channel names (A B)" in err and "--channel_names EEG1 EEG2 EEG3" in err
    rc = main(["visualize", "--checkpoint_path", str(tmp_path / "best_model.pth"), "--preprocessed_dir",
               str(store), "--seq_len", "30", "--quiet"])
    assert rc == 2 and "seq_len" in capsys.readouterr().err
    rc = main(["visualize", "--csv_path", str(store / "mesa_final.csv"), "--quiet"])
    assert rc == 2 and "--preprocessed_dir" in capsys.readouterr().err


def test_cli_takes_the_seeds_spelling_and_hyphenated_aliases():
    parser = build_parser({"visualize": "x"})
    seed = parser.parse_args(["visualize", "--output_dir", "a", "--num_samples", "3", "--device", "cuda",
                              "--num_epochs_to_plot", "2", "--channel_names", "EEG1", "EEG2", "EEG3"])
    alias = parser.parse_args(["visualize", "--output-dir", "a", "--num-samples", "3",
                               "--num-epochs-to-plot", "2", "--channel-names", "EEG1", "EEG2", "EEG3"])
    for name in ("output_dir", "num_samples", "num_epochs_to_plot", "channel_names"):
        assert getattr(seed, name) == getattr(alias, name)
    defaults = parser.parse_args(["visualize"])
    assert (defaults.output_dir.name, defaults.num_samples, defaults.num_epochs_to_plot) == (
        "attention_visualizations", 5, 5)
    assert (defaults.subjects, defaults.samples) == (None, None)
    chosen = parser.parse_args(["visualize", "--subject", "1", "--subject", "mesa-sleep-0002", "--samples", "2", "5"])
    assert (chosen.subjects, chosen.samples) == (["1", "mesa-sleep-0002"], [2, 5])


def _programmatic_example() -> str:
    """The README's programmatic example, checked to be the seed's with ``code.`` → ``mesa_report.``."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S)
              if "visualize_sample_attention(" in b and "create_mesa_dataloader(" in b]
    assert blocks, "README.md must show the seed's programmatic example"
    if SEED_README.is_file():
        seed_blocks = re.findall(r"```python\n(.*?)```", SEED_README.read_text(encoding="utf-8"), flags=re.S)
        seed = next(b for b in seed_blocks if "visualize_sample_attention(" in b)
        assert blocks[0].strip() == seed.replace("code.", "mesa_report.").strip()
    return blocks[0]


@pytest.mark.skipif(os.name == "nt", reason=r"C:\mesa is an absolute path on Windows")
def test_the_readmes_programmatic_example_runs_as_printed(model, tmp_path, monkeypatch):
    code = _programmatic_example()
    assert "from mesa_report" in code and "code." not in code
    monkeypatch.chdir(tmp_path)
    _write_seed_store(tmp_path / r"C:\mesa", tmp_path / "mesa_final.csv")
    _write_seed_checkpoint(tmp_path / "checkpoints_mesa" / "best_model.pth", model)
    cuda_fallback = pytest.warns(RuntimeWarning, match="CUDA")
    with cuda_fallback if not torch.cuda.is_available() else contextlib.nullcontext():
        exec(compile(code, "README.md", "exec"), {"__name__": "readme_example"})
    written = {p.name for p in (tmp_path / "attention_visualizations").iterdir()}
    assert {"attention_dashboard_sample_1.png", "epoch_attention_sample_1.png"} <= written
    assert any(n.startswith("channel_attention_sample_1_epoch_") for n in written)
    assert any(re.fullmatch(r"temporal_attention_sample_1_epoch_\d+_ch_\d\.png", n) for n in written)


@pytest.mark.slow
def test_demo_run_writes_the_seeds_files(tmp_path):
    from mesa_report import demo

    if not demo.DEMO_CHECKPOINT.is_file():
        pytest.skip(f"the demo model {demo.DEMO_CHECKPOINT.name} is not installed")
    rc = main(["visualize", "--output_dir", str(tmp_path), "--num_samples", "1", "--num_epochs_to_plot", "2",
               "--quiet"])
    assert rc == 0
    names = {p.name for p in tmp_path.iterdir()}
    (n,) = _sample_numbers(tmp_path, "png")  # the report's first pick, numbered from 1
    assert names == _seed_file_names(n, [int(m) for m in re.findall(rf"channel_attention_sample_{n}_epoch_(\d+)",
                                                                        " ".join(names))], 3)
    for name in (f"attention_dashboard_sample_{n}.png", f"epoch_attention_sample_{n}.png"):
        image = Image.open(tmp_path / name).convert("L")
        assert min(image.size) > 800 and np.asarray(image).std() > 20


# --------------------------------------------------------------------------------------------
# Which epochs and samples to show (mesa_report.explain.selection)
# --------------------------------------------------------------------------------------------
def test_wrong_predictions_ignore_unscored_epochs():
    assert wrong_predictions([0, 1, -1, 5], [0, 2, 3, 5]).tolist() == [False, True, False, False]


def test_stage_transitions_mark_both_sides_and_skip_unscored():
    assert stage_transitions([0, 0, 1, 1, -1, 1, 2]).tolist() == [False, True, True, False, False, True, True]
    both = stage_transitions([[0, 1], [2, 2]])  # a batch: along the last axis
    assert both.tolist() == [[True, True], [False, False]]


def test_rank_epochs_puts_errors_then_transitions_then_doubt():
    true = np.array([2, 2, 2, 3, 3, 3, 3, 3])
    pred = np.array([2, 2, 2, 3, 3, 3, 1, 3])
    unsure = np.array([0.9, 0.1, 0.2, 0.3, 0.8, 0.4, 0.05, 0.6])
    order = rank_epochs(true, pred, unsure)
    assert order[0] == 6  # the only error, though the surest
    assert set(order[1:3]) == {2, 3} and order[1] == 3  # the transition, the less sure first
    assert order[3:].tolist() == [0, 4, 7, 5, 1]
    assert sorted(order.tolist()) == list(range(8))
    assert informative_epochs(true, pred, unsure, 3) == [2, 3, 6]


def test_rank_samples_prefers_errors_then_transitions():
    true = np.array([[0, 0, 0], [0, 1, 1], [2, 2, 2], [0, 0, 0]])
    pred = np.array([[0, 0, 0], [0, 1, 1], [2, 1, 2], [0, 0, 0]])
    unsure = np.array([[0.1] * 3, [0.1] * 3, [0.1] * 3, [0.9] * 3])
    assert rank_samples(true, pred, unsure).tolist() == [2, 1, 3, 0]


def test_selection_rejects_mismatched_shapes():
    with pytest.raises(ConfigError):
        rank_epochs([0, 1], [0, 1, 2], [0.1, 0.2])
    with pytest.raises(ConfigError):
        informative_epochs([0], [0], [0.1], 0)


def test_colour_schemes_offered_to_every_view():
    assert {"viridis", "plasma", "YlOrRd"} <= set(COLOUR_SCHEMES)


def test_the_quick_start_takes_the_sample_flags(capsys, monkeypatch):
    import runpy

    monkeypatch.setattr("sys.argv", ["visualize_attention.py", "--help"])
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(REPO / "visualize_attention.py"), run_name="__main__")
    text = capsys.readouterr().out
    assert done.value.code == 0 and "--subject" in text and "--samples" in text and "--num_samples" in text
