"""``mesa-report report``: writes, skips and forces; close matches for unknown subjects; one failure stops nothing."""

from __future__ import annotations

import numpy as np

from mesa_report.cli import main as cli
from mesa_report.data.index_csv import write_index
from mesa_report.data.night_files import write_night


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
def run_cli(*argv):
    return cli.main(["report", "--quiet", *map(str, argv)])


def test_command_writes_skips_and_forces(demo_night, checkpoint, tmp_path, capsys):
    data = ["--checkpoint_path", checkpoint, "--preprocessed_dir", demo_night.path.parent,
            "--output_dir", tmp_path, "--format", "html", "--num_samples", "0"]
    assert run_cli("--subject", demo_night.mesaid, *data) == 0
    written = tmp_path / f"mesa-sleep-{demo_night.mesaid:04d}_report.html"
    first = written.stat().st_mtime_ns
    assert "1 subject(s) reported (1 files)" in capsys.readouterr().out
    assert run_cli("--subject", demo_night.mesaid, *data) == 0
    assert "0 subject(s) reported (0 files), 1 up to date" in capsys.readouterr().out
    assert written.stat().st_mtime_ns == first
    assert run_cli("--subject", demo_night.mesaid, "--force", *data) == 0
    assert written.stat().st_mtime_ns > first


def test_command_lists_close_matches_for_an_unknown_subject(demo_night, checkpoint, tmp_path, capsys):
    code = run_cli("--subject", "mesa-sleep-0011", "--checkpoint_path", checkpoint,
                   "--preprocessed_dir", demo_night.path.parent, "--output_dir", tmp_path)
    assert code == 2
    err = capsys.readouterr().err
    assert "mesa-sleep-0011" in err and "close matches: mesa-sleep-0001" in err
    assert not any(tmp_path.iterdir())


def test_one_failing_subject_does_not_stop_the_others(tmp_path, checkpoint, capsys):
    store = tmp_path / "store"
    rng = np.random.default_rng(3)
    for mesaid, n_epochs in ((1, 20), (2, 10)):  # night 2 is shorter than one sample
        write_night(store, mesaid, rng.standard_normal((4, n_epochs * 3840)).astype(np.float32),
                    np.zeros(n_epochs, dtype=int))
    write_index(store, [{"mesaid": 1, "sleep_stages": "0" * 20}, {"mesaid": 2, "sleep_stages": "0" * 10}])
    code = run_cli("--all", "--checkpoint_path", checkpoint, "--preprocessed_dir", store,
                   "--output_dir", tmp_path / "out", "--format", "html", "--num_samples", "0")
    captured = capsys.readouterr()
    assert code == 1
    assert "1 subject(s) reported (1 files), 0 up to date, 1 failed" in captured.out
    assert "mesa-sleep-0002" in captured.err and "fewer than one sample" in captured.err
    assert (tmp_path / "out" / "mesa-sleep-0001_report.html").is_file()
    assert not (tmp_path / "out" / "mesa-sleep-0002_report.html").exists()


def test_command_refuses_an_output_folder_it_cannot_write(demo_night, checkpoint, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = run_cli("--all", "--checkpoint_path", checkpoint, "--preprocessed_dir",
                   demo_night.path.parent, "--output_dir", blocker / "out")
    assert code == 2 and "--output_dir" in capsys.readouterr().err


def test_a_pdf_report_is_made_with_the_helpers_and_holds_every_chart(demo_night, checkpoint, tmp_path, capsys,
                                                                     monkeypatch):
    import io

    import pikepdf
    from pypdf import PdfReader

    from mesa_report.render.pdf_workers import PdfWorkers, should_start
    from tests.helpers import drawn_forms

    made = []
    by_helpers = PdfWorkers.vector_pdf
    monkeypatch.setattr(PdfWorkers, "vector_pdf", lambda self, *a, **k: made.append(1) or by_helpers(self, *a, **k))
    code = run_cli("--subject", demo_night.mesaid, "--checkpoint_path", checkpoint, "--preprocessed_dir",
                   demo_night.path.parent, "--output_dir", tmp_path, "--num_samples", "1")
    assert code == 0 and "1 subject(s) reported (2 files)" in capsys.readouterr().out
    assert len(made) == (1 if should_start(["html", "pdf"], None, 1) else 0)  # two cores or more: by the helpers
    pdf = (tmp_path / f"mesa-sleep-{demo_night.mesaid:04d}_report.pdf").read_bytes()
    html = (tmp_path / f"mesa-sleep-{demo_night.mesaid:04d}_report.html").read_text(encoding="utf-8")
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        laid = sum(len(drawn_forms(page)) for page in doc.pages)
    assert laid == html.count('class="vega-spec"')  # every chart of the HTML, drawn once in the PDF
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Hypnogram" in text or "hypnogram" in text


def test_the_command_itself_imports_neither_weasyprint_nor_scipy(demo_night, checkpoint, tmp_path):
    """With its helpers, the command's own process leaves WeasyPrint to them and never needs scipy."""
    import subprocess
    import sys

    from mesa_report.render.pdf_workers import should_start

    argv = ["report", "--quiet", "--subject", str(demo_night.mesaid), "--checkpoint_path", str(checkpoint),
            "--preprocessed_dir", str(demo_night.path.parent), "--output_dir", str(tmp_path), "--num_samples", "1"]
    probe = (f"import sys; from mesa_report.cli.main import main; code = main({argv!r}); "
             "print(code, sorted({m.split('.')[0] for m in sys.modules} & {'weasyprint', 'scipy', 'torch'}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    code, loaded = done.stdout.strip().splitlines()[-1].split(" ", 1)
    assert code == "0", done.stderr[-2000:]
    expected = ["torch"] if should_start(["pdf"], None, 1) else ["torch", "weasyprint"]
    assert loaded == repr(expected)
    assert (tmp_path / f"mesa-sleep-{demo_night.mesaid:04d}_report.pdf").is_file()
