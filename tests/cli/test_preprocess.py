"""``mesa-report preprocess``: exit codes and the summary line."""

from __future__ import annotations

from mesa_report.cli.main import main

from ..ingest_common import write_edf


def test_cli_exit_codes_and_summary(tmp_path, capsys):
    write_edf(tmp_path / "mesa-sleep-0010.edf", 11 * 60)
    code = main(["preprocess", "--edf-dir", str(tmp_path), "--output_dir",
                 str(tmp_path / "store"), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0 and "1 written, 0 up to date, 0 failed" in out
    assert "no annotation file" in err

    (tmp_path / "mesa-sleep-0011.edf").write_bytes(b"")
    code = main(["preprocess", "--edf_dir", str(tmp_path), "--output-dir",
                 str(tmp_path / "store"), "--no-progress", "--jobs", "1"])
    out, err = capsys.readouterr()
    assert code == 1 and "0 written, 1 up to date, 1 failed" in out
    assert "mesa-sleep-0011.edf" in err and "failed nights" in err

    code = main(["preprocess", "--edf-dir", str(tmp_path / "none"), "--output-dir",
                 str(tmp_path / "store")])
    assert code == 2 and "does not exist" in capsys.readouterr().err
