"""The model's config (mesa_report.model.config): errors name the parameters; token times follow the arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from mesa_report.core.errors import ConfigError
from mesa_report.model.config import ModelConfig, TokenTimes

from ..helpers import TINY


def test_token_times_follow_the_conv_and_pool_arithmetic():
    tt = TokenTimes.from_config(ModelConfig())
    assert tt.n_tokens == 20
    np.testing.assert_allclose(np.diff(tt.start_s), 1.5)  # 192 samples at 128 Hz
    assert tt.end_s[-1] == pytest.approx(30.0)
    # token 5's receptive field: samples 192*5-192 .. 192*5+379 (572 samples)
    assert tt.rf_start_s[5] == pytest.approx((960 - 192) / 128)
    assert tt.rf_end_s[5] == pytest.approx((960 + 380) / 128)
    assert tt.rf_start_s[0] == 0.0 and tt.rf_end_s[-1] == pytest.approx(30.0)
    # a different front end gives a different, still consistent, mapping
    other = TokenTimes.from_config(ModelConfig(time_steps=3000, sfreq_hz=100.0))
    assert other.n_tokens == ModelConfig(time_steps=3000, sfreq_hz=100.0).n_tokens
    assert np.all(np.diff(other.centre_s) > 0)


def test_config_errors_name_the_parameters():
    with pytest.raises(ConfigError, match="temporal_heads=5"):
        ModelConfig(temporal_heads=5)
    with pytest.raises(ConfigError, match="class_names"):
        ModelConfig(num_classes=5, class_names=("W", "N1"))
    with pytest.raises(ConfigError, match="max_tokens"):
        ModelConfig(time_steps=3840 * 6)
    assert ModelConfig(num_classes=5).class_names == ("W", "N1", "N2", "N3", "REM")
    cfg = ModelConfig(**TINY)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
