"""What the tests of store share: fixtures and helpers."""

from __future__ import annotations

from mesa_report.core.vocabulary import EPOCH_SAMPLES

E = EPOCH_SAMPLES
