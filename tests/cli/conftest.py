"""Fixtures the tests of cli/ share: defined once per folder, so each is built once for them."""

from ..batch_common import tiny_checkpoint  # noqa: F401  (pytest fixtures)
from ..faithfulness_common import samples  # noqa: F401  (pytest fixtures)
from ..report_common import checkpoint, demo_night, model, report, result  # noqa: F401  (pytest fixtures)
