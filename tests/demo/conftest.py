"""Fixtures the tests of demo/ share: defined once per folder, so each is built once for them."""

from .demo_common import short_night  # noqa: F401  (pytest fixtures)
