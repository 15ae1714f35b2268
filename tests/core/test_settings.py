"""The settings object: the one reader of the environment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mesa_report.core.errors import ConfigError
from mesa_report.core.settings import (
    BACKGROUND_REPORTS_ENV,
    CACHE_ENV,
    DEFAULT_DEMO_HOURS,
    DEFAULT_DEMO_NIGHTS,
    DEMO_SIZE_ENV,
    RAY_ADDRESS_ENV,
    load_settings,
)


def test_defaults_without_any_variable():
    settings = load_settings({})
    assert (settings.demo_nights, settings.demo_hours) == (DEFAULT_DEMO_NIGHTS, DEFAULT_DEMO_HOURS)
    assert settings.cache_dir.name == "mesa-report"
    assert settings.results_dir == settings.cache_dir / "results"
    assert settings.ray_address is None
    assert settings.background_reports is True


def test_each_variable_is_read(tmp_path):
    settings = load_settings({CACHE_ENV: str(tmp_path), DEMO_SIZE_ENV: "3x0.5", RAY_ADDRESS_ENV: "ray://h:1"})
    assert settings.cache_dir == Path(tmp_path)
    assert (settings.demo_nights, settings.demo_hours) == (3, 0.5)
    assert settings.ray_address == "ray://h:1"


@pytest.mark.parametrize(("text", "on"), [("0", False), ("OFF", False), (" no ", False), ("1", True), ("On", True),
                                         ("", True)])
def test_the_background_reports_switch_reads_on_and_off_words(text, on):
    assert load_settings({BACKGROUND_REPORTS_ENV: text}).background_reports is on


def test_a_switch_that_is_neither_on_nor_off_names_the_variable_and_the_fix():
    with pytest.raises(ConfigError, match=re.escape(f"{BACKGROUND_REPORTS_ENV}='2'") + ".*set it to 1 or 0"):
        load_settings({BACKGROUND_REPORTS_ENV: "2"})


@pytest.mark.parametrize("text", ["lots", "0x1", "2x0", "2x-1", "2x100"])
def test_a_demo_size_that_cannot_be_used_names_the_variable(text):
    with pytest.raises(ConfigError, match=re.escape(DEMO_SIZE_ENV) + ".*NIGHTSxHOURS"):
        load_settings({DEMO_SIZE_ENV: text})


def test_the_process_environment_is_the_default(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "elsewhere"))
    assert load_settings().cache_dir == tmp_path / "elsewhere"
