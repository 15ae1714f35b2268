"""Fixtures the tests of report/ share: defined once per folder, so each is built once for them."""

from ..report_common import checkpoint, demo_night, model, page, pdf, report, result  # noqa: F401  (pytest fixtures)
