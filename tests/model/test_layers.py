"""The model's layers (mesa_report.model.layers): the folded CNN equals conv + batchnorm; attention is a softmax."""

from __future__ import annotations

import math

import torch

from mesa_report.model.layers import attention_weights


def test_folded_cnn_equals_conv_batchnorm_reference(tiny_model):
    x = torch.randn(7, 3840)
    cnn = tiny_model.channel_cnns[1]
    with torch.no_grad():
        torch.testing.assert_close(cnn._forward_folded(x), cnn._forward_reference(x), atol=1e-5, rtol=1e-5)


def test_attention_weights_is_a_pure_softmax():
    q, k = torch.randn(3, 4, 8), torch.randn(3, 4, 8)
    expected = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(8), dim=-1)
    torch.testing.assert_close(attention_weights(q, k), expected)
