"""Fixtures the tests of pipeline/ share: defined once per folder, so each is built once for them."""

from ..batch_common import demo, tiny_checkpoint  # noqa: F401  (pytest fixtures)
