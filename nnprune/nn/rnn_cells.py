r"""One time step of the Elman RNN, LSTM and GRU cells: forward and backward.

The recurrent layers of :mod:`nnprune.nn.rnn` share one backpropagation-
through-time driver; the cells differ only in what one step computes. Each
step class here has the same interface, for a batch of :math:`N` sequences,
hidden size :math:`H` and :math:`G` gates (1, 4, 3):

* ``forward(ax, h_prev, c_prev, w_hh, b_hh) -> (h, c, cache)`` with the
  input projection ``ax`` :math:`= x_t W_{ih}^\top + b_{ih}`, shape
  ``(N, G*H)`` (the driver computes it for all time steps in one product),
  ``h_prev`` and ``c_prev`` of shape ``(N, H)`` (``c`` is ``None`` except for
  the LSTM), ``w_hh`` of shape ``(G*H, H)`` and ``b_hh`` of shape ``(G*H,)``
  or ``None``;
* ``backward(dh, dc, cache, w_hh) -> (dax, dah, dh_prev, dc_prev)`` given
  :math:`\partial L/\partial h_t` (and :math:`\partial L/\partial c_t`), with
  ``dax`` the gradient of the input projection and ``dah`` that of the hidden
  projection :math:`a^h = h_{t-1} W_{hh}^\top + b_{hh}`, both ``(N, G*H)``.
  The driver turns them into :math:`\partial L/\partial W_{ih}`,
  :math:`\partial L/\partial W_{hh}` and the biases with one product over all
  time steps. They differ only for the GRU, whose candidate gate multiplies
  the hidden projection by the reset gate.

Gate layouts are PyTorch's: LSTM rows ``(i, f, g, o)``, GRU rows ``(r, z, n)``,
so weights copy to and from ``torch.nn.LSTM``/``GRU`` unchanged. Below
:math:`\sigma` is the logistic sigmoid, :math:`\odot` the element-wise
product and :math:`\delta h = \partial L/\partial h_t`.

Book: §1.2 (RNNs).
"""

from __future__ import annotations

from typing import Any

from ..backend import get_xp


def sigmoid(a: Any) -> Any:
    """Logistic function from :math:`e^{-|a|}`, so that it never overflows."""
    xp = get_xp(a)
    e = xp.exp(-xp.abs(a))
    return xp.where(a >= 0, 1.0, e) / (1.0 + e)


def _hidden_projection(h_prev: Any, w_hh: Any, b_hh: Any) -> Any:
    ah = h_prev @ w_hh.T  # (N, G*H)
    if b_hh is not None:
        ah += b_hh
    return ah


class RNNStep:
    r"""Elman RNN step with ``tanh`` or ``relu``.

    .. math::

        a_t = a^x_t + h_{t-1} W_{hh}^\top + b_{hh},\qquad h_t = \phi(a_t),

        \delta a = \delta h \odot \phi'(a_t),\qquad
        \phi' = 1 - h_t^2\ (\tanh)\ \text{or}\ 1[a_t > 0]\ (\mathrm{relu}),\qquad
        \frac{\partial L}{\partial h_{t-1}} = \delta a\, W_{hh}.

    Here the input and hidden projections share :math:`\delta a`.
    """

    num_gates = 1
    has_cell = False

    def __init__(self, nonlinearity: str = "tanh") -> None:
        self.nonlinearity = nonlinearity

    def forward(self, ax: Any, h_prev: Any, c_prev: Any, w_hh: Any, b_hh: Any) -> tuple:
        xp = get_xp(ax)
        a = ax + _hidden_projection(h_prev, w_hh, b_hh)
        h = xp.tanh(a) if self.nonlinearity == "tanh" else xp.maximum(a, 0.0)
        return h, None, h

    def backward(self, dh: Any, dc: Any, cache: Any, w_hh: Any) -> tuple:
        h = cache
        da = dh * (1.0 - h * h) if self.nonlinearity == "tanh" else dh * (h > 0)
        return da, da, da @ w_hh, None


class LSTMStep:
    r"""LSTM step (Hochreiter & Schmidhuber 1997, with a forget gate), gates ``(i, f, g, o)``.

    .. math::

        [a^i, a^f, a^g, a^o] = a^x_t + h_{t-1} W_{hh}^\top + b_{hh},\qquad
        i = \sigma(a^i),\ f = \sigma(a^f),\ g = \tanh(a^g),\ o = \sigma(a^o),

        c_t = f \odot c_{t-1} + i \odot g,\qquad h_t = o \odot \tanh(c_t).

    Backward, with :math:`\delta c_t` the total gradient reaching :math:`c_t`
    (from :math:`h_t` and from :math:`c_{t+1}`):

    .. math::

        \delta c_t = \delta c + \delta h \odot o \odot (1 - \tanh^2 c_t),\qquad
        \frac{\partial L}{\partial c_{t-1}} = \delta c_t \odot f,

        \delta a^i = \delta c_t \odot g \odot i(1-i),\quad
        \delta a^f = \delta c_t \odot c_{t-1} \odot f(1-f),\quad
        \delta a^g = \delta c_t \odot i \odot (1-g^2),\quad
        \delta a^o = \delta h \odot \tanh(c_t) \odot o(1-o),

        \frac{\partial L}{\partial h_{t-1}} = \delta a\, W_{hh}.
    """

    num_gates = 4
    has_cell = True

    def forward(self, ax: Any, h_prev: Any, c_prev: Any, w_hh: Any, b_hh: Any) -> tuple:
        xp = get_xp(ax)
        hs = h_prev.shape[1]
        a = ax + _hidden_projection(h_prev, w_hh, b_hh)  # (N, 4H)
        s = sigmoid(a)  # the g slice of s is unused: one call beats three slices
        i, f, o = s[:, :hs], s[:, hs : 2 * hs], s[:, 3 * hs :]
        g = xp.tanh(a[:, 2 * hs : 3 * hs])
        c = f * c_prev + i * g
        tanh_c = xp.tanh(c)
        return o * tanh_c, c, (i, f, g, o, c_prev, tanh_c)

    def backward(self, dh: Any, dc: Any, cache: Any, w_hh: Any) -> tuple:
        xp = get_xp(dh)
        i, f, g, o, c_prev, tanh_c = cache
        dc_t = dc + dh * o * (1.0 - tanh_c * tanh_c)
        da = xp.concatenate(
            [
                dc_t * g * i * (1.0 - i),
                dc_t * c_prev * f * (1.0 - f),
                dc_t * i * (1.0 - g * g),
                dh * tanh_c * o * (1.0 - o),
            ],
            axis=1,
        )  # (N, 4H)
        return da, da, da @ w_hh, dc_t * f


class GRUStep:
    r"""GRU step (Cho et al. 2014, PyTorch's variant), gates ``(r, z, n)``.

    .. math::

        [a^{xr}, a^{xz}, a^{xn}] = a^x_t,\qquad
        [a^{hr}, a^{hz}, a^{hn}] = h_{t-1} W_{hh}^\top + b_{hh},

        r = \sigma(a^{xr} + a^{hr}),\quad z = \sigma(a^{xz} + a^{hz}),\quad
        n = \tanh\!\big(a^{xn} + r \odot a^{hn}\big),

        h_t = (1 - z) \odot n + z \odot h_{t-1}.

    The reset gate multiplies :math:`W_{hn} h_{t-1} + b_{hn}` (bias included),
    as in PyTorch and cuDNN. Backward:

    .. math::

        \delta a^{n} = \delta h \odot (1 - z) \odot (1 - n^2),\qquad
        \delta a^{z} = \delta h \odot (h_{t-1} - n) \odot z(1-z),\qquad
        \delta a^{r} = \delta a^{n} \odot a^{hn} \odot r(1-r),

        \delta a^x = [\delta a^r, \delta a^z, \delta a^n],\qquad
        \delta a^h = [\delta a^r, \delta a^z, r \odot \delta a^n],

        \frac{\partial L}{\partial h_{t-1}} = \delta h \odot z + \delta a^h\, W_{hh}.
    """

    num_gates = 3
    has_cell = False

    def forward(self, ax: Any, h_prev: Any, c_prev: Any, w_hh: Any, b_hh: Any) -> tuple:
        xp = get_xp(ax)
        hs = h_prev.shape[1]
        ah = _hidden_projection(h_prev, w_hh, b_hh)  # (N, 3H)
        rz = sigmoid(ax[:, : 2 * hs] + ah[:, : 2 * hs])  # (N, 2H)
        r, z = rz[:, :hs], rz[:, hs:]
        ah_n = ah[:, 2 * hs :]
        n = xp.tanh(ax[:, 2 * hs :] + r * ah_n)
        h = (1.0 - z) * n + z * h_prev
        return h, None, (r, z, n, ah_n, h_prev)

    def backward(self, dh: Any, dc: Any, cache: Any, w_hh: Any) -> tuple:
        xp = get_xp(dh)
        r, z, n, ah_n, h_prev = cache
        dan = dh * (1.0 - z) * (1.0 - n * n)
        daz = dh * (h_prev - n) * z * (1.0 - z)
        dar = dan * ah_n * r * (1.0 - r)
        dax = xp.concatenate([dar, daz, dan], axis=1)  # (N, 3H)
        dah = xp.concatenate([dar, daz, r * dan], axis=1)  # (N, 3H)
        return dax, dah, dh * z + dah @ w_hh, None
