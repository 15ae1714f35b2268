"""Explanation methods: rollout arithmetic, gradients where they must vanish, shapes, hierarchy."""

from __future__ import annotations

import pytest
import torch

from mesa_report.core.errors import ConfigError
from mesa_report.explain.methods import (
    METHODS,
    attention_gradients,
    attention_rollout,
    explain,
    raw_attention,
    rollout,
    token_relevance,
)


@pytest.fixture
def maps(tiny_model):
    with torch.no_grad():
        return tiny_model(torch.randn(2, 20, 3, 3840), return_attention=True).attention


def test_rollout_of_a_single_layer_is_that_layers_residual_mixed_attention(maps):
    one = maps.temporal[:, :, :, :1].mean(dim=4)  # (B, S, C, 1, N, N)
    expected = 0.5 * one[:, :, :, 0] + 0.5 * torch.eye(one.shape[-1])
    torch.testing.assert_close(rollout(one, layer_axis=3), expected)


def test_rollout_rows_still_sum_to_one_and_match_a_manual_product(maps):
    rel = attention_rollout(maps)
    for matrix in (rel.temporal, rel.channel, rel.epoch):
        torch.testing.assert_close(matrix.sum(-1), torch.ones(matrix.shape[:-1]))
    a = maps.epoch.mean(dim=2)  # (B, L, S, S)
    eye = torch.eye(20)
    manual = (0.5 * a[:, 1] + 0.5 * eye) @ (0.5 * a[:, 0] + 0.5 * eye)
    torch.testing.assert_close(rel.epoch, manual)


def test_every_method_returns_the_documented_shapes(tiny_model):
    x = torch.randn(2, 20, 3, 3840)
    shapes = None
    for method in METHODS:
        rel = explain(tiny_model, x, method, target_epoch=7)
        got = (tuple(rel.temporal.shape), tuple(rel.channel.shape), tuple(rel.epoch.shape))
        assert got == ((2, 20, 3, 20, 20), (2, 20, 3, 3), (2, 20, 20)), method
        assert rel.method == method
        shapes = shapes or got
        assert got == shapes
        assert torch.isfinite(rel.temporal).all()
    with pytest.raises(ConfigError, match="unknown method"):
        explain(tiny_model, x, "saliency")


def test_gradients_vanish_where_the_target_epoch_cannot_depend_on_the_attention(tiny_model):
    x = torch.randn(1, 20, 3, 3840)
    target = 7
    _, grads = attention_gradients(tiny_model, x, target_epoch=target)
    last = grads.epoch[0, -1]  # (H, S, S): last inter-epoch layer, per head
    others = torch.cat([last[:, :target], last[:, target + 1:]], dim=1)
    assert torch.count_nonzero(others) == 0  # other query rows never reach epoch 7's logits
    assert last[:, target].abs().sum() > 0
    assert grads.temporal.abs().sum() > 0 and grads.channel.abs().sum() > 0


def test_gradient_depends_on_the_class_and_the_model_is_left_as_it_was(tiny_model):
    x = torch.randn(1, 20, 3, 3840)
    _, g0 = attention_gradients(tiny_model, x, 3, target_class=torch.tensor([0]))
    _, g1 = attention_gradients(tiny_model, x, 3, target_class=torch.tensor([1]))
    assert not torch.allclose(g0.epoch, g1.epoch)
    assert not tiny_model.training
    assert all(p.grad is None for p in tiny_model.parameters())


def test_token_relevance_is_a_distribution_over_the_sequence(maps):
    for rel in (raw_attention(maps), attention_rollout(maps)):
        tokens = token_relevance(rel, target_epoch=5)
        assert tokens.shape == (2, 20, 3, 20)
        torch.testing.assert_close(tokens.sum(dim=(1, 2, 3)), torch.ones(2))
        assert (tokens >= 0).all()
    with pytest.raises(ConfigError, match="target_epoch"):
        token_relevance(attention_rollout(maps), target_epoch=25)


def test_raw_attention_picks_a_layer_and_head(maps):
    rel = raw_attention(maps, layer=0, head=1)
    torch.testing.assert_close(rel.epoch, maps.epoch[:, 0, 1])
    torch.testing.assert_close(rel.temporal, maps.temporal[:, :, :, 0, 1])
