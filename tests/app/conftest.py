"""Fixtures the tests of app/ share: defined once per folder, so each is built once for them."""

from ..views_common import env, night_1  # noqa: F401  (pytest fixtures)
from .app_common import app  # noqa: F401  (pytest fixtures)
