"""Fixtures the tests of explain/ share: defined once per folder, so each is built once for them."""

from ..cohort_common import nights  # noqa: F401  (pytest fixtures)
from ..faithfulness_common import samples  # noqa: F401  (pytest fixtures)
from ..views_common import env, night_1  # noqa: F401  (pytest fixtures)
