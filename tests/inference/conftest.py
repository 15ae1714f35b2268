"""Fixtures the tests of inference/ share: defined once per folder, so each is built once for them."""

from ..cohort_common import nights  # noqa: F401  (pytest fixtures)
from ..service_common import passes  # noqa: F401  (pytest fixtures)
