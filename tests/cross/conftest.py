"""Fixtures the tests of cross/ share: defined once per folder, so each is built once for them."""

from ..service_common import passes  # noqa: F401  (pytest fixtures)
from ..views_common import app, env, night_1  # noqa: F401  (pytest fixtures)
from ..visualize_common import model  # noqa: F401  (pytest fixtures)
