"""The two one-shot LM pruning exercises (ch8.wanda_mask, ch8.obs_update): pass, fail, hints."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnprune.exercises import stub_source
from nnprune.exercises.authoring import make_stub
from nnprune.exercises.registry import get
from nnprune.exercises.worker import run_checks

REPO = Path(__file__).resolve().parents[1]
IDS = ["ch8.wanda_mask", "ch8.obs_update"]


def _solution(exercise_id: str) -> str:
    return (REPO / "exercises" / "solutions" / get(exercise_id).filename).read_text("utf-8")


def _run(tmp_path: Path, exercise_id: str, text: str):
    path = tmp_path / get(exercise_id).filename
    path.write_text(text, encoding="utf-8")
    return run_checks(get(exercise_id), str(path))


@pytest.mark.parametrize("exercise_id", IDS)
def test_solution_passes_and_stub_fails(exercise_id, tmp_path):
    results = _run(tmp_path, exercise_id, _solution(exercise_id))
    assert len(results) == 3 and all(r.passed for r in results), [r.message for r in results]
    stub = make_stub(_solution(exercise_id))
    assert stub == stub_source(exercise_id)
    assert stub == (REPO / "exercises" / get(exercise_id).filename).read_text("utf-8")
    failed = [r for r in _run(tmp_path, exercise_id, stub) if not r.passed]
    assert len(failed) == 2 and all("NotImplementedError" in r.message for r in failed)


ROW_ORDER = 'order = np.argsort(scores, axis=1, kind="stable")'
LAYER_ORDER = 'order = np.argsort(scores, axis=None, kind="stable")'
ROW_MARK = "np.put_along_axis(keep, order[:, :k], False, axis=1)\n    return keep"
LAYER_MARK = "keep.flat[order[: k * W.shape[0]]] = False\n    return keep"
WRONG = [
    ("ch8.wanda_mask", "np.sqrt((X * X).sum(axis=0))", "(X * X).sum(axis=0)", "not its square"),
    ("ch8.wanda_mask", "np.sqrt((X * X).sum(axis=0))[None, :]", "1.0", "multiply |W|"),
    ("ch8.wanda_mask", "np.abs(W) * np.sqrt", "W * np.sqrt", "score |W|, not W"),
    ("ch8.wanda_mask", (ROW_ORDER, ROW_MARK), (LAYER_ORDER, LAYER_MARK), "within each OUTPUT ROW"),
    ("ch8.wanda_mask", "k = int(sparsity * W.shape[1])", "k = round(sparsity * W.shape[1])",
     "k = floor"),
    ("ch8.obs_update", "new_w = w - (w[q] / d)", "new_w = w + (w[q] / d)", "check the sign"),
    ("ch8.obs_update", "(w[q] / d) * H_inv", "(w[q] / d**2) * H_inv", "not squared"),
    ("ch8.obs_update", "(2.0 * d)", "d", "the factor 1/2"),
    ("ch8.obs_update", "return H_inv - np.outer", "return H_inv + np.outer", "subtract the outer"),
]  # fmt: skip


@pytest.mark.parametrize("exercise_id, old, new, hint", WRONG, ids=[w[3] for w in WRONG])
def test_a_typical_mistake_is_rejected_with_its_hint(exercise_id, old, new, hint, tmp_path):
    text = _solution(exercise_id)
    pairs = zip(old, new, strict=True) if isinstance(old, tuple) else [(old, new)]
    for a, b in pairs:
        assert a in text, f"the solution of {exercise_id} no longer contains {a!r}"
        text = text.replace(a, b)
    failed = [r for r in _run(tmp_path, exercise_id, text) if not r.passed]
    assert failed, f"{exercise_id}: the wrong answer passed"
    assert any(hint in (r.hint or "") for r in failed), [(r.message, r.hint) for r in failed]
