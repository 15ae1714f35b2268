"""Settings that come from the environment, read in one place.

Four environment variables change what mesa-report does; nothing else in the package reads the
environment:

``MESA_REPORT_CACHE_DIR``
    Folder of the caches (the demo cohort, inference results). Default: ``%LOCALAPPDATA%\\mesa-report``
    on Windows, ``~/.cache/mesa-report`` elsewhere.
``MESA_REPORT_DEMO_SIZE``
    Size of the demo cohort as ``NIGHTSxHOURS`` (e.g. ``2x1``), for quick trials and tests.
``MESA_REPORT_BACKGROUND_REPORTS``
    ``0`` (or ``off``) makes the app build a night's reports when their button is clicked instead
    of in a background process as soon as the night opens (default ``1``): for a machine where
    that process's memory or processor time is wanted elsewhere.
``RAY_ADDRESS``
    The Ray cluster ``batch --engine ray`` joins when ``--ray_address`` is not given.

Examples
--------
>>> s = load_settings({"MESA_REPORT_CACHE_DIR": "/tmp/mr", "MESA_REPORT_DEMO_SIZE": "2x1.5"})
>>> s.cache_dir.as_posix(), s.demo_nights, s.demo_hours, s.background_reports, s.ray_address
('/tmp/mr', 2, 1.5, True, None)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mesa_report.core.errors import ConfigError

CACHE_ENV = "MESA_REPORT_CACHE_DIR"
"""Environment variable naming the cache folder."""

DEMO_SIZE_ENV = "MESA_REPORT_DEMO_SIZE"
"""Environment variable giving the demo cohort's size as ``NIGHTSxHOURS``."""

BACKGROUND_REPORTS_ENV = "MESA_REPORT_BACKGROUND_REPORTS"
"""Environment variable switching the app's background report process on (``1``) or off (``0``)."""

RAY_ADDRESS_ENV = "RAY_ADDRESS"
"""Ray's own variable for the cluster address."""

DEFAULT_DEMO_NIGHTS = 8
"""Nights of the default demo cohort (1-6 train, 7 val, 8 test)."""

DEFAULT_DEMO_HOURS = 4.0
"""Length of each default demo night, in hours."""


@dataclass(frozen=True)
class Settings:
    """What the environment asks of this process (see the module's docstring)."""

    cache_dir: Path  # folder of every cache: the demo cohort, inference results
    demo_nights: int = DEFAULT_DEMO_NIGHTS  # nights of the demo cohort
    demo_hours: float = DEFAULT_DEMO_HOURS  # hours of each demo night
    background_reports: bool = True  # the app builds a night's reports in another process as it opens
    ray_address: str | None = None  # Ray cluster to join when none is given on the command line

    @property
    def results_dir(self) -> Path:
        """``<cache_dir>/results``: the inference result cache."""
        return self.cache_dir / "results"


def _default_cache_dir(environ: Mapping[str, str]) -> Path:
    configured = environ.get(CACHE_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    local = environ.get("LOCALAPPDATA")
    if os.name == "nt" and local:
        return Path(local) / "mesa-report"
    return Path.home() / ".cache" / "mesa-report"


def _demo_size(environ: Mapping[str, str]) -> tuple[int, float]:
    text = environ.get(DEMO_SIZE_ENV, "").strip()
    if not text:
        return DEFAULT_DEMO_NIGHTS, DEFAULT_DEMO_HOURS
    nights, _, hours = text.lower().partition("x")
    try:
        n_nights, n_hours = int(nights), float(hours)
    except ValueError:
        n_nights, n_hours = 0, 0.0
    if n_nights < 1 or not 0 < n_hours <= 48:
        raise ConfigError(f"{DEMO_SIZE_ENV}={text!r} is not NIGHTSxHOURS (e.g. 2x1 for two nights "
                          "of one hour); fix or unset it")
    return n_nights, n_hours


SWITCH_WORDS = {"1": True, "on": True, "yes": True, "true": True, "0": False, "off": False, "no": False,
                "false": False}
"""What an on/off variable may say (any case)."""


def _switch(environ: Mapping[str, str], name: str, default: bool) -> bool:
    text = environ.get(name, "").strip()
    if not text:
        return default
    if text.lower() not in SWITCH_WORDS:
        raise ConfigError(f"{name}={text!r} is neither on nor off; set it to 1 or 0, or unset it")
    return SWITCH_WORDS[text.lower()]


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``environ`` (the process environment by default).

    Raises
    ------
    ConfigError
        If a variable is set to something that cannot be used; the message names it and the fix.

    Examples
    --------
    >>> load_settings({"MESA_REPORT_DEMO_SIZE": "lots"})
    Traceback (most recent call last):
    ...
    mesa_report.core.errors.ConfigError: MESA_REPORT_DEMO_SIZE='lots' is not NIGHTSxHOURS (e.g. 2x1 for two nights of one hour); fix or unset it
    """
    environ = os.environ if environ is None else environ
    nights, hours = _demo_size(environ)
    return Settings(cache_dir=_default_cache_dir(environ), demo_nights=nights, demo_hours=hours,
                    background_reports=_switch(environ, BACKGROUND_REPORTS_ENV, True),
                    ray_address=environ.get(RAY_ADDRESS_ENV) or None)
