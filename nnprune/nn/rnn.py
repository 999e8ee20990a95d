r"""Recurrent layers ``RNN``, ``LSTM`` and ``GRU`` with backpropagation through time.

All three run the same loop; only one time step differs (see
:mod:`nnprune.nn.rnn_cells`). For layer :math:`k` with input sequence
:math:`x_1, \dots, x_T`:

1. the input projection of every time step in one matrix product,
   :math:`a^x_t = x_t W_{ih}^\top + b_{ih}` for all :math:`t` at once;
2. the recurrence, a loop over time (inherent: :math:`h_t` needs
   :math:`h_{t-1}`), vectorised over the batch and the gates;
3. the outputs :math:`h_1, \dots, h_T` are the next layer's input.

Backpropagation through time (Werbos 1990) runs the loop backwards. At each
step the gradient reaching :math:`h_t` is the one from the output plus the one
flowing back from step :math:`t+1`,

.. math::

    \delta h_t = \frac{\partial L}{\partial y_t}
        + \frac{\partial L}{\partial h_t}\Big|_{\text{from } t+1},

and after the loop the weight gradients are sums over time, one product each,

.. math::

    \frac{\partial L}{\partial W_{ih}} = \sum_t \delta a^{x\top}_t x_t,\quad
    \frac{\partial L}{\partial W_{hh}} = \sum_t \delta a^{h\top}_t h_{t-1},\quad
    \frac{\partial L}{\partial b_{ih}} = \sum_{t,n} \delta a^x_t,\quad
    \frac{\partial L}{\partial b_{hh}} = \sum_{t,n} \delta a^h_t,\quad
    \frac{\partial L}{\partial x_t} = \delta a^x_t W_{ih}.

Book: §1.2 (RNNs), used by the speech case study (§6.3, §7.3).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import get_xp
from ..checks import check_bool, check_positive_int
from ..rng import SeedLike, as_generator
from .init import uniform_
from .module import Module
from .parameter import Parameter
from .rnn_cells import GRUStep, LSTMStep, RNNStep


class RNNBase(Module):
    """Parameters, validation and the BPTT loop shared by ``RNN``, ``LSTM`` and ``GRU``.

    Not built directly; public (as ``torch.nn.RNNBase``) so that code handling any
    recurrent layer (metrics, structured pruning) can test ``isinstance(m, RNNBase)``.
    """

    def __init__(
        self,
        step: Any,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        bias: bool,
        batch_first: bool,
        seed: SeedLike,
    ) -> None:
        super().__init__()
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.bias = check_bool("bias", bias)
        self.batch_first = check_bool("batch_first", batch_first)
        self._step = step
        rows = step.num_gates * hidden_size
        gen = as_generator(seed)
        bound = 1.0 / math.sqrt(hidden_size)
        for k in range(num_layers):
            d_in = input_size if k == 0 else hidden_size
            shapes = {f"weight_ih_l{k}": (rows, d_in), f"weight_hh_l{k}": (rows, hidden_size)}
            if self.bias:
                shapes.update({f"bias_ih_l{k}": (rows,), f"bias_hh_l{k}": (rows,)})
            for name, shape in shapes.items():  # PyTorch's registration order
                p = Parameter(np.zeros(shape, np.float32), prunable=name.startswith("weight"))
                setattr(self, name, uniform_(p, -bound, bound, seed=gen))
        self._cache = None
        self.h_n_ = self.c_n_ = self.dh0_ = self.dc0_ = None

    def _layer(self, k: int) -> tuple[Parameter, Parameter, Parameter | None, Parameter | None]:
        if self.bias:
            names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            return tuple(getattr(self, f"{n}_l{k}") for n in names)
        return getattr(self, f"weight_ih_l{k}"), getattr(self, f"weight_hh_l{k}"), None, None

    # ------------------------------------------------------------ validation
    def _layout(self) -> str:
        return "(N, T, D) with batch_first=True" if self.batch_first else "(T, N, D)"

    def _check_input(self, x: Any) -> None:
        name = type(self).__name__
        if not hasattr(x, "shape") or not hasattr(x, "dtype"):
            raise TypeError(f"{name} expects an array input, got {type(x).__name__}")
        if x.ndim != 3:
            raise ValueError(
                f"{name} expects a 3-D input {self._layout()}, got shape {tuple(x.shape)}"
            )
        if x.shape[2] != self.input_size:
            raise ValueError(
                f"{name} expects input_size={self.input_size} features (last axis), "
                f"got shape {tuple(x.shape)}"
            )
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"{name} expects a non-empty batch and sequence, got {x.shape}")

    def _check_state(self, what: str, s: Any, n: int) -> None:
        want = (self.num_layers, n, self.hidden_size)
        if not hasattr(s, "shape") or tuple(s.shape) != want:
            got = tuple(s.shape) if hasattr(s, "shape") else type(s).__name__
            raise ValueError(
                f"{type(self).__name__} {what} must have shape (num_layers, N, hidden_size) "
                f"= {want}, got {got}"
            )

    def _split_state(self, what: str, state: Any, n: int) -> tuple[Any, Any]:
        """Turn ``hx`` (or ``dh_n``/``dc_n``) into ``(h, c)``, each checked or None."""
        if self._step.has_cell:
            if state is None:
                return None, None
            if not (isinstance(state, tuple | list) and len(state) == 2):
                raise ValueError(
                    f"LSTM {what} must be a tuple (h, c) of two arrays, got {type(state).__name__}"
                )
            h, c = state
            for part, s in (("[0]", h), ("[1]", c)):
                if s is not None:
                    self._check_state(what + part, s, n)
            return h, c
        if state is not None:
            self._check_state(what, state, n)
        return state, None

    # --------------------------------------------------------------- compute
    def forward(self, x: Any, hx: Any = None) -> Any:
        r"""Run the layers over the sequence.

        Parameters
        ----------
        x : array, shape ``(N, T, D)`` (``(T, N, D)`` if ``batch_first=False``)
            Input sequences.
        hx : array or tuple of arrays, optional
            Initial state, zeros if omitted: ``h0`` of shape
            ``(num_layers, N, H)`` for ``RNN``/``GRU``, ``(h0, c0)`` for ``LSTM``
            (PyTorch's shapes, independent of ``batch_first``).

        Returns
        -------
        array, shape ``(N, T, H)`` (``(T, N, H)`` if ``batch_first=False``)
            The last layer's hidden state at every step. The final states are
            kept in ``h_n_`` (and ``c_n_``).
        """
        self._check_input(x)
        xp = get_xp(x)
        xs = x.transpose(1, 0, 2) if self.batch_first else x  # (T, N, D)
        t_len, n, _ = xs.shape
        h0, c0 = self._split_state("hx", hx, n)
        caches, h_n, c_n = [], [], []
        layer_in = xs
        for k in range(self.num_layers):
            w_ih, w_hh, b_ih, b_hh = self._layer(k)
            ax = layer_in @ w_ih.data.T  # (T, N, G*H): every step's input projection at once
            if b_ih is not None:
                ax += b_ih.data
            zeros = xp.zeros((n, self.hidden_size), dtype=ax.dtype)
            h = zeros if h0 is None else h0[k]
            c = (zeros if c0 is None else c0[k]) if self._step.has_cell else None
            h_first = h
            out = xp.empty((t_len, n, self.hidden_size), dtype=ax.dtype)  # (T, N, H)
            steps = []
            weight_hh = w_hh.data  # read once: each read of a pruned parameter re-applies its mask
            bias_hh = None if b_hh is None else b_hh.data
            for t in range(t_len):
                h, c, cache = self._step.forward(ax[t], h, c, weight_hh, bias_hh)
                out[t] = h
                steps.append(cache)
            caches.append((layer_in, h_first, out, steps))
            h_n.append(h)
            c_n.append(c)
            layer_in = out
        self._cache = caches
        self.h_n_ = xp.stack(h_n)
        self.c_n_ = xp.stack(c_n) if self._step.has_cell else None
        return layer_in.transpose(1, 0, 2) if self.batch_first else layer_in

    def backward(self, dout: Any, dh_n: Any = None) -> Any:
        r"""Backpropagation through time.

        Parameters
        ----------
        dout : array, shape of the output of :meth:`forward`
            :math:`\partial L/\partial y` for the whole output sequence.
        dh_n : array or tuple of arrays, optional
            Gradient with respect to the final state ``h_n_`` (``(dh_n, dc_n)``
            for the LSTM), when the loss also reads it; zeros if omitted.

        Returns
        -------
        array, shape of ``x``
            :math:`\partial L/\partial x`. Parameter gradients are added into
            ``.grad``; :math:`\partial L/\partial h_0` (and ``c_0``) are stored in
            ``dh0_`` (and ``dc0_``).
        """
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        xp = get_xp(dout)
        t_len, n, _ = self._cache[0][0].shape
        expected = (
            (n, t_len, self.hidden_size) if self.batch_first else (t_len, n, self.hidden_size)
        )
        if tuple(getattr(dout, "shape", ())) != expected:
            raise ValueError(
                f"{type(self).__name__}.backward expects dout of shape {expected} (the output's), "
                f"got {tuple(getattr(dout, 'shape', ()))}"
            )
        dh_last, dc_last = self._split_state("dh_n", dh_n, n)
        d = dout.transpose(1, 0, 2) if self.batch_first else dout  # (T, N, H)
        hs, rows = self.hidden_size, self._step.num_gates * self.hidden_size
        dh0 = xp.empty((self.num_layers, n, hs), dtype=d.dtype)
        dc0 = xp.empty_like(dh0) if self._step.has_cell else None
        for k in reversed(range(self.num_layers)):
            w_ih, w_hh, b_ih, b_hh = self._layer(k)
            layer_in, h_first, out, steps = self._cache[k]
            zeros = xp.zeros((n, hs), dtype=d.dtype)
            dh = zeros if dh_last is None else dh_last[k]
            dc = (zeros if dc_last is None else dc_last[k]) if self._step.has_cell else None
            dax = xp.empty((t_len, n, rows), dtype=d.dtype)  # (T, N, G*H)
            dah = xp.empty_like(dax)  # (T, N, G*H)
            weight_hh = w_hh.data
            for t in reversed(range(t_len)):
                dax[t], dah[t], dh, dc = self._step.backward(d[t] + dh, dc, steps[t], weight_hh)
            h_prev = xp.concatenate([h_first[None], out[:-1]])  # (T, N, H): h_{t-1}
            w_hh.grad += dah.reshape(-1, rows).T @ h_prev.reshape(-1, hs)
            w_ih.grad += dax.reshape(-1, rows).T @ layer_in.reshape(t_len * n, -1)
            if b_ih is not None:
                b_ih.grad += dax.sum(axis=(0, 1))
                b_hh.grad += dah.sum(axis=(0, 1))
            dh0[k] = dh
            if dc0 is not None:
                dc0[k] = dc
            d = dax @ w_ih.data  # (T, N, D_k): the gradient reaching layer k's input
        self.dh0_, self.dc0_ = dh0, dc0
        return d.transpose(1, 0, 2) if self.batch_first else d

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
            f"bias={self.bias}, batch_first={self.batch_first}"
        )


class RNN(RNNBase):
    r"""Elman RNN: :math:`h_t = \phi(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh})`.

    For each layer, time step :math:`t = 1, \dots, T` and the batch at once:

    .. math::

        h_t = \phi\bigl(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}\bigr),

    with :math:`\phi = \tanh` or :math:`\mathrm{relu}`, :math:`h_0` = ``hx`` (zeros by
    default) and one gate (:math:`G = 1`). Backpropagation through time, with
    :math:`\delta a_t = \delta h_t \odot \phi'(a_t)` the gradient of the
    pre-activation :math:`a_t`:

    .. math::

        \frac{\partial L}{\partial W_{hh}} = \sum_t \delta a_t^\top h_{t-1},\qquad
        \frac{\partial L}{\partial W_{ih}} = \sum_t \delta a_t^\top x_t,\qquad
        \frac{\partial L}{\partial h_{t-1}} \mathrel{+}= \delta a_t W_{hh}.

    Parameters
    ----------
    input_size : int
        Features :math:`D` of each input step.
    hidden_size : int
        Features :math:`H` of the hidden state.
    num_layers : int, default 1
        Stacked layers; layer :math:`k > 0` reads the outputs of layer :math:`k-1`.
    nonlinearity : {"tanh", "relu"}, default "tanh"
        The function :math:`\phi`.
    bias : bool, default True
        Whether to learn ``bias_ih_l{k}`` and ``bias_hh_l{k}``.
    batch_first : bool, default True
        Inputs and outputs are ``(N, T, D)`` if True, ``(T, N, D)`` if False.
        nnprune's default is True (sequences are ``(N, T, D)`` throughout the
        library); PyTorch's default is False.
    seed : int or numpy.random.Generator, optional
        Source of the initial weights: every parameter is drawn from
        :math:`U(-1/\sqrt H, 1/\sqrt H)`, PyTorch's initialisation.

    Attributes
    ----------
    weight_ih_l{k} : Parameter, shape ``(H, D_k)``, prunable
        :math:`W_{ih}` (:math:`D_0 = D`, else :math:`H`).
    weight_hh_l{k} : Parameter, shape ``(H, H)``, prunable
        :math:`W_{hh}`.
    bias_ih_l{k}, bias_hh_l{k} : Parameter, shape ``(H,)``, not prunable
        :math:`b_{ih}` and :math:`b_{hh}` (gates in the weights' order).
    h_n_ : array, shape ``(num_layers, N, H)``
        Final hidden state of every layer, set by :meth:`forward`.
    dh0_ : array, shape ``(num_layers, N, H)``
        :math:`\partial L/\partial h_0`, set by :meth:`backward`.

    Notes
    -----
    PyTorch's ``forward`` returns ``(output, h_n)``. nnprune modules return one array so
    that they compose in ``Sequential``: ``forward`` returns ``output`` and stores
    the final state in ``h_n_``. Dropout between layers, bidirectional layers
    and ``proj_size`` are not implemented. One time step and its derivatives:
    :class:`nnprune.nn.rnn_cells.RNNStep`; the BPTT loop: :mod:`nnprune.nn.rnn`.
    Weights copy to and from ``torch.nn.RNN`` unchanged (same names,
    shapes and gate order).

    Book: §1.2.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = True,
        seed: SeedLike = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(
            RNNStep(nonlinearity), input_size, hidden_size, num_layers, bias, batch_first, seed
        )
        self.nonlinearity = nonlinearity

    def extra_repr(self) -> str:
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}"


class LSTM(RNNBase):
    r"""Long short-term memory layer (Hochreiter & Schmidhuber 1997), gates ``(i, f, g, o)``.

    For each layer and time step, with :math:`\sigma` the logistic sigmoid and
    :math:`\odot` the element-wise product:

    .. math::

        i_t &= \sigma(x_t W_{ii}^\top + b_{ii} + h_{t-1} W_{hi}^\top + b_{hi}) \\
        f_t &= \sigma(x_t W_{if}^\top + b_{if} + h_{t-1} W_{hf}^\top + b_{hf}) \\
        g_t &= \tanh(x_t W_{ig}^\top + b_{ig} + h_{t-1} W_{hg}^\top + b_{hg}) \\
        o_t &= \sigma(x_t W_{io}^\top + b_{io} + h_{t-1} W_{ho}^\top + b_{ho}) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
        h_t &= o_t \odot \tanh(c_t)

    with :math:`(h_0, c_0)` = ``hx`` (zeros by default) and :math:`G = 4` gates,
    stacked in ``weight_ih_l{k}`` as :math:`[W_{ii}; W_{if}; W_{ig}; W_{io}]`
    (PyTorch's order). Backward, with :math:`\delta c_t` the gradient reaching
    :math:`c_t` from :math:`h_t` and from :math:`c_{t+1}`:

    .. math::

        \delta c_t &= \delta c_{t}^{(t+1)} + \delta h_t \odot o_t \odot (1 - \tanh^2 c_t),
        \qquad \frac{\partial L}{\partial c_{t-1}} = \delta c_t \odot f_t, \\
        \delta a^i &= \delta c_t \odot g_t \odot i_t(1 - i_t),\quad
        \delta a^f = \delta c_t \odot c_{t-1} \odot f_t(1 - f_t), \\
        \delta a^g &= \delta c_t \odot i_t \odot (1 - g_t^2),\quad
        \delta a^o = \delta h_t \odot \tanh(c_t) \odot o_t(1 - o_t).

    ``forward(x, hx=(h0, c0))``.

    Parameters
    ----------
    input_size : int
        Features :math:`D` of each input step.
    hidden_size : int
        Features :math:`H` of the hidden state.
    num_layers : int, default 1
        Stacked layers; layer :math:`k > 0` reads the outputs of layer :math:`k-1`.
    bias : bool, default True
        Whether to learn ``bias_ih_l{k}`` and ``bias_hh_l{k}``.
    batch_first : bool, default True
        Inputs and outputs are ``(N, T, D)`` if True, ``(T, N, D)`` if False.
        nnprune's default is True (sequences are ``(N, T, D)`` throughout the
        library); PyTorch's default is False.
    seed : int or numpy.random.Generator, optional
        Source of the initial weights: every parameter is drawn from
        :math:`U(-1/\sqrt H, 1/\sqrt H)`, PyTorch's initialisation.

    Attributes
    ----------
    weight_ih_l{k} : Parameter, shape ``(4H, D_k)``, prunable
        :math:`[W_{ii}; W_{if}; W_{ig}; W_{io}]` (:math:`D_0 = D`, else :math:`H`).
    weight_hh_l{k} : Parameter, shape ``(4H, H)``, prunable
        :math:`[W_{hi}; W_{hf}; W_{hg}; W_{ho}]`.
    bias_ih_l{k}, bias_hh_l{k} : Parameter, shape ``(4H,)``, not prunable
        :math:`b_{ih}` and :math:`b_{hh}` (gates in the weights' order).
    h_n_ : array, shape ``(num_layers, N, H)``
        Final hidden state of every layer, set by :meth:`forward`.
    c_n_ : array, shape ``(num_layers, N, H)``
        Final cell state of every layer.
    dh0_ : array, shape ``(num_layers, N, H)``
        :math:`\partial L/\partial h_0`, set by :meth:`backward`.
    dc0_ : array, shape ``(num_layers, N, H)``
        :math:`\partial L/\partial c_0`, set by :meth:`backward`.

    Notes
    -----
    PyTorch's ``forward`` returns ``(output, (h_n, c_n))``. nnprune modules return one array so
    that they compose in ``Sequential``: ``forward`` returns ``output`` and stores
    the final state in ``h_n_`` and ``c_n_``. Dropout between layers, bidirectional layers
    and ``proj_size`` are not implemented. One time step and its derivatives:
    :class:`nnprune.nn.rnn_cells.LSTMStep`; the BPTT loop: :mod:`nnprune.nn.rnn`.
    Weights copy to and from ``torch.nn.LSTM`` unchanged (same names,
    shapes and gate order).

    Book: §1.2.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = True,
        seed: SeedLike = None,
    ) -> None:
        super().__init__(LSTMStep(), input_size, hidden_size, num_layers, bias, batch_first, seed)


class GRU(RNNBase):
    r"""Gated recurrent unit (Cho et al. 2014), gates ``(r, z, n)``, PyTorch's variant.

    For each layer and time step, with :math:`\sigma` the logistic sigmoid and
    :math:`\odot` the element-wise product:

    .. math::

        r_t &= \sigma(x_t W_{ir}^\top + b_{ir} + h_{t-1} W_{hr}^\top + b_{hr}) \\
        z_t &= \sigma(x_t W_{iz}^\top + b_{iz} + h_{t-1} W_{hz}^\top + b_{hz}) \\
        n_t &= \tanh\bigl(x_t W_{in}^\top + b_{in}
               + r_t \odot (h_{t-1} W_{hn}^\top + b_{hn})\bigr) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    with :math:`h_0` = ``hx`` (zeros by default) and :math:`G = 3` gates. The
    reset gate multiplies :math:`h_{t-1} W_{hn}^\top + b_{hn}`, bias included, as
    in PyTorch and cuDNN (Cho et al. apply it to :math:`h_{t-1}` before the
    product). Backward, with :math:`a^{hn} = h_{t-1} W_{hn}^\top + b_{hn}`:

    .. math::

        \delta a^n &= \delta h_t \odot (1 - z_t) \odot (1 - n_t^2),\qquad
        \delta a^z = \delta h_t \odot (h_{t-1} - n_t) \odot z_t(1 - z_t), \\
        \delta a^r &= \delta a^n \odot a^{hn} \odot r_t(1 - r_t),\qquad
        \frac{\partial L}{\partial h_{t-1}} = \delta h_t \odot z_t
            + [\delta a^r, \delta a^z, r_t \odot \delta a^n]\, W_{hh}.

    Parameters
    ----------
    input_size : int
        Features :math:`D` of each input step.
    hidden_size : int
        Features :math:`H` of the hidden state.
    num_layers : int, default 1
        Stacked layers; layer :math:`k > 0` reads the outputs of layer :math:`k-1`.
    bias : bool, default True
        Whether to learn ``bias_ih_l{k}`` and ``bias_hh_l{k}``.
    batch_first : bool, default True
        Inputs and outputs are ``(N, T, D)`` if True, ``(T, N, D)`` if False.
        nnprune's default is True (sequences are ``(N, T, D)`` throughout the
        library); PyTorch's default is False.
    seed : int or numpy.random.Generator, optional
        Source of the initial weights: every parameter is drawn from
        :math:`U(-1/\sqrt H, 1/\sqrt H)`, PyTorch's initialisation.

    Attributes
    ----------
    weight_ih_l{k} : Parameter, shape ``(3H, D_k)``, prunable
        :math:`[W_{ir}; W_{iz}; W_{in}]` (:math:`D_0 = D`, else :math:`H`).
    weight_hh_l{k} : Parameter, shape ``(3H, H)``, prunable
        :math:`[W_{hr}; W_{hz}; W_{hn}]`.
    bias_ih_l{k}, bias_hh_l{k} : Parameter, shape ``(3H,)``, not prunable
        :math:`b_{ih}` and :math:`b_{hh}` (gates in the weights' order).
    h_n_ : array, shape ``(num_layers, N, H)``
        Final hidden state of every layer, set by :meth:`forward`.
    dh0_ : array, shape ``(num_layers, N, H)``
        :math:`\partial L/\partial h_0`, set by :meth:`backward`.

    Notes
    -----
    PyTorch's ``forward`` returns ``(output, h_n)``. nnprune modules return one array so
    that they compose in ``Sequential``: ``forward`` returns ``output`` and stores
    the final state in ``h_n_``. Dropout between layers, bidirectional layers
    and ``proj_size`` are not implemented. One time step and its derivatives:
    :class:`nnprune.nn.rnn_cells.GRUStep`; the BPTT loop: :mod:`nnprune.nn.rnn`.
    Weights copy to and from ``torch.nn.GRU`` unchanged (same names,
    shapes and gate order).

    Book: §1.2.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = True,
        seed: SeedLike = None,
    ) -> None:
        super().__init__(GRUStep(), input_size, hidden_size, num_layers, bias, batch_first, seed)
