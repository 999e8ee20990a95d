r"""The tiny problems the book's pseudocode runs on, and the helpers the book leaves undefined.

* :func:`softmax_problem`: softmax regression on scikit-learn's 8x8 digits (64 standardised
  pixels, 10 classes, no bias: the book's ``output = np.dot(x, W)``). ``W`` has shape
  ``(64, 10)``. :func:`train_dense` gives the trained starting point.
* :func:`regression_problem`: scikit-learn's diabetes data (442 patients, 10 standardised
  features, centred target), the ``A``, ``b`` and ``x`` of the book's ½‖Ax − b‖² + λ‖x‖₁.

The book calls ``compute_loss(y, output)`` and ``compute_gradients(loss, W)`` without
defining them; :func:`book_helpers` defines them as little as possible for a softmax
cross-entropy loss: ``compute_loss`` returns the loss and its gradient with respect to
``output``; ``compute_gradients`` chains it through ``output = x @ W`` for the ``x`` it is
bound to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np


class Problem(NamedTuple):
    """A classification problem: training and test arrays (float64 features, int labels)."""

    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


class Regression(NamedTuple):
    """A linear regression problem ``A x ≈ b`` (the book's symbols)."""

    A: np.ndarray
    b: np.ndarray


class Loss(NamedTuple):
    """What the stub ``compute_loss`` returns: the value and d loss / d output."""

    value: float
    doutput: np.ndarray


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum for stability."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_problem(seed: int = 0, limit: int = 0) -> Problem:
    """Softmax regression data: the 8x8 digits, standardised with training statistics.

    ``limit`` > 0 keeps that many training images (a faster run); the test split is kept.
    """
    from ..data import digits_splits

    splits = digits_splits(seed)
    (x, y), (xt, yt) = splits.train, splits.test
    if limit > 0:
        x, y = x[:limit], y[:limit]
    return Problem(x.astype(np.float64), y, xt.astype(np.float64), yt)


def regression_problem() -> Regression:
    """scikit-learn's diabetes data: columns of ``A`` standardised, ``b`` centred."""
    from sklearn.datasets import load_diabetes

    A, b = load_diabetes(return_X_y=True)
    A = (A - A.mean(axis=0)) / A.std(axis=0)
    return Regression(A, b - b.mean())


def cross_entropy(x: np.ndarray, y: np.ndarray, W: np.ndarray) -> float:
    """Mean softmax cross-entropy of ``x @ W`` against labels ``y``."""
    p = softmax(x @ W)
    return float(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-300)))


def gradient(x: np.ndarray, y: np.ndarray, W: np.ndarray) -> np.ndarray:
    """d mean cross-entropy / dW at ``W`` (shape of ``W``)."""
    p = softmax(x @ W)
    p[np.arange(len(y)), y] -= 1.0
    return x.T @ p / len(y)


def accuracy(x: np.ndarray, y: np.ndarray, W: np.ndarray) -> float:
    """Fraction of ``argmax(x @ W) == y``."""
    return float(np.mean(np.argmax(x @ W, axis=1) == y))


def train_dense(problem: Problem, steps: int = 2000, learning_rate: float = 0.5) -> np.ndarray:
    """Full-batch gradient descent from zeros: the dense ``W`` every block starts from."""
    W = np.zeros((problem.x.shape[1], int(problem.y.max()) + 1))
    for _ in range(steps):
        W -= learning_rate * gradient(problem.x, problem.y, W)
    return W


def book_helpers(x: np.ndarray) -> dict[str, Any]:
    """``compute_loss`` and ``compute_gradients``, the two helpers the book never defines.

    ``compute_gradients(loss, W)`` returns ``x.T @ loss.doutput``: the gradient at the ``W``
    that produced ``output``, whatever ``W`` it is handed (the book passes no ``x``).
    """

    def compute_loss(y: np.ndarray, output: np.ndarray) -> Loss:
        p = softmax(output)
        value = float(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-300)))
        p[np.arange(len(y)), y] -= 1.0
        return Loss(value, p / len(y))

    def compute_gradients(loss: Loss, W: np.ndarray) -> np.ndarray:
        return x.T @ loss.doutput

    return {"compute_loss": compute_loss, "compute_gradients": compute_gradients}


@dataclass
class LoopResult:
    r"""What a run of the §5.3 / appendix B loop really did.

    Attributes
    ----------
    W : ndarray
        The ``W`` the loop returns (what it would evaluate and save).
    threshold : float
        The absolute pruning threshold.
    exact_zero_fraction : float
        Fraction of ``W`` that is exactly 0.
    below_threshold_fraction : float
        Fraction with ``|w| <= threshold`` (what the threshold means to prune).
    max_below : float
        The largest ``|w|`` among the entries at or below the threshold.
    acc_dense, acc_returned, acc_thresholded : float
        Test accuracy of the dense start, of ``W`` as returned, and after one more
        ``pruning_decision`` pass on it.
    history : list of float
        Test accuracies that ``evaluate_model_performance`` printed (B.2), else empty.
    error : str
        The book's own failure, caught and reported (``""`` if the code ran as printed).
    """

    W: np.ndarray
    threshold: float
    exact_zero_fraction: float
    below_threshold_fraction: float
    max_below: float
    acc_dense: float
    acc_returned: float
    acc_thresholded: float
    history: list
    error: str = ""

    def line(self) -> str:
        """One sentence with the numbers."""
        return (
            f"{self.exact_zero_fraction:.1%} of W exactly 0, {self.below_threshold_fraction:.1%} "
            f"at or below the threshold {self.threshold:.3g} (largest such |w| "
            f"{self.max_below:.3g}); test accuracy {self.acc_returned:.3f} as returned, "
            f"{self.acc_thresholded:.3f} after a final threshold (dense {self.acc_dense:.3f})"
        )


def loop_result(
    problem: Problem, W: np.ndarray, W0: np.ndarray, threshold: float, history=(), error=""
) -> LoopResult:
    """Measure a returned ``W`` against its threshold (see :class:`LoopResult`)."""
    below = np.abs(W) <= threshold
    pruned = np.where(np.abs(W) > threshold, W, 0.0)
    return LoopResult(
        W=W,
        threshold=float(threshold),
        exact_zero_fraction=float(np.mean(W == 0)),
        below_threshold_fraction=float(np.mean(below)),
        max_below=float(np.abs(W[below]).max()) if below.any() else 0.0,
        acc_dense=accuracy(problem.x_test, problem.y_test, W0),
        acc_returned=accuracy(problem.x_test, problem.y_test, W),
        acc_thresholded=accuracy(problem.x_test, problem.y_test, pruned),
        history=list(history),
        error=error,
    )


class UndefinedInBook(ValueError):
    """A step of the book's pseudocode that has no value (the message says why, in a sentence)."""


def soft_threshold(v: np.ndarray, t: float) -> np.ndarray:
    """sign(v)·max(|v| − t, 0): the proximal step of t·‖·‖₁."""
    return np.sign(v) * np.maximum(np.abs(v) - t, 0.0)


def run_verbatim(text: str, namespace: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Execute the book's code ``text`` (a constant of this package) in ``namespace``.

    Returns the namespace and ``""``, or the namespace and ``"NameError: ..."`` when the
    book's code uses a name it never defines.
    """
    ns = {"np": np, **namespace}
    try:
        # `text` is one of this package's constants, never user input
        exec(compile(text, "<the book's pseudocode>", "exec"), ns)
    except NameError as err:
        return ns, f"{type(err).__name__}: {err}"
    return ns, ""


@dataclass
class Setup:
    """The ``initialize_*`` calls and undefined helpers of the §5.3 / appendix B loop.

    ``initialize_weights`` returns a copy of the trained dense ``W``; the threshold is
    absolute (the ``quantile`` of the dense ``|W|``); ``evaluate_model_performance`` (B.2)
    appends the test accuracy of the ``W`` it is given to ``history``.
    """

    problem: Problem
    W0: np.ndarray
    threshold: float
    learning_rate: float
    num_iterations: int
    l1_lambda: float = 0.0
    history: list | None = None

    def initialize_weights(self) -> np.ndarray:
        return self.W0.copy()

    def initialize_threshold(self) -> float:
        return self.threshold

    def initialize_learning_rate(self) -> float:
        return self.learning_rate

    def initialize_iterations(self) -> int:
        return self.num_iterations

    def initialize_l1_lambda(self) -> float:
        return self.l1_lambda

    def evaluate_model_performance(self, W: np.ndarray) -> float:
        acc = accuracy(self.problem.x_test, self.problem.y_test, W)
        if self.history is not None:
            self.history.append(acc)
        return acc

    def namespace(self) -> dict[str, Any]:
        """Every name the book's code expects to exist, for :func:`run_verbatim`."""
        names = "weights threshold learning_rate iterations".split()
        ns = {f"initialize_{n}": getattr(self, f"initialize_{n}") for n in names}
        ns["evaluate_model_performance"] = self.evaluate_model_performance
        ns |= book_helpers(self.problem.x)
        return ns | {"x": self.problem.x, "y": self.problem.y}


_CACHE: dict = {}


def loop_setup(
    quick: bool = True,
    seed: int = 0,
    steps: int | None = None,
    quantile: float = 0.8,
    learning_rate: float = 0.5,
    l1_lambda: float = 0.0,
) -> Setup:
    """The setting the issue measured: threshold = ``quantile`` of the trained ``|W|``.

    ``quick``: 300 training images and 200 steps; else all 1077 and 2000 steps.
    """
    key = (quick, seed)
    if key not in _CACHE:
        problem = softmax_problem(seed, limit=300 if quick else 0)
        _CACHE[key] = (problem, train_dense(problem, 300 if quick else 2000, learning_rate))
    problem, W0 = _CACHE[key]
    steps = steps if steps is not None else (200 if quick else 2000)
    threshold = float(np.quantile(np.abs(W0), quantile))
    return Setup(problem, W0, threshold, learning_rate, steps, l1_lambda, [])


def lasso_lambda(reg: Regression, fraction: float = 0.1) -> float:
    """λ as a ``fraction`` of λ_max = ‖Aᵀb‖∞ (the smallest λ whose solution is all zeros)."""
    return float(fraction * np.abs(reg.A.T @ reg.b).max())


def lasso_objective(reg: Regression, x: np.ndarray, lam: float) -> float:
    """½‖Ax − b‖² + λ‖x‖₁, the book's §4.2 objective with one variable."""
    r = reg.A @ x - reg.b
    return float(0.5 * r @ r + lam * np.abs(x).sum())


def lasso_reference(reg: Regression, lam: float) -> np.ndarray:
    """scikit-learn's Lasso at the same λ (its objective is ours divided by n)."""
    from sklearn.linear_model import Lasso

    n = len(reg.b)
    model = Lasso(alpha=lam / n, fit_intercept=False, tol=1e-12, max_iter=100_000)
    return model.fit(reg.A, reg.b).coef_


def lasso_ista(reg: Regression, lam: float, steps: int = 3000) -> np.ndarray:
    """A plain ISTA solve of the Lasso (the inner solver the book's "minimize" lines need)."""
    step = 1.0 / np.linalg.norm(reg.A, 2) ** 2
    x = np.zeros(reg.A.shape[1])
    for _ in range(steps):
        x = soft_threshold(x - step * reg.A.T @ (reg.A @ x - reg.b), step * lam)
    return x


def compare_line(reg: Regression, x: np.ndarray, lam: float) -> str:
    """How ``x`` compares with scikit-learn's Lasso: zeros, distance, objective gap."""
    ref = lasso_reference(reg, lam)
    gap = lasso_objective(reg, x, lam) / lasso_objective(reg, ref, lam) - 1
    return (
        f"{int(np.sum(x == 0))}/{x.size} exact zeros (scikit-learn {int(np.sum(ref == 0))}), "
        f"max |x - x_sklearn| {np.abs(x - ref).max():.2g}, objective {gap:+.2%} vs scikit-learn"
    )


@dataclass
class PruneResult:
    """What a §4.3 pruning run left: zeros, the selections it made, accuracies.

    ``control_acc`` is magnitude pruning (weights) or the smallest outgoing-weight norm
    (units) at the same sparsity after the same number of update steps: the equal-budget
    control.
    """

    exact_zero_fraction: float
    target_fraction: float
    distinct_selected: int
    selections: int
    acc_dense: float
    acc: float
    control_acc: float

    def line(self) -> str:
        return (
            f"{self.selections} selections hit {self.distinct_selected} distinct entries, "
            f"{self.exact_zero_fraction:.1%} exactly 0 (target {self.target_fraction:.0%}), "
            f"accuracy {self.acc:.3f} (magnitude control {self.control_acc:.3f}, "
            f"dense {self.acc_dense:.3f})"
        )


def magnitude_control(problem: Problem, W0: np.ndarray, fraction: float, steps: int,
                      learning_rate: float) -> float:  # fmt: skip
    """Test accuracy after pruning the smallest ``fraction`` of ``|W0|``, ``steps`` masked."""
    k = int(round(fraction * W0.size))
    mask = np.ones(W0.size, bool)
    mask[np.argsort(np.abs(W0), axis=None)[:k]] = False
    mask = mask.reshape(W0.shape)
    W = W0 * mask
    for _ in range(steps):
        W -= learning_rate * gradient(problem.x, problem.y, W) * mask
    return accuracy(problem.x_test, problem.y_test, W)
