"""How far the explanations can be trusted, measured.

Three tests, each run per method (``attention``, ``rollout``, ``gradient``):

deletion
    For an epoch, the signal under its top-k % most relevant time tokens (each token's 1.5 s step,
    per channel) is replaced by a neutral signal (zero: the night's median after robust scaling),
    and the drop in the predicted class's probability is recorded — against the same number of
    tokens chosen at random. A faithful map makes the first drop larger. Reported as a curve over k
    and its area.
pointing game
    On the demo cohort, whose spindles, K-complexes, slow waves and alpha are planted at known
    places: for an epoch holding events of a kind, is the most relevant time token on a channel and
    at a time where such an event lies (± one token)? The hit rate is set against the chance rate
    (the share of the epoch's tokens that would count as a hit).
sanity check
    (Adebayo et al., 2018) The same maps from a model with re-initialised weights must differ:
    the Spearman rank correlation between the trained and the randomised model's token relevance.

Examples
--------
>>> # table = faithfulness_table(model, store, mesaids=[7, 8], events=load_events_fn)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from mesa_report.core.errors import ConfigError
from mesa_report.explain.methods import METHODS, explain, token_relevance
from mesa_report.inference.night import NightInference, sample_starts
from mesa_report.model.outputs import AttentionMaps
from mesa_report.model.network import MesaTransformer
from mesa_report.data.store import NightStore
from mesa_report.scoring.metrics import rank_correlation

DELETION_FRACTIONS = (0.05, 0.1, 0.2, 0.3, 0.5)
"""Shares of an epoch's time tokens deleted along the deletion curve."""

POINTING_KINDS = ("spindle", "k_complex", "slow_wave", "alpha")
"""Planted event kinds the pointing game is played on."""


@dataclass
class Samples:
    """Windows to test: features ``(W, S, C, T)``, labels ``(W, S)``, the night and first epoch of each."""

    features: torch.Tensor
    labels: np.ndarray
    mesaids: list[int]
    first_epochs: list[int]


def collect_samples(store: NightStore, mesaids: Sequence[int], seq_len: int, num_channels: int,
                    per_night: int = 4, seed: int = 0) -> Samples:
    """Up to ``per_night`` non-overlapping samples from each night, picked at random (seeded)."""
    rng = np.random.default_rng(seed)
    feats, labels, ids, firsts = [], [], [], []
    for mesaid in mesaids:
        night = store.night(mesaid)
        starts = sample_starts(night.n_epochs, seq_len)
        for first in sorted(rng.choice(starts, size=min(per_night, len(starts)), replace=False)):
            feats.append(night.epochs(int(first), int(first) + seq_len, channels=num_channels))
            labels.append(night.labels[first : first + seq_len])
            ids.append(int(mesaid))
            firsts.append(int(first))
    if not feats:
        raise ConfigError("no sample to test: give nights with at least one sample of seq_len epochs")
    return Samples(torch.from_numpy(np.stack(feats)), np.stack(labels), ids, firsts)


def epoch_token_relevance(model: MesaTransformer, features: torch.Tensor, method: str,
                          maps: AttentionMaps | None = None) -> Callable[[int], np.ndarray]:
    """A function giving the relevance of a target epoch's own time tokens, ``(W, C, N)``.

    Attention and rollout maps do not depend on the target, so they are computed once (or taken
    from ``maps``, the model's maps of ``features``); the gradient method runs one backward
    pass per target epoch.
    """
    fixed = None if method == "gradient" else explain(model, features, method, maps=maps)

    def relevance(target_epoch: int) -> np.ndarray:
        rel = fixed if fixed is not None else explain(model, features, method, target_epoch=target_epoch)
        return token_relevance(rel, target_epoch)[:, target_epoch].numpy()  # (W, C, N)

    return relevance


def _token_mask(order: np.ndarray, count: int, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(int(np.prod(shape)), dtype=bool)
    mask[order[:count]] = True
    return mask.reshape(shape)


def _delete(features: torch.Tensor, target_epoch: int, masks: np.ndarray, step: int) -> torch.Tensor:
    """Copy of ``features`` with the masked tokens' steps of ``target_epoch`` set to zero."""
    out = features.clone()
    w, c, n = masks.shape
    keep = torch.from_numpy(~np.repeat(masks, step, axis=2))  # (W, C, N·step)
    out[:, target_epoch, :, : n * step] *= keep
    return out


@dataclass
class DeletionResult:
    method: str
    fractions: tuple[float, ...]
    drop_relevant: np.ndarray  # (k,) mean drop of the predicted class's probability
    drop_random: np.ndarray  # (k,)

    @property
    def auc_relevant(self) -> float:
        return float(np.trapezoid(self.drop_relevant, self.fractions))

    @property
    def auc_random(self) -> float:
        return float(np.trapezoid(self.drop_random, self.fractions))

    def ratio_at(self, fraction: float = 0.1) -> float:
        """Drop for the top tokens over the drop for random ones; NaN when random deletion did not
        lower the probability (the ratio then says nothing)."""
        k = self.fractions.index(fraction)
        random_drop = float(self.drop_random[k])
        return float(self.drop_relevant[k]) / random_drop if random_drop > 1e-6 else float("nan")


def deletion_test(model: MesaTransformer, samples: Samples, method: str, *,
                  target_epochs: Sequence[int] | None = None, fractions: Sequence[float] = DELETION_FRACTIONS,
                  n_random: int = 3, seed: int = 0, maps: AttentionMaps | None = None) -> DeletionResult:
    """Mean drop of the predicted class's probability when deleting the top vs random tokens.

    ``maps``, the model's attention maps of the samples, spares a forward pass when given.

    Deleting tokens of the target epoch changes that epoch's vector alone (epochs are encoded
    independently), so only the target epoch is encoded again and put back among the others'
    vectors before the inter-epoch encoder: the same probabilities as a whole forward pass, for
    about a twentieth of the work.
    """
    rng = np.random.default_rng(seed)
    step = int(round((model.token_times.end_s[0] - model.token_times.start_s[0]) * model.config.sfreq_hz))
    targets = list(target_epochs) if target_epochs is not None else list(range(0, model.config.seq_len, 4))
    drops_rel = np.zeros(len(fractions))
    drops_rand = np.zeros(len(fractions))
    with torch.inference_mode():
        vectors = model.encode_epochs(samples.features).vectors  # (W, S, d)
        base = model.classify_epochs(vectors)[0].softmax(dim=-1)  # (W, S, K)
    relevance_of = epoch_token_relevance(model, samples.features, method, maps)
    for t in targets:
        pred = base[:, t].argmax(-1)  # (W,)
        p0 = base[:, t].gather(1, pred[:, None]).squeeze(1)  # (W,)
        relevance = relevance_of(t)  # (W, C, N)
        w, c, n = relevance.shape
        order = np.argsort(-relevance.reshape(w, -1), axis=1, kind="stable")  # (W, C·N)
        target = samples.features[:, t:t + 1]  # (W, 1, C, T)
        for k, fraction in enumerate(fractions):
            count = max(1, int(round(fraction * c * n)))
            top = np.stack([_token_mask(order[i], count, (c, n)) for i in range(w)])
            randoms = [np.stack([_token_mask(rng.permutation(c * n), count, (c, n)) for _ in range(w)])
                       for _ in range(n_random)]
            with torch.inference_mode():
                deleted = torch.cat([_delete(target, 0, m, step) for m in [top, *randoms]])  # ((1+R)W, 1, C, T)
                changed = vectors.repeat(1 + n_random, 1, 1)  # ((1+R)W, S, d)
                changed[:, t] = model.encode_epochs(deleted).vectors[:, 0]
                logits = model.classify_epochs(changed)[0][:, t]  # ((1+R)W, K)
                probs = logits.softmax(dim=-1).reshape(1 + n_random, w, -1)  # (1+R, W, K)
            p = probs.gather(2, pred[None, :, None].expand(1 + n_random, w, 1)).squeeze(2)  # (1+R, W)
            drop = (p0[None] - p).numpy()
            drops_rel[k] += drop[0].mean()
            drops_rand[k] += drop[1:].mean()
    return DeletionResult(method, tuple(fractions), drops_rel / len(targets), drops_rand / len(targets))


@dataclass
class PointingResult:
    method: str
    hits: dict[str, int] = field(default_factory=dict)
    trials: dict[str, int] = field(default_factory=dict)
    chance: dict[str, float] = field(default_factory=dict)  # mean chance rate per kind

    def hit_rate(self, kind: str) -> float:
        return self.hits.get(kind, 0) / self.trials[kind] if self.trials.get(kind) else float("nan")

    def over_chance(self, kind: str) -> float:
        chance = self.chance.get(kind, float("nan"))
        return self.hit_rate(kind) / chance if chance and chance > 0 else float("nan")


def _hit_mask(events: pd.DataFrame, epoch_start_s: float, channel_names: Sequence[str],
              token_start_s: np.ndarray, token_end_s: np.ndarray) -> np.ndarray:
    """``(C, N)`` tokens lying within one token's step of an event (on the event's channel)."""
    margin = float(token_end_s[0] - token_start_s[0])
    mask = np.zeros((len(channel_names), len(token_start_s)), dtype=bool)
    for row in events.itertuples(index=False):
        if row.channel not in channel_names:
            continue
        c = list(channel_names).index(row.channel)
        start, end = row.start_s - epoch_start_s, row.end_s - epoch_start_s
        mask[c] |= (token_end_s + margin > start) & (token_start_s - margin < end)
    return mask


def pointing_game(model: MesaTransformer, samples: Samples, method: str,
                  events_of: Callable[[int], pd.DataFrame], channel_names: Sequence[str],
                  kinds: Sequence[str] = POINTING_KINDS, maps: AttentionMaps | None = None) -> PointingResult:
    """Hit rate of the most relevant token against planted events, per kind, with its chance rate.

    ``maps``, the model's attention maps of the samples, spares a forward pass when given."""
    result = PointingResult(method)
    chance_sum: dict[str, float] = {}
    tt = model.token_times
    epoch_seconds = model.config.epoch_seconds
    events_cache = {m: events_of(m) for m in set(samples.mesaids)}
    relevance_of = epoch_token_relevance(model, samples.features, method, maps)
    for t in range(model.config.seq_len):
        relevance = relevance_of(t)  # (W, C, N)
        for i, (mesaid, first) in enumerate(zip(samples.mesaids, samples.first_epochs)):
            epoch_start = (first + t) * epoch_seconds
            events = events_cache[mesaid]
            in_epoch = events[(events["end_s"] > epoch_start) & (events["start_s"] < epoch_start + epoch_seconds)]
            best = np.unravel_index(np.argmax(relevance[i]), relevance[i].shape)
            for kind in kinds:
                of_kind = in_epoch[in_epoch["kind"] == kind]
                if of_kind.empty:
                    continue
                mask = _hit_mask(of_kind, epoch_start, channel_names, tt.start_s, tt.end_s)
                if not mask.any():
                    continue
                result.trials[kind] = result.trials.get(kind, 0) + 1
                result.hits[kind] = result.hits.get(kind, 0) + int(mask[best])
                chance_sum[kind] = chance_sum.get(kind, 0.0) + float(mask.mean())
    result.chance = {k: chance_sum[k] / result.trials[k] for k in result.trials}
    return result


def reinitialised_copy(model: MesaTransformer, seed: int = 0) -> MesaTransformer:
    """The model's architecture with fresh weights drawn from ``seed``, on the model's device.

    The caller's random state is left alone.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MesaTransformer(model.config).eval().to(next(model.parameters()).device)


def sanity_check(model: MesaTransformer, samples: Samples, method: str, *, seed: int = 0,
                 target_epochs: Sequence[int] = (0, 10, 19), maps: AttentionMaps | None = None,
                 reference_maps: AttentionMaps | None = None) -> float:
    """Mean Spearman correlation of token relevance between the model and a re-initialised copy.

    The copy is :func:`reinitialised_copy` of ``seed``. ``maps`` are the trained model's maps of
    the samples and ``reference_maps`` the copy's, when already computed (attention and rollout
    read nothing else; the gradient method always runs both models).
    """
    if method == "gradient" or reference_maps is None:
        randomised_of = epoch_token_relevance(reinitialised_copy(model, seed), samples.features, method)
    else:  # the relevance comes from the copy's maps alone
        randomised_of = epoch_token_relevance(model, samples.features, method, reference_maps)
    correlations = []
    trained_of = epoch_token_relevance(model, samples.features, method, maps)
    for t in target_epochs:
        for x, y in zip(trained_of(t), randomised_of(t)):
            rho = rank_correlation(x, y)
            if np.isfinite(rho):
                correlations.append(rho)
    return float(np.mean(correlations)) if correlations else float("nan")


@dataclass
class FaithfulnessRow:
    method: str
    deletion: DeletionResult
    pointing: PointingResult | None
    sanity_rho: float


def faithfulness_table(model: MesaTransformer, samples: Samples, *, methods: Sequence[str] = METHODS,
                       events_of: Callable[[int], pd.DataFrame] | None = None,
                       channel_names: Sequence[str] | None = None, seed: int = 0,
                       maps: AttentionMaps | None = None) -> list[FaithfulnessRow]:
    """Every test for every method (the pointing game only when events are known).

    ``maps``, the model's attention maps of the samples (e.g. :func:`stored_maps`), spares the
    forward passes that would compute them again."""
    rows = []
    for method in methods:
        if method not in METHODS:
            raise ConfigError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
        deletion = deletion_test(model, samples, method, seed=seed, maps=maps)
        pointing = None
        if events_of is not None:
            pointing = pointing_game(model, samples, method, events_of,
                                     channel_names or model.config.channel_names, maps=maps)
        rows.append(FaithfulnessRow(method, deletion, pointing,
                                    sanity_check(model, samples, method, seed=seed, maps=maps)))
    return rows


def stored_maps(samples: Samples, results: Mapping[int, NightInference]) -> AttentionMaps:
    """The attention maps of ``samples`` read from their nights' inference, ``results`` by mesaid.

    Each sample is one of its night's samples (:func:`collect_samples` draws them so), whose maps
    the night's inference holds (in float16); they are returned as float32, batch ``(W, …)``.
    """
    picked = []
    for mesaid, first in zip(samples.mesaids, samples.first_epochs):
        result = results[mesaid]
        index = np.flatnonzero(result.sample_starts == first)
        if index.size == 0:
            raise ConfigError(f"a sample starting at epoch {first} is not one of night {mesaid}'s samples")
        picked.append(result.sample(int(index[0])).attention)
    return AttentionMaps(temporal=torch.cat([m.temporal for m in picked]),
                         channel=torch.cat([m.channel for m in picked]),
                         epoch=torch.cat([m.epoch for m in picked]), token_times=picked[0].token_times)


def _ratio_text(ratio: float) -> str:
    return f"{ratio:.1f}×" if np.isfinite(ratio) else "— (random drop ≤ 0)"


def format_table(rows: list[FaithfulnessRow], kinds: Sequence[str] = POINTING_KINDS) -> str:
    """The table as Markdown (printed by the command, pasted into FAITHFULNESS.md)."""
    header = ["method", "drop top 10%", "drop random 10%", "ratio", "AUC top", "AUC random"]
    with_pointing = any(r.pointing for r in rows)
    if with_pointing:
        header += [f"{k} hit (chance)" for k in kinds]
    header.append("sanity ρ")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        k = r.deletion.fractions.index(0.1)
        cells = [r.method, f"{r.deletion.drop_relevant[k]:.3f}", f"{r.deletion.drop_random[k]:.3f}",
                 _ratio_text(r.deletion.ratio_at(0.1)), f"{r.deletion.auc_relevant:.3f}",
                 f"{r.deletion.auc_random:.3f}"]
        if with_pointing:
            for kind in kinds:
                if r.pointing and r.pointing.trials.get(kind):
                    cells.append(f"{r.pointing.hit_rate(kind):.2f} ({r.pointing.chance[kind]:.2f}, "
                                 f"n={r.pointing.trials[kind]})")
                else:
                    cells.append("–")
        cells.append(f"{r.sanity_rho:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
