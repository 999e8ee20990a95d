"""§7 parameter counts from architecture descriptions, against hand formulas and torch modules."""

import pytest

from nnprune.metrics.architectures import (
    LayerSpec,
    bert_spec,
    book_section7_check,
    count_parameters,
    parameter_counts,
    resnet50_spec,
    vgg16_spec,
)


def test_vgg16_by_hand():
    convs = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256)]
    convs += [(256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]
    hand = sum(9 * a * b + b for a, b in convs)
    hand += 25088 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000
    assert count_parameters(vgg16_spec()) == hand == 138_357_544


def test_resnet50_by_hand():
    def bottleneck(cin, w, proj):
        n = cin * w + 2 * w + 9 * w * w + 2 * w + w * 4 * w + 2 * 4 * w
        return n + (cin * 4 * w + 2 * 4 * w if proj else 0)

    hand = 3 * 64 * 49 + 2 * 64
    cin = 64
    for w, blocks in zip((64, 128, 256, 512), (3, 4, 6, 3), strict=True):
        for i in range(blocks):
            hand += bottleneck(cin, w, i == 0)
            cin = 4 * w
    hand += 2048 * 1000 + 1000
    assert count_parameters(resnet50_spec()) == hand == 25_557_032


def test_bert_by_hand():
    h, f, v = 768, 3072, 30522
    emb = (v + 512 + 2) * h + 2 * h
    layer = 4 * (h * h + h) + 2 * h + (h * f + f) + (f * h + h) + 2 * h
    pooler = h * h + h
    assert count_parameters(bert_spec("base")) == emb + 12 * layer + pooler == 109_482_240
    assert count_parameters(bert_spec("base", pooler=False)) == emb + 12 * layer
    assert parameter_counts()["BERT-large"] == 335_141_888


def test_counts_match_torch_modules_on_the_meta_device():
    torch = pytest.importorskip("torch")
    tnn = torch.nn

    def torch_count(spec):
        mods = []
        for s in spec:
            if s.kind == "conv2d":
                mods.append(tnn.Conv2d(s.shape[0], s.shape[1], s.shape[2], bias=s.bias))
            elif s.kind == "linear":
                mods.append(tnn.Linear(*s.shape, bias=s.bias))
            elif s.kind == "batchnorm":
                mods.append(tnn.BatchNorm2d(s.shape[0]))
            elif s.kind == "layernorm":
                mods.append(tnn.LayerNorm(s.shape[0]))
            else:
                mods.append(tnn.Embedding(*s.shape))
        return sum(p.numel() for p in tnn.ModuleList(mods).parameters())

    with torch.device("meta"):  # shapes only, no memory
        for spec in (vgg16_spec(), resnet50_spec(), bert_spec("base")):
            assert torch_count(spec) == count_parameters(spec)
        # BERT-base as torch's own TransformerEncoder (its layer = attention + 2 LN + FFN)
        layer = tnn.TransformerEncoderLayer(768, 12, 3072)
        enc = tnn.TransformerEncoder(layer, 12, enable_nested_tensor=False)
        emb = [tnn.Embedding(30522, 768), tnn.Embedding(512, 768), tnn.Embedding(2, 768)]
        extra = tnn.ModuleList([*emb, tnn.LayerNorm(768), tnn.Linear(768, 768)])
        total = sum(p.numel() for m in (enc, extra) for p in m.parameters())
    assert total == count_parameters(bert_spec("base"))


def test_book_section7_is_inconsistent_with_itself():
    rows = {r["section"]: r for r in book_section7_check()}
    assert rows["7.1"]["param_reduction_pct"] == pytest.approx(100 * (1 - 20 / 138))
    assert rows["7.2"]["param_reduction_pct"] == pytest.approx(100 * (1 - 50 / 300))
    assert rows["7.3"]["param_reduction_pct"] == pytest.approx(80.0)
    assert not any(r["consistent"] for r in rows.values())
    # the model the book calls ResNet-50 with 138M parameters: ResNet-50 has 25.6M
    assert rows["7.1"]["named_model_params"] == 25_557_032
    assert rows["7.3"]["named_model_params"] is None


def test_bad_specs_are_refused():
    with pytest.raises(ValueError, match="kind must be one of"):
        LayerSpec("pool", (1,))
    with pytest.raises(ValueError, match="shape of a linear layer must have 2 ints"):
        LayerSpec("linear", (3,))
    with pytest.raises(ValueError, match="size must be one of"):
        bert_spec("huge")
