"""The MESA Transformer (mesa_report.model.network): the seed's layout and arithmetic, batched, every attention map."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mesa_report.core.errors import ConfigError, DataError
from mesa_report.model.config import ModelConfig
from mesa_report.model.network import MesaTransformer

from ..helpers import randomise_batchnorm

# The seed checkpoint's keys for channel 0 / layer 0 with their shapes (seed_system.md).
SEED_KEYS = {
    "channel_cnns.0.conv1.weight": (64, 1, 50), "channel_cnns.0.conv1.bias": (64,),
    "channel_cnns.0.bn1.weight": (64,), "channel_cnns.0.bn1.bias": (64,),
    "channel_cnns.0.bn1.running_mean": (64,), "channel_cnns.0.bn1.running_var": (64,),
    "channel_cnns.0.bn1.num_batches_tracked": (), "channel_cnns.0.conv2.weight": (128, 64, 8),
    "channel_cnns.0.conv2.bias": (128,), "channel_cnns.0.bn2.weight": (128,),
    "channel_cnns.0.bn2.bias": (128,), "channel_cnns.0.bn2.running_mean": (128,),
    "channel_cnns.0.bn2.running_var": (128,), "channel_cnns.0.bn2.num_batches_tracked": (),
    "channel_projections.0.weight": (256, 128), "channel_projections.0.bias": (256,),
    "temporal_encoders.0.pos_encoder.pe": (1, 100, 256),
    "temporal_encoders.0.transformer.layers.0.self_attn.in_proj_weight": (768, 256),
    "temporal_encoders.0.transformer.layers.0.self_attn.in_proj_bias": (768,),
    "temporal_encoders.0.transformer.layers.0.self_attn.out_proj.weight": (256, 256),
    "temporal_encoders.0.transformer.layers.0.self_attn.out_proj.bias": (256,),
    "temporal_encoders.0.transformer.layers.0.linear1.weight": (512, 256),
    "temporal_encoders.0.transformer.layers.0.linear1.bias": (512,),
    "temporal_encoders.0.transformer.layers.0.linear2.weight": (256, 512),
    "temporal_encoders.0.transformer.layers.0.linear2.bias": (256,),
    "temporal_encoders.0.transformer.layers.0.norm1.weight": (256,),
    "temporal_encoders.0.transformer.layers.0.norm1.bias": (256,),
    "temporal_encoders.0.transformer.layers.0.norm2.weight": (256,),
    "temporal_encoders.0.transformer.layers.0.norm2.bias": (256,),
    "channel_fusion.channel_attention.in_proj_weight": (768, 256),
    "channel_fusion.channel_attention.in_proj_bias": (768,),
    "channel_fusion.channel_attention.out_proj.weight": (256, 256),
    "channel_fusion.channel_attention.out_proj.bias": (256,),
    "channel_fusion.norm.weight": (256,), "channel_fusion.norm.bias": (256,),
    "epoch_projection.weight": (256, 768), "epoch_projection.bias": (256,),
    "inter_epoch_transformer.pos_encoder.pe": (1, 20, 256),
    "inter_epoch_transformer.transformer.layers.0.self_attn.in_proj_weight": (768, 256),
    "inter_epoch_transformer.transformer.layers.0.linear1.weight": (512, 256),
    "inter_epoch_transformer.transformer.layers.0.norm2.bias": (256,),
    "classifier.0.weight": (512, 256), "classifier.0.bias": (512,),
    "classifier.3.weight": (6, 512), "classifier.3.bias": (6,),
}


# ---------------------------------------------------------------------------------------------
# A plain re-statement of the seed's model with torch.nn building blocks, looping over epochs
# and channels in the seed's order of operations. It shares the seed's parameter names, so the
# same state dict loads into both.
# ---------------------------------------------------------------------------------------------
class RefCNN(nn.Module):
    def __init__(self, w1, w2):
        super().__init__()
        self.conv1 = nn.Conv1d(1, w1, 50, stride=6)
        self.bn1 = nn.BatchNorm1d(w1)
        self.conv2 = nn.Conv1d(w1, w2, 8, padding=4)
        self.bn2 = nn.BatchNorm1d(w2)

    def forward(self, x):  # (B, T)
        h = F.max_pool1d(F.gelu(self.bn1(self.conv1(x.unsqueeze(1)))), 8)
        h = F.max_pool1d(F.gelu(self.bn2(self.conv2(h))), 4)
        return h.transpose(1, 2)


class RefPositional(nn.Module):
    def __init__(self, d, max_len):
        super().__init__()
        pe = torch.zeros(max_len, d)
        pos = torch.arange(max_len).unsqueeze(1).float()
        div = torch.exp(torch.arange(0, d, 2).float() * (-math.log(10000.0) / d))
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe.unsqueeze(0))

    def forward(self, x):
        return x + self.pe[:, : x.size(1)]


class RefEncoder(nn.Module):
    def __init__(self, d, max_len, heads, ff, layers):
        super().__init__()
        self.pos_encoder = RefPositional(d, max_len)
        layer = nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, activation="gelu", batch_first=True)
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    def forward(self, x):
        return self.transformer(self.pos_encoder(x))


class RefFusion(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.channel_attention = nn.MultiheadAttention(d, heads, batch_first=True)
        self.norm = nn.LayerNorm(d)

    def forward(self, x):
        out, _ = self.channel_attention(x, x, x)
        return self.norm(out + out)


class SeedReference(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d, (w1, w2) = cfg.d_model, cfg.cnn_channels
        self.channel_cnns = nn.ModuleList(RefCNN(w1, w2) for _ in range(cfg.num_channels))
        self.channel_projections = nn.ModuleList(nn.Linear(w2, d) for _ in range(cfg.num_channels))
        self.temporal_encoders = nn.ModuleList(
            RefEncoder(d, 100, cfg.temporal_heads, cfg.dim_feedforward, cfg.temporal_layers)
            for _ in range(cfg.num_channels))
        self.channel_fusion = RefFusion(d, cfg.channel_heads)
        self.epoch_projection = nn.Linear(cfg.num_channels * d, d)
        self.inter_epoch_transformer = RefEncoder(d, cfg.seq_len, cfg.epoch_heads, cfg.dim_feedforward,
                                                  cfg.epoch_layers)
        self.classifier = nn.Sequential(nn.Linear(d, cfg.classifier_hidden), nn.GELU(), nn.Dropout(0.0),
                                        nn.Linear(cfg.classifier_hidden, cfg.num_classes))

    def forward(self, x):  # (B, S, C, T)
        epoch_vectors = []
        for s in range(x.shape[1]):
            channel_vectors = []
            for c in range(x.shape[2]):
                tokens = self.channel_projections[c](self.channel_cnns[c](x[:, s, c]))
                channel_vectors.append(self.temporal_encoders[c](tokens).mean(dim=1))
            fused = self.channel_fusion(torch.stack(channel_vectors, dim=1))
            epoch_vectors.append(self.epoch_projection(fused.flatten(1)))
        return self.classifier(self.inter_epoch_transformer(torch.stack(epoch_vectors, dim=1)))


def test_state_dict_has_the_seed_keys_and_shapes():
    state = MesaTransformer().state_dict()
    for key, shape in SEED_KEYS.items():
        assert key in state, key
        assert tuple(state[key].shape) == shape, key
    # 3 channels x 14 CNN entries, 2 layers per encoder, nothing else
    reference = SeedReference(ModelConfig()).state_dict()
    assert set(state) == set(reference)
    assert all(state[k].shape == reference[k].shape for k in state)


def test_a_seed_layout_state_dict_loads_strictly_and_predicts_the_same(tiny_config):
    torch.manual_seed(1)
    reference = SeedReference(tiny_config)
    randomise_batchnorm(reference, seed=3)
    model = MesaTransformer(tiny_config)
    model.load_state_dict(reference.state_dict(), strict=True)
    model.eval(), reference.eval()
    x = torch.randn(2, 20, 3, 3840)
    with torch.no_grad():
        expected = reference(x)
        got = model(x).logits
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_logits_are_equal_with_and_without_capture(tiny_model):
    x = torch.randn(2, 20, 3, 3840)
    with torch.no_grad():
        plain = tiny_model(x)
        captured = tiny_model(x, return_attention=True)
    torch.testing.assert_close(plain.logits, captured.logits, atol=1e-5, rtol=1e-5)
    assert plain.attention is None


def test_an_epoch_encoded_alone_and_put_back_gives_the_whole_pass(tiny_model):
    """What the deletion test relies on: epochs are encoded independently of each other."""
    x = torch.randn(2, 20, 3, 3840)
    changed = x.clone()
    changed[:, 7, 1, :600] = 0.0  # delete the start of one channel of epoch 7
    with torch.no_grad():
        vectors = tiny_model.encode_epochs(x).vectors  # (2, 20, d)
        spliced = vectors.clone()
        spliced[:, 7] = tiny_model.encode_epochs(changed[:, 7:8]).vectors[:, 0]
        expected = tiny_model(changed).logits
        got = tiny_model.classify_epochs(spliced)[0]
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(got[:, 7], tiny_model.classify_epochs(vectors)[0][:, 7])  # the change counts


def test_every_attention_row_sums_to_one_and_shapes_are_documented(tiny_model, tiny_config):
    with torch.no_grad():
        maps = tiny_model(torch.randn(2, 20, 3, 3840), return_attention=True).attention
    n = tiny_config.n_tokens
    assert maps.temporal.shape == (2, 20, 3, tiny_config.temporal_layers, tiny_config.temporal_heads, n, n)
    assert maps.channel.shape == (2, 20, tiny_config.channel_heads, 3, 3)
    assert maps.epoch.shape == (2, tiny_config.epoch_layers, tiny_config.epoch_heads, 20, 20)
    for weights in (maps.temporal, maps.channel, maps.epoch):
        torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:-1]))
        assert (weights >= 0).all()
    assert maps.temporal_map(layer=0, head=1).shape == (2, 20, 3, n, n)
    torch.testing.assert_close(maps.epoch_map(), maps.epoch[:, -1].mean(1))
    torch.testing.assert_close(maps.channel_map(head=0), maps.channel[:, :, 0])


def test_captured_weights_equal_each_layers_own_query_key_recomputation(tiny_config):
    """Hook every layer's input in the torch.nn reference and ask nn.MultiheadAttention for its weights."""
    torch.manual_seed(2)
    reference = randomise_batchnorm(SeedReference(tiny_config)).eval()
    model = MesaTransformer(tiny_config).eval()
    model.load_state_dict(reference.state_dict())
    inputs = {}

    def keep(name):
        def hook(_module, args):
            inputs.setdefault(name, []).append(args[0].detach())
        return hook

    for c, enc in enumerate(reference.temporal_encoders):
        for i, layer in enumerate(enc.transformer.layers):
            layer.register_forward_pre_hook(keep(("temporal", c, i)))
    for i, layer in enumerate(reference.inter_epoch_transformer.transformer.layers):
        layer.register_forward_pre_hook(keep(("epoch", i)))
    reference.channel_fusion.channel_attention.register_forward_pre_hook(keep(("channel",)))
    x = torch.randn(1, 20, 3, 3840)
    with torch.no_grad():
        reference(x)
        maps = model(x, return_attention=True).attention

        def recompute(mha, inp):
            return mha(inp, inp, inp, need_weights=True, average_attn_weights=False)[1]

        for c in range(3):
            for i in range(tiny_config.temporal_layers):
                attn = reference.temporal_encoders[c].transformer.layers[i].self_attn
                for s in range(20):  # the reference ran epoch by epoch
                    expected = recompute(attn, inputs[("temporal", c, i)][s])[0]
                    torch.testing.assert_close(maps.temporal[0, s, c, i], expected, atol=1e-5, rtol=1e-4)
        for s in range(20):
            expected = recompute(reference.channel_fusion.channel_attention, inputs[("channel",)][s])[0]
            torch.testing.assert_close(maps.channel[0, s], expected, atol=1e-5, rtol=1e-4)
        for i in range(tiny_config.epoch_layers):
            attn = reference.inter_epoch_transformer.transformer.layers[i].self_attn
            expected = recompute(attn, inputs[("epoch", i)][0])[0]
            torch.testing.assert_close(maps.epoch[0, i], expected, atol=1e-5, rtol=1e-4)


def test_the_seed_output_layout_is_kept(tiny_model):
    with torch.no_grad():
        out = tiny_model(torch.randn(1, 20, 3, 3840), return_attention=True)
    assert out["logits"] is out.logits and "probs" in out
    assert len(out.temporal_attention) == 20 and len(out.temporal_attention[0]) == 3
    assert out.temporal_attention[4][2].shape == (1, 4, 20, 20)
    assert len(out.channel_attention) == 20 and out.channel_attention[0].shape == (1, 2, 3, 3)
    assert out.epoch_attention.shape == (1, 4, 20, 20)
    expected_entropy = -(out.probs * torch.log(out.probs + 1e-8)).sum(-1)
    torch.testing.assert_close(out.uncertainty, expected_entropy)
    assert (out.uncertainty <= math.log(6) + 1e-5).all()


@pytest.mark.parametrize("shape, message", [
    ((20, 3, 3840), "shape"),
    ((1, 20, 4, 3840), "channels"),
    ((1, 20, 3, 3000), "128 Hz"),
    ((1, 21, 3, 3840), "seq_len"),
])
def test_bad_input_shapes_get_a_clear_error(tiny_model, shape, message):
    with pytest.raises(ConfigError, match=message):
        tiny_model(torch.zeros(shape))


def test_nan_input_is_refused(tiny_model):
    x = torch.zeros(1, 20, 3, 3840)
    x[0, 3, 1, 100] = float("nan")
    with pytest.raises(DataError, match="NaN"):
        tiny_model(x)
