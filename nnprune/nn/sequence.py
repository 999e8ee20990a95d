r"""Glue between convolutional and recurrent layers: ``Transpose`` and ``LastTimeStep``.

``Conv1d`` reads channels first, ``(N, C, L)``; ``RNN``/``LSTM``/``GRU`` and the
Transformer layers read time first, ``(N, T, D)``. ``Transpose`` swaps the two
axes so that a speech model can be one ``Sequential``
(``Transpose -> Conv1d -> ReLU -> Transpose -> GRU -> LastTimeStep -> Linear``);
``LastTimeStep`` turns the recurrent output sequence into one vector per
sequence for the classifier, at each sequence's last real step when given
its length. (For the mean over time, use
:class:`~nnprune.nn.SequenceMeanPool`.) Neither has parameters.

Book: §1.2 (CNN + RNN models), used by the speech case study (§6.3, §7.3).
"""

from __future__ import annotations

from typing import Any

from ..backend import get_xp
from ._validate import check_input
from .module import Module


class Transpose(Module):
    r"""Swap axes ``dim0`` and ``dim1`` of a 3-D input, as ``torch.transpose(x, dim0, dim1)``.

    .. math::

        y = x^{\top_{(d_0, d_1)}},\qquad
        \frac{\partial L}{\partial x} = \delta^{\top_{(d_0, d_1)}}

    (a transpose is its own inverse, so the gradient is swapped back the same way).
    The default, ``Transpose(1, 2)``, maps ``(N, T, D)`` to ``(N, D, T)`` and back.

    Parameters
    ----------
    dim0, dim1 : int, default 1 and 2
        The axes to swap, in ``{0, 1, 2}`` or ``{-3, -2, -1}``.

    Book: §1.2, §6.3, §7.3.
    """

    def __init__(self, dim0: int = 1, dim1: int = 2) -> None:
        super().__init__()
        axes = []
        for name, d in (("dim0", dim0), ("dim1", dim1)):
            if isinstance(d, bool) or not isinstance(d, int) or not -3 <= d < 3:
                raise ValueError(f"{name} must be an int in [-3, 3) (3-D inputs), got {d!r}")
            axes.append(d % 3)
        self.dim0, self.dim1 = axes
        self._order = [0, 1, 2]
        self._order[self.dim0], self._order[self.dim1] = self.dim1, self.dim0

    def forward(self, x: Any) -> Any:
        check_input(self, x, ndim=3)
        # ascontiguousarray: the GEMMs downstream are faster on a contiguous array.
        return get_xp(x).ascontiguousarray(x.transpose(self._order))

    def backward(self, dout: Any) -> Any:
        return get_xp(dout).ascontiguousarray(dout.transpose(self._order))

    def extra_repr(self) -> str:
        return f"dim0={self.dim0}, dim1={self.dim1}"


class LastTimeStep(Module):
    r"""The last valid step of each sequence: ``(N, T, D) -> (N, D)``, :math:`y_n = x_{n, \ell_n}`.

    With lengths :math:`\ell_n \in [1, T]` (default :math:`\ell_n = T`, all
    sequences full),

    .. math::

        y_n = x_{n,\ell_n},\qquad
        \frac{\partial L}{\partial x_{nt}} =
        \begin{cases} \delta_n & t = \ell_n \\ 0 & \text{otherwise.} \end{cases}

    With ``batch_first`` recurrent layers, ``x[:, -1]`` is the final hidden
    state of the last layer (``h_n_[-1]``), the usual input of a sequence
    classifier. For sequences zero-padded at the end, pass ``lengths``: the
    output is then the state right after each sequence's last real step, which
    the padding that follows cannot reach (a recurrent layer is causal).

    Book: §1.2, §6.3, §7.3.
    """

    def __init__(self) -> None:
        super().__init__()
        self._x_shape = None
        self._last = None

    def forward(self, x: Any, lengths: Any = None) -> Any:
        """``x`` ``(N, T, D)``; ``lengths`` int ``(N,)`` in ``[1, T]`` or None (all ``T``)."""
        check_input(self, x, ndim=3)
        xp = get_xp(x)
        n, t, _ = x.shape
        if lengths is None:
            last = xp.full(n, t - 1)
        else:
            lengths = xp.asarray(lengths)
            if lengths.shape != (n,) or lengths.dtype.kind not in "iu":
                raise ValueError(
                    f"lengths must be an int array of shape ({n},), "
                    f"got {lengths.dtype} of shape {tuple(lengths.shape)}"
                )
            if n and (int(lengths.min()) < 1 or int(lengths.max()) > t):
                raise ValueError(
                    f"lengths must be in [1, {t}] (T = {t}), "
                    f"got values from {int(lengths.min())} to {int(lengths.max())}"
                )
            last = lengths - 1
        self._x_shape, self._last = x.shape, last
        return x[xp.arange(n), last]  # (N, D), a copy (fancy indexing)

    def backward(self, dout: Any) -> Any:
        if self._x_shape is None:
            raise RuntimeError("LastTimeStep.backward called before forward")
        xp = get_xp(dout)
        dx = xp.zeros(self._x_shape, dtype=dout.dtype)  # (N, T, D)
        dx[xp.arange(self._x_shape[0]), self._last] = dout
        return dx


__all__ = ["LastTimeStep", "Transpose"]
