"""Hyper-parameters of the MESA Transformer and where each of its time tokens lies in an epoch.

Examples
--------
>>> config = ModelConfig()
>>> config.n_tokens, config.d_model, TokenTimes.from_config(config).n_tokens
(20, 256, 20)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from mesa_report.core.errors import ConfigError
from mesa_report.core.vocabulary import EPOCH_SAMPLES, MODEL_CHANNEL_NAMES, NUM_EEG_CHANNELS, SEQ_LEN, SFREQ_HZ, default_class_names

# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of a :class:`MesaTransformer`; the defaults are the seed's trained model."""

    num_channels: int = NUM_EEG_CHANNELS  # EEG channels the model reads (the first ones of a preprocessed night)
    time_steps: int = EPOCH_SAMPLES  # samples per epoch: 30 s at 128 Hz
    sfreq_hz: float = SFREQ_HZ  # sampling rate of the input signal
    seq_len: int = SEQ_LEN  # epochs per sequence, the inter-epoch transformer's context
    num_classes: int = 6  # sleep stages predicted (6: W N1 N2 N3 N4 REM)
    d_model: int = 256  # width of every transformer and of the epoch vector
    cnn_channels: tuple[int, int] = (64, 128)  # output channels of conv1 and conv2
    conv1_kernel: int = 50  # conv1 kernel in samples (about 0.4 s at 128 Hz)
    conv1_stride: int = 6  # conv1 stride in samples
    pool1: int = 8  # max-pool after conv1 (kernel = stride)
    conv2_kernel: int = 8  # conv2 kernel in pooled steps
    conv2_padding: int = 4  # conv2 zero padding on each side
    pool2: int = 4  # max-pool after conv2 (kernel = stride)
    temporal_heads: int = 8  # heads of the per-channel temporal transformer
    channel_heads: int = 4  # heads of the channel-fusion attention
    epoch_heads: int = 8  # heads of the inter-epoch transformer
    temporal_layers: int = 2  # encoder layers of the temporal transformer
    epoch_layers: int = 2  # encoder layers of the inter-epoch transformer
    dim_feedforward: int = 512  # hidden width of every encoder layer's feed-forward block
    classifier_hidden: int = 512  # hidden width of the classifier head
    dropout: float = 0.1  # dropout everywhere during training (off in eval mode)
    max_tokens: int = 100  # rows of the temporal positional table (the seed's 100)
    class_names: tuple[str, ...] = ()  # stage names; empty = the standard names for num_classes
    channel_names: tuple[str, ...] = ()  # channel names; empty = EEG1, EEG2, EEG3…
    epoch_seconds: float = field(init=False, default=0.0)  # derived: time_steps / sfreq_hz

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen dataclass: normalise fields once, here
        set_(self, "cnn_channels", tuple(int(c) for c in self.cnn_channels))
        set_(self, "epoch_seconds", self.time_steps / self.sfreq_hz)
        if not self.class_names:
            set_(self, "class_names", tuple(default_class_names(self.num_classes)))
        else:
            set_(self, "class_names", tuple(str(c) for c in self.class_names))
        if not self.channel_names:
            names = MODEL_CHANNEL_NAMES + tuple(f"EEG{i + 1}" for i in range(3, self.num_channels))
            set_(self, "channel_names", names[: self.num_channels])
        else:
            set_(self, "channel_names", tuple(str(c) for c in self.channel_names))
        self._validate()

    def _validate(self) -> None:
        for name in ("temporal_heads", "channel_heads", "epoch_heads"):
            heads = getattr(self, name)
            if heads < 1 or self.d_model % heads:
                raise ConfigError(
                    f"d_model={self.d_model} is not divisible by {name}={heads}; "
                    f"choose a head count that divides d_model"
                )
        if len(self.class_names) != self.num_classes:
            raise ConfigError(
                f"class_names has {len(self.class_names)} names but num_classes={self.num_classes}; "
                "give one name per class"
            )
        if len(self.channel_names) != self.num_channels:
            raise ConfigError(
                f"channel_names has {len(self.channel_names)} names ({', '.join(self.channel_names)}) "
                f"but the model reads num_channels={self.num_channels}; give one name per channel"
            )
        if len(self.cnn_channels) != 2:
            raise ConfigError(f"cnn_channels must hold 2 widths (conv1, conv2), not {self.cnn_channels}")
        n = self.n_tokens
        if n < 1:
            raise ConfigError(
                f"time_steps={self.time_steps} is too short for the CNN front end "
                f"(conv1 kernel {self.conv1_kernel}); use 30 s epochs ({int(30 * self.sfreq_hz)} samples)"
            )
        if n > self.max_tokens:
            raise ConfigError(
                f"time_steps={self.time_steps} gives {n} tokens but the temporal positional table has "
                f"max_tokens={self.max_tokens} rows; use shorter epochs or a larger max_tokens"
            )
        if self.seq_len < 1 or self.num_classes < 2 or self.num_channels < 1:
            raise ConfigError("seq_len, num_channels must be >= 1 and num_classes >= 2")

    @property
    def front_end_layers(self) -> tuple[tuple[int, int, int], ...]:
        """(kernel, stride, padding) of conv1, pool1, conv2 and pool2, in order."""
        return (
            (self.conv1_kernel, self.conv1_stride, 0),
            (self.pool1, self.pool1, 0),
            (self.conv2_kernel, 1, self.conv2_padding),
            (self.pool2, self.pool2, 0),
        )

    @property
    def n_tokens(self) -> int:
        """Time tokens per epoch after the CNN front end (20 for the seed's 3840 samples)."""
        length = self.time_steps
        for kernel, stride, padding in self.front_end_layers:
            length = (length + 2 * padding - kernel) // stride + 1
        return length

    def to_dict(self) -> dict:
        """Plain-type dictionary (for checkpoints); :meth:`from_dict` reads it back."""
        data = dataclasses.asdict(self)
        data.pop("epoch_seconds")
        data["cnn_channels"] = list(self.cnn_channels)
        data["class_names"] = list(self.class_names)
        data["channel_names"] = list(self.channel_names)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        """Build a config from :meth:`to_dict` output, ignoring derived and unknown keys."""
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k in names})


# --------------------------------------------------------------------------------------------
# Token -> time mapping
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TokenTimes:
    """Where each time token of an epoch sits, in seconds from the epoch's start.

    ``start_s``/``end_s`` are the token's step (tokens tile the epoch); ``rf_start_s``/``rf_end_s``
    its receptive field (wider, overlapping its neighbours, clipped to the epoch) and ``centre_s``
    the receptive field's centre.
    """

    start_s: np.ndarray  # (N,)
    end_s: np.ndarray  # (N,)
    centre_s: np.ndarray  # (N,)
    rf_start_s: np.ndarray  # (N,)
    rf_end_s: np.ndarray  # (N,)
    epoch_seconds: float

    @property
    def n_tokens(self) -> int:
        return int(self.start_s.shape[0])

    @property
    def edges_s(self) -> np.ndarray:
        """Token step boundaries, ``(N + 1,)``."""
        return np.append(self.start_s, self.end_s[-1])

    @classmethod
    def from_config(cls, config: ModelConfig) -> TokenTimes:
        """Derive the mapping from the front end's kernel/stride/padding arithmetic.

        Examples
        --------
        >>> tt = TokenTimes.from_config(ModelConfig())
        >>> float(tt.end_s[0]), round(float(tt.rf_end_s[5] - tt.rf_start_s[5]), 2)
        (1.5, 4.47)
        """
        n = config.n_tokens
        first = np.arange(n, dtype=np.float64)  # (N,) first input index of each token, per layer
        last = first.copy()
        jump = 1
        for kernel, stride, padding in reversed(config.front_end_layers):
            first = first * stride - padding
            last = last * stride - padding + kernel - 1
            jump *= stride
        fs = config.sfreq_hz
        start = np.arange(n) * jump / fs
        end = np.minimum((np.arange(n) + 1) * jump, config.time_steps) / fs
        return cls(
            start_s=start,
            end_s=end,
            centre_s=(first + last + 1) / 2 / fs,
            rf_start_s=np.clip(first, 0, config.time_steps) / fs,
            rf_end_s=np.clip(last + 1, 0, config.time_steps) / fs,
            epoch_seconds=config.epoch_seconds,
        )


