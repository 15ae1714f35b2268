"""The Vega bundle kept in the cache folder: built once, read back by later processes."""

from __future__ import annotations

import vl_convert

from mesa_report.render import vega
from mesa_report.render.vega import bundle_file, load_bundle


def test_the_bundle_is_built_once_then_read_from_the_folder(tmp_path, monkeypatch):
    built = load_bundle(tmp_path)
    assert "vegaEmbed" in built and bundle_file(tmp_path).read_text(encoding="utf-8") == built

    def refuse(**_):
        raise AssertionError("the bundle was built again although the folder holds it")

    monkeypatch.setattr(vl_convert, "javascript_bundle", refuse)
    assert load_bundle(tmp_path) == built


def test_a_damaged_bundle_file_is_built_again(tmp_path):
    path = bundle_file(tmp_path)
    path.write_text("truncated", encoding="utf-8")
    assert "vegaEmbed" in load_bundle(tmp_path)
    assert "vegaEmbed" in path.read_text(encoding="utf-8")


def test_a_folder_that_cannot_be_written_still_gives_the_bundle(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    assert "vegaEmbed" in load_bundle(blocker / "vega")


def test_the_process_bundle_comes_from_the_cache_folder(private_cache_dir):
    vega.vega_javascript.cache_clear()
    assert "vegaEmbed" in vega.vega_javascript()
    assert bundle_file(private_cache_dir / vega.BUNDLE_DIRNAME).is_file()
