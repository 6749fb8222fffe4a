"""The paper-checkpoint loader against a plain re-implementation of fairseq RoBERTa + the GMM head.

The file is synthetic: the real key names, the real vocabulary and position table sizes, but 2 layers of
width 128 (2 heads of 64) so the test stays light. The reference forward below is written independently
of `layout_model.paper_checkpoint`, straight from fairseq's `TransformerEncoderLayer` (post-LN) and
LayoutTransformer's `GMM_head`.
"""
from __future__ import annotations

import math

import pytest
import torch

from layout_model import gmm
from layout_model.paper_checkpoint import CheckpointError, convert_paper_checkpoint, load_paper_net
from support.paper_fixtures import DIM, ENC, FFN, LAYERS, VOCAB, synthetic_state, write_files

pytestmark = pytest.mark.usefixtures("one_thread")

def reference_forward(state: dict[str, torch.Tensor], tokens: list[int], object_positions: list[int]):
    """Unbatched fairseq RoBERTa (post-LN, learned positions from 2) + object marker + GMM head."""
    s = {k[len(ENC):] if k.startswith(ENC) else k: v for k, v in state.items()}
    ids = torch.tensor(tokens)
    positions = torch.arange(2, 2 + len(tokens))
    x = s["embed_tokens.weight"][ids] + s["embed_positions.weight"][positions]
    x = torch.nn.functional.layer_norm(x, (DIM,), s["layernorm_embedding.weight"], s["layernorm_embedding.bias"])
    for pos in object_positions:
        x[pos] = x[pos] + s["object_embedding"][0]
    heads, head_dim = DIM // 64, 64
    for i in range(LAYERS):
        p = f"layers.{i}."

        def lin(name, v):
            return v @ s[p + name + ".weight"].T + s[p + name + ".bias"]

        q = lin("self_attn.q_proj", x) * head_dim ** -0.5
        k, v = lin("self_attn.k_proj", x), lin("self_attn.v_proj", x)
        out = torch.zeros_like(x)
        for h in range(heads):
            sl = slice(h * head_dim, (h + 1) * head_dim)
            weights = torch.softmax(q[:, sl] @ k[:, sl].T, dim=-1)
            out[:, sl] = weights @ v[:, sl]
        x = torch.nn.functional.layer_norm(x + lin("self_attn.out_proj", out), (DIM,),
                                           s[p + "self_attn_layer_norm.weight"], s[p + "self_attn_layer_norm.bias"])
        gelu = 0.5 * lin("fc1", x) * (1 + torch.erf(lin("fc1", x) / math.sqrt(2)))
        x = torch.nn.functional.layer_norm(x + lin("fc2", gelu), (DIM,),
                                           s[p + "final_layer_norm.weight"], s[p + "final_layer_norm.bias"])
    h = x @ s["bbox_head.Decoder.output_Layer.weight"].T + s["bbox_head.Decoder.output_Layer.bias"]
    raw = h @ s["bbox_head.Decoder.box_predictor.xy_bivariate.weight"].T + s["bbox_head.Decoder.box_predictor.xy_bivariate.bias"]
    pi = torch.softmax(raw[:, 0:5], -1)
    best = pi.argmax(-1)
    return torch.stack([raw[torch.arange(len(tokens)), 5 + best], raw[torch.arange(len(tokens)), 10 + best]], -1)


# The silver-bed sentence in RoBERTa ids (layout-notes.md §5); "bed" is piece 3, "couch" piece 12.
SILVER_BED = [0, 133, 4334, 3267, 21, 17949, 7, 5, 235, 9, 5, 1104, 16433, 4, 2]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "checkpoint_90_0.0.pth"
    state = synthetic_state()
    torch.save({"state_dict": state, "n_steps": 90, "log": [{"loss": 0.5}],
                "encoder_optimizer": {"state": {}, "param_groups": [{"lr": 1e-6}]}}, path)
    return path, state


def run_net(net, tokens, objects, pad_to=None):
    ids = tokens + [1] * ((pad_to or len(tokens)) - len(tokens))
    mask = torch.zeros(len(ids), dtype=torch.bool)
    mask[objects] = True
    with torch.no_grad():
        raw, sizes = net(torch.tensor([ids]), mask[None])
    assert sizes is None
    return gmm.most_likely_mean(gmm.split(raw))[0, :len(tokens)]


def test_loader_matches_reference_forward(checkpoint):
    path, state = checkpoint
    net = load_paper_net(path)
    cfg = net.config
    assert (cfg.vocab_size, cfg.dim, cfg.layers, cfg.heads, cfg.ffn, cfg.max_positions) == (VOCAB, DIM, LAYERS, 2, FFN, 512)
    expected = reference_forward(state, SILVER_BED, [3, 12])
    ours = run_net(net, SILVER_BED, [3, 12], pad_to=128)  # the paper pads to 128: padding must not matter
    torch.testing.assert_close(ours, expected, atol=1e-4, rtol=1e-4)
    # The object marker changes the prediction at the marked position.
    assert not torch.allclose(run_net(net, SILVER_BED, []), ours[:, :])


def test_eval_mode_is_deterministic(checkpoint):
    net = load_paper_net(checkpoint[0])
    assert not net.training
    torch.testing.assert_close(run_net(net, SILVER_BED, [3]), run_net(net, SILVER_BED, [3]), atol=0, rtol=0)


def test_safetensors_conversion_round_trips(checkpoint, tmp_path):
    path, state = checkpoint
    converted = convert_paper_checkpoint(path, tmp_path / "paper_layout.safetensors", dtype=torch.float32)
    from safetensors.torch import load_file

    keys = set(load_file(str(converted)))
    assert "bbox_head.Decoder.output_Layer.weight" in keys and ENC + "object_embedding" in keys
    assert not any("lm_head" in k or "wh_bivariate" in k for k in keys)
    torch.testing.assert_close(run_net(load_paper_net(converted), SILVER_BED, [3]),
                               run_net(load_paper_net(path), SILVER_BED, [3]))


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_paper_net(tmp_path / "nope.pth")


def test_corrupt_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"this is not a checkpoint" * 10)
    with pytest.raises(CheckpointError, match="cannot read"):
        load_paper_net(bad)


def test_file_needing_arbitrary_unpickling_is_refused(tmp_path):
    evil = tmp_path / "evil.pth"
    torch.save({"state_dict": {}, "cfg": Exception("arbitrary object")}, evil)
    with pytest.raises(CheckpointError, match="cannot read"):
        load_paper_net(evil)


def test_wrong_shapes_are_reported(checkpoint, tmp_path):
    state = dict(checkpoint[1])
    state["bbox_head.Decoder.box_predictor.xy_bivariate.weight"] = torch.zeros(20, DIM)
    del state["bbox_head.Decoder.output_Layer.bias"]
    path = tmp_path / "wrong.pth"
    torch.save({"state_dict": state}, path)
    with pytest.raises(CheckpointError, match="1 missing and 1 misshapen"):
        load_paper_net(path)


# --- the predictor: rule-parser objects, network centres -----------------------------------------------------

@pytest.fixture(scope="module")
def predictor_folder(checkpoint, tmp_path_factory):
    import shutil

    folder = write_files(tmp_path_factory.mktemp("paper"))
    shutil.copy(checkpoint[0], folder / "checkpoint_90_0.0.pth")
    return folder


def test_predictor_places_rule_objects_at_network_centres(predictor_folder, checkpoint):
    from layout_model.bpe import ByteLevelBPE
    from layout_model.paper_checkpoint import load_paper_predictor

    text = "A red cat to the left of a blue dog."
    predictor = load_paper_predictor(predictor_folder / "checkpoint_90_0.0.pth")
    layout = predictor.predict(text)
    assert layout.predictor == "paper" and [o.noun for o in layout.objects] == ["cat", "dog"]
    assert layout.relations == [(0, "left of", 1)]
    pieces = ByteLevelBPE.from_folder(predictor_folder).pieces(text)
    ids = [0, *(p.id for p in pieces), 2]
    # The tiny vocabulary splits " cat" into several pieces: all are marked, the first is read (the paper's rule).
    marked = [[1 + k for k, p in enumerate(pieces) if p.start < text.index(w) + len(w) and p.end > text.index(w)]
              for w in ("cat", "dog")]
    assert all(len(m) > 1 for m in marked)
    firsts = [m[0] for m in marked]
    expected = reference_forward(checkpoint[1], ids, marked[0] + marked[1])[firsts].clamp(0, 1)
    def square(c):  # the paper's ±0.2 square, slid back inside the canvas
        return min(max(c - 0.2, 0.0), 0.6), min(max(c - 0.2, 0.0), 0.6) + 0.4

    for obj, (x, y) in zip(layout.objects, expected.tolist()):
        x0, x1 = square(x)
        y0, y1 = square(y)
        assert obj.box == pytest.approx([x0, y0, x1, y1], abs=1e-5)
    assert predictor.predict(text).to_dict() == layout.to_dict()  # deterministic


def test_predictor_box_modes_and_seeded_sampling(predictor_folder):
    from layout_model import predict
    from layout_model.paper_checkpoint import load_paper_predictor

    text = "two dogs above a bench"
    prior = load_paper_predictor(predictor_folder / "checkpoint_90_0.0.pth", boxes="prior").predict(text, seed=3)
    rules = predict(text, seed=3)
    for ours, theirs in zip(prior.objects, rules.objects):
        assert ours.box[2] - ours.box[0] == pytest.approx(theirs.box[2] - theirs.box[0], abs=1e-6)
    sampler = load_paper_predictor(predictor_folder / "checkpoint_90_0.0.pth", sample=True)
    first = sampler.predict(text, seed=5)
    assert sampler.predict(text, seed=5).to_dict() == first.to_dict()
    boxes = [o.box for o in first.objects]
    assert any([o.box for o in sampler.predict(text, seed=s).objects] != boxes for s in (6, 7, 8)), \
        "the seed does not reach the mixture sampling"


def test_predictor_needs_the_vocabulary(checkpoint, tmp_path):
    from layout_model.bpe import TokenizerFilesError
    from layout_model.paper_checkpoint import load_paper_predictor

    with pytest.raises(TokenizerFilesError, match="vocab.json is missing"):
        load_paper_predictor(checkpoint[0], vocab_dir=tmp_path)
