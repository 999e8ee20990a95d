"""Pruning schedules follow TF-MOT's semantics and Zhu & Gupta's cubic formula."""

import pytest

from nnprune.pipeline import ConstantSparsity, PolynomialDecay, iterative_sparsities


def test_constant_sparsity_prunes_on_frequency_inside_range():
    sched = ConstantSparsity(0.8, begin_step=10, end_step=50, frequency=20)
    calls = {step: sched(step) for step in range(0, 80)}
    pruned_at = [s for s, (should, _) in calls.items() if should]
    assert pruned_at == [10, 30, 50]
    assert all(sp == 0.8 for _, sp in calls.values())


def test_constant_sparsity_without_end_keeps_pruning():
    sched = ConstantSparsity(0.5, begin_step=0, frequency=7)
    assert [s for s in range(100) if sched(s)[0]] == list(range(0, 100, 7))


def test_polynomial_decay_matches_cubic_formula():
    s_i, s_f, t0, t1 = 0.1, 0.9, 100, 1100
    sched = PolynomialDecay(s_i, s_f, begin_step=t0, end_step=t1, frequency=100)
    for step in [0, 100, 350, 600, 1099, 1100, 5000]:
        p = min(1.0, max(0.0, (step - t0) / (t1 - t0)))
        expected = s_f + (s_i - s_f) * (1 - p) ** 3
        assert sched(step)[1] == pytest.approx(expected, abs=1e-15)
    assert sched(t0)[1] == pytest.approx(s_i)
    assert sched(t1)[1] == pytest.approx(s_f)
    assert [s for s in range(0, 3000) if sched(s)[0]] == list(range(100, 1101, 100))


def test_polynomial_decay_is_monotone_and_front_loaded():
    sched = PolynomialDecay(0.0, 0.9, begin_step=0, end_step=1000, frequency=1)
    values = [sched(s)[1] for s in range(0, 1001, 100)]
    assert all(b >= a for a, b in zip(values, values[1:], strict=False))
    # cubic: more than half of the final sparsity is reached in the first quarter
    assert sched(250)[1] > 0.5 * 0.9


def test_iterative_sparsities_prune_equal_fraction_of_survivors():
    levels = iterative_sparsities(0.9, 5)
    assert levels[-1] == pytest.approx(0.9)
    density = [1 - s for s in [0.0, *levels]]
    ratios = [b / a for a, b in zip(density, density[1:], strict=False)]
    assert ratios == pytest.approx([0.1 ** (1 / 5)] * 5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"target_sparsity": 1.0}, r"target_sparsity must be in \[0, 1\), got 1.0"),
        ({"target_sparsity": -0.1}, r"target_sparsity must be in \[0, 1\)"),
        ({"target_sparsity": 0.5, "frequency": 0}, "frequency must be an integer >= 1, got 0"),
        ({"target_sparsity": 0.5, "begin_step": 10, "end_step": 5}, "end_step must be -1 or >="),
    ],
)
def test_constant_sparsity_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ConstantSparsity(**kwargs)


def test_polynomial_decay_errors():
    with pytest.raises(ValueError, match="end_step must be > begin_step"):
        PolynomialDecay(0.0, 0.5, begin_step=10, end_step=10)
    with pytest.raises(ValueError, match=r"final_sparsity must be in \[0, 1\), got 1.5"):
        PolynomialDecay(0.0, 1.5, begin_step=0, end_step=10)
    with pytest.raises(ValueError, match="power must be a positive number"):
        PolynomialDecay(0.0, 0.5, begin_step=0, end_step=10, power=0)
    with pytest.raises(ValueError, match="step must be an integer >= 0, got -1"):
        PolynomialDecay(0.0, 0.5, begin_step=0, end_step=10)(-1)
    with pytest.raises(ValueError, match="rounds must be an integer >= 1, got 0"):
        iterative_sparsities(0.5, 0)
