"""What the tests of faithfulness share: fixtures and helpers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mesa_report.explain.faithfulness import Samples


@pytest.fixture
def samples():
    torch.manual_seed(0)
    return Samples(torch.randn(2, 20, 3, 3840), np.zeros((2, 20), dtype=np.int64), [1, 1], [0, 20])
