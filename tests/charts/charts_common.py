"""What the tests of charts share: fixtures and helpers."""

from __future__ import annotations

import json

import numpy as np

from mesa_report.render.vega import chart_spec

CHANNELS = ["EEG1", "EEG2", "EEG3"]


TRUE = np.array([0, 0, 1, 2, 2, 2, 3, 4, 4, 3, 2, 5, 5, 5, 2, -1, 0, 0, 1, 2])  # (20,)


PRED = np.array([0, 1, 1, 2, 2, 1, 3, 4, 3, 3, 2, 5, 5, 2, 2, 2, 0, 0, 1, 2])  # (20,)


EDGES_S = np.arange(21) * 1.5  # token edges of a 30 s epoch, (21,)


def softmax_rows(rng: np.random.Generator, *shape: int) -> np.ndarray:
    scores = rng.normal(size=shape)
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def spec_text(chart) -> str:
    return json.dumps(chart_spec(chart), ensure_ascii=False)
