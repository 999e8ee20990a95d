"""Chapters 2 and 3 (ch03 and ch03b) and the structured-pruning benchmark, in --quick mode.

The numbers the scripts print are checked against independent computations
from the returned models (NumPy on the weights), not against the scripts' own
formulas. Also the latency helpers they use (nnprune.metrics.latency).
"""

import numpy as np
import pytest

from nnprune import nn
from nnprune.data import digits_splits
from nnprune.metrics.latency import compare_latency, measure_latency

MLP_WEIGHTS = {"0": 64 * 300, "2": 300 * 100, "4": 100 * 10}


def weights(model) -> dict[str, np.ndarray]:
    return {n: m.weight.data for n, m in model.named_modules() if isinstance(m, nn.Linear)}


def mlp_params(h1: int, h2: int, d_in: int = 64, d_out: int = 10) -> int:
    return d_in * h1 + h1 + h1 * h2 + h2 + h2 * d_out + d_out


@pytest.mark.slow
def test_ch02_quick_measures_match_the_weights(run_lesson, lesson_out):
    env, _ = run_lesson("ch02_sparsity")
    for name in ("weight_histograms", "sparse_masks", "tiny_layer_graph"):
        assert (lesson_out / f"ch02_{name}.png").stat().st_size > 1000
    model, pruned = env["model"], env["pruned"]
    w = weights(model)
    total = sum(MLP_WEIGHTS.values())
    zeros = sum(int(np.sum(a == 0)) for a in w.values())
    assert abs(zeros - env["SPARSITY"] * total) <= 1, (zeros, env["SPARSITY"] * total)
    assert pruned["model_sparsity"] == pytest.approx(zeros / total)
    # the kept weights are exactly the largest magnitudes: the gap of the histograms
    kept = np.concatenate([np.abs(a[a != 0]) for a in w.values()])
    assert kept.min() == pytest.approx(env["threshold"])
    # connection sparsity: all-zero rows and columns, counted by NumPy
    for name, a in w.items():
        conn = pruned["connections"][name]
        assert conn["zero_outputs"] == int(np.sum(~a.any(axis=1)))
        assert conn["zero_inputs"] == int(np.sum(~a.any(axis=0)))
    # activation sparsity of the first ReLU, computed by hand on the same test set
    X = digits_splits(0).test[0]
    relu = np.maximum(X @ model[0].weight.data.T + model[0].bias.data, 0)
    assert pruned["activations"]["1"] == pytest.approx(np.mean(relu == 0))
    # CSR bytes: float32 values + int32 column indices + int32 row pointers; biases dense
    csr = sum(8 * np.count_nonzero(a) + 4 * (a.shape[0] + 1) for a in w.values())
    csr += sum(4 * m.bias.size for m in model.modules() if isinstance(m, nn.Linear))
    by_format = {r["format"]: r["bytes"] for r in env["bytes_rows"]}
    assert by_format["csr"] == csr
    assert by_format["dense"] == 4 * mlp_params(300, 100)
    assert [r["batch"] for r in env["timing"]] == [1, 256]
    assert all(r["dense us"] > 0 and r["csr us"] > 0 for r in env["timing"])
    assert env["acc_dense"] > 0.8  # chance is 10%


@pytest.mark.slow
def test_ch03_sections_3_1_and_3_2_match_the_models(run_lesson, lesson_out):
    env, out = run_lesson("ch03_pruning_methods")
    assert (lesson_out / "ch03_criteria.png").stat().st_size > 1000
    # §3.1: non-zeros counted from the architectures, not from the lesson's models
    nonzero = {r["pruned"]: r["non-zeros"] for r in env["rows"]}
    assert list(nonzero.values()) == [
        mlp_params(300, 100),
        mlp_params(300, 100) - 64 * 300 // 2,  # half of layer 0's weights masked
        mlp_params(150, 100),  # half of layer 0's neurons removed
        64 * 300 + 300 + 300 * 10 + 10,  # layer 2 merged into the output layer
    ]
    ctrl = env["rows"][0]["acc retrained"]
    assert all(r["vs control"] == pytest.approx(100 * (r["acc retrained"] - ctrl))
               for r in env["rows"])  # fmt: skip
    # §3.2: the criteria's masks, from the dense weights by NumPy
    dense = weights(env["model"])
    tau, s = env["TAU"], env["S"]
    all_w = np.concatenate([np.abs(a).ravel() for a in dense.values()])
    assert s == pytest.approx(np.mean(all_w < tau))
    k = round(s * all_w.size)
    by_size = np.sort(all_w)
    for n, a in dense.items():
        kept = {name: m[int(n)].weight.mask for name, m in
                (("t", env["thresholded"]), ("s", env["smallest"]), ("l", env["largest"]))}
        np.testing.assert_array_equal(kept["t"], np.abs(a) >= tau)
        np.testing.assert_array_equal(kept["s"], np.abs(a) >= tau)  # the same mask
        np.testing.assert_array_equal(kept["l"], np.abs(a) <= by_size[-k - 1])  # largest go
    assert env["same"] is True
    adaptive = weights(env["adaptive"])
    zeros = sum(int(np.sum(a == 0)) for a in adaptive.values())
    assert abs(zeros - k) <= 1  # the cubic schedule ends at the threshold's sparsity
    assert [r["sparsity"] for r in env["crit"]][1:] == pytest.approx([s] * 4, abs=1e-3)
    claim = env["claim"]
    assert claim["acc_prune_important"] < claim["acc_prune_unimportant"] - 0.3
    assert "The §3.2 claim on a softmax regression, 50% of W zeroed" in out


@pytest.mark.slow
def test_ch03b_quick_rows_match_the_models(run_lesson, lesson_out):
    env, out = run_lesson("ch03b_comparison")
    assert set(env["results"]) == {"mlp"}  # the CNN runs in the full lesson only
    study = env["study"]
    mlp = env["results"]["mlp"]
    assert (lesson_out / "ch03_mlp_accuracy_vs_sparsity.png").stat().st_size > 1000
    assert (lesson_out / "ch03_mlp_table.csv").is_file()
    rows, models = mlp["rows"], mlp["models"]
    assert len(rows) == len(models) == 2 + sum(len(v) for v in env["POINTS"].values())
    dense_w = weights(models["dense"])
    all_dense = np.concatenate([np.abs(a).ravel() for a in dense_w.values()])
    total = all_dense.size
    for row, (key, model) in zip(rows, models.items(), strict=True):
        params = [p.data for p in model.parameters()]
        assert row["nonzeros"] == sum(int(np.count_nonzero(p)) for p in params), key
        assert row["params"] == sum(p.size for p in params), key
        masks = {n: a != 0 for n, a in weights(model).items()}
        if row["method"] == "global magnitude":
            k = round(row["value"] * total)
            assert abs(sum(int(np.sum(~m)) for m in masks.values()) - row["value"] * total) <= 1
            cut = np.sort(all_dense)[k]  # the smallest magnitude kept
            for n, m in masks.items():
                np.testing.assert_array_equal(m, np.abs(dense_w[n]) >= cut, err_msg=key)
        elif row["method"] == "layer-wise magnitude":
            for n, m in masks.items():
                assert int(np.sum(~m)) == round(row["value"] * MLP_WEIGHTS[n]), (key, n)
        elif row["method"] == "Han q*std":
            for n, m in masks.items():
                expected = np.abs(dense_w[n]) >= row["value"] * np.std(dense_w[n].astype(float))
                np.testing.assert_array_equal(m, expected, err_msg=f"{key} layer {n}")
        elif row["method"] == study.STRUCTURED:
            h1 = 300 - round(row["value"] * 300)
            h2 = 100 - round(row["value"] * 100)
            assert model.num_parameters() == row["params"] == mlp_params(h1, h2)
            assert row["params"] < rows[0]["params"]
            assert model[0].weight.shape == (h1, 64) and model[2].weight.shape == (h2, h1)
        else:
            assert row["method"] in ("dense", study.CONTROL)
            assert row["nonzeros"] == row["params"] == mlp_params(300, 100)
        # differences of percentages are printed in points, against the dense row
        expected = 100 * (row["acc retrained"] - rows[0]["acc retrained"])
        assert row["vs dense"] == pytest.approx(expected)
    assert all(r["ms dense"] > 0 for r in rows)
    assert all(("x csr" in r) == (r["method"] != study.STRUCTURED) for r in rows)
    assert "accuracy on the test split" in out and " pts" in out


def test_ch03_study_refuses_an_unknown_method():
    from nnprune.experiments.method_study import prune_model
    from nnprune.models import mlp

    with pytest.raises(ValueError, match="method must be one of the study's methods, got 'x'"):
        prune_model(mlp((4, 3, 2), seed=0), "x", 0.5, (4,))


@pytest.mark.slow
def test_bench_structured_quick_flop_ratio_and_params(load_script):
    bench = load_script("benchmarks", "bench_structured")
    rows = bench.main(["--quick", "--repeats", "1"])
    mlp = [r for r in rows if r["network"].startswith("MLP")]
    assert [r["batch"] for r in mlp] == [1, 256]
    for r in mlp:
        h1, h2 = 300 - round(r["removed"] * 300), 100 - round(r["removed"] * 100)
        assert r["params"] == mlp_params(h1, h2, d_in=784)
        dense_macs = 784 * 300 + 300 * 100 + 100 * 10
        assert r["FLOPs x"] == pytest.approx(dense_macs / (784 * h1 + h1 * h2 + h2 * 10))
    cnn = next(r for r in rows if r["network"].startswith("CNN"))
    c1, c2 = 16 - round(cnn["removed"] * 16), 32 - round(cnn["removed"] * 32)
    # conv 3x3 padding 1: 28*28 positions, then 14*14; the classifier reads c2*7*7 inputs
    macs = lambda a, b: 28 * 28 * a * 9 + 14 * 14 * b * a * 9 + b * 7 * 7 * 10  # noqa: E731
    assert cnn["FLOPs x"] == pytest.approx(macs(16, 32) / macs(c1, c2))


class Counter(nn.Module):
    """Records every forward call by name."""

    def __init__(self, name: str, calls: list) -> None:
        super().__init__()
        self.name, self.calls = name, calls

    def forward(self, x):
        self.calls.append(self.name)
        return x


def test_compare_latency_interleaves_rounds_and_restores_modes():
    calls: list[str] = []
    a, b = Counter("a", calls), Counter("b", calls)
    b.eval()
    t = compare_latency({"a": a, "b": b}, np.zeros(3), repeats=4, rounds=2, warmup=1)
    assert calls == ["a"] * 3 + ["b"] * 3 + ["a"] * 3 + ["b"] * 3  # (1 warm-up + 2 timed) x 2
    assert set(t) == {"a", "b"} and all(v >= 0 for v in t.values())
    assert a.training and not b.training


def test_measure_latency_runs_in_eval_mode_and_restores_it():
    calls: list[str] = []
    model = Counter("m", calls)
    seen = []
    model.forward = lambda x: seen.append(model.training)
    assert measure_latency(model, np.zeros(2), repeats=3, warmup=2) >= 0
    assert seen == [False] * 5 and model.training


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"repeats": 0}, "repeats must be a positive integer, got 0"),
        ({"warmup": -1}, "warmup must be a non-negative integer, got -1"),
    ],
)
def test_measure_latency_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        measure_latency(nn.ReLU(), np.zeros(2), **kwargs)


def test_compare_latency_errors():
    with pytest.raises(ValueError, match="models must hold at least one model, got none"):
        compare_latency({}, np.zeros(2))
    with pytest.raises(ValueError, match="rounds must be a positive integer, got 0"):
        compare_latency({"r": nn.ReLU()}, np.zeros(2), rounds=0)
