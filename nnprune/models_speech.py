r"""``SpeechClassifier``: feature frames -> class scores, reading each clip at its own end.

.. math::

    h = \mathrm{RNN}\big(\mathrm{ReLU}(\mathrm{Conv1d}(x))\big),\qquad
    \text{logits} = W\, h_{\ell'} + b,

with :math:`x` of shape ``(N, T, F)`` (``F`` mel bands). Clips of different
lengths come zero-padded at the end (:func:`nnprune.data.audio.load_fsdd`
pads that way, and :func:`~nnprune.data.splits.speech_splits` keeps
the padding exactly zero after standardising). The model reads the length
:math:`\ell_n` of each clip from its input, as the number of frames up to its
last frame with a non-zero entry (the convention of Keras'
``Masking(mask_value=0)``, applied to trailing frames only; a clip of only
zero frames counts as full length), maps it through the convolution,
:math:`\ell'_n = \lfloor (\ell_n + 2p - k)/s \rfloor + 1` (at least 1), and
classifies the recurrent state after step :math:`\ell'_n`
(:class:`~nnprune.nn.LastTimeStep` with ``lengths``), not after the
padding. The recurrent layer is causal and the convolution sees the padding
frames only where its own zero padding would be, so the logits of a clip do
not change when zero frames are appended.

It is not a plain ``Sequential`` because the lengths computed from the input
must reach the pooling; ``forward(x)`` takes the features alone, so the model
trains with :func:`nnprune.train.fit` like any other, and
:func:`nnprune.metrics.flops` counts it through its ``flops_rule`` hook.

Book: §6.3, §7.3.
"""

from __future__ import annotations

from typing import Any

from . import nn
from .backend import get_xp
from .checks import check_positive_int
from .metrics.flops import layer_flops, sub_flops
from .nn._validate import check_input
from .rng import SeedLike, as_generator

CELLS = {"gru": nn.GRU, "lstm": nn.LSTM}


class SpeechClassifier(nn.Module):
    r"""Conv1d front end (k=5, stride 2), GRU/LSTM, the last valid step, ``Linear``.

    Parameters
    ----------
    n_mels : int
        Features per frame ``F``.
    num_classes : int
    conv : int
        ``Conv1d`` output channels.
    hidden : int
        Hidden units of the recurrent layer.
    cell : {"gru", "lstm"}, default "gru"
    seed : int or numpy.random.Generator, optional

    Attributes
    ----------
    frontend : Sequential
        ``Transpose(1, 2), Conv1d, ReLU, Transpose(1, 2)``: ``(N, T, F) -> (N, T', conv)``.
    rnn : GRU or LSTM (``batch_first``)
    pool : LastTimeStep
        Called with the lengths after the convolution.
    head : Linear ``(hidden -> num_classes)``

    Book: §6.3, §7.3.
    """

    def __init__(
        self,
        n_mels: int,
        num_classes: int,
        conv: int,
        hidden: int,
        cell: str = "gru",
        seed: SeedLike = None,
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be 'gru' or 'lstm', got {cell!r}")
        gen = as_generator(seed)
        self.frontend = nn.Sequential(
            nn.Transpose(1, 2),  # (N, F, T): Conv1d reads channels first
            nn.Conv1d(check_positive_int("n_mels", n_mels), conv, 5, stride=2, padding=2, seed=gen),
            nn.ReLU(),
            nn.Transpose(1, 2),  # (N, T', C): the recurrent layer reads time first
        )
        self.rnn = CELLS[cell](conv, hidden, seed=gen)
        self.pool = nn.LastTimeStep()
        self.head = nn.Linear(hidden, check_positive_int("num_classes", num_classes), seed=gen)

    @property
    def conv(self) -> nn.Conv1d:
        """The ``Conv1d`` of the front end."""
        return self.frontend[1]

    def lengths(self, x: Any) -> Any:
        """Frames of each clip up to its last non-zero frame, int ``(N,)`` (``T`` if none)."""
        xp = get_xp(x)
        t = x.shape[1]
        nonzero = xp.any(x != 0, axis=2)  # (N, T)
        return t - xp.argmax(nonzero[:, ::-1], axis=1)  # argmax 0 when no frame is non-zero

    def output_lengths(self, lengths: Any) -> Any:
        r"""Lengths after the convolution, :math:`\lfloor (\ell + 2p - k)/s \rfloor + 1` (>= 1)."""
        (k,), (s,), (p,) = self.conv.kernel_size, self.conv.stride, self.conv.padding
        out = (lengths + 2 * p - k) // s + 1
        return get_xp(out).maximum(out, 1)

    def forward(self, x: Any) -> Any:
        """``x`` float ``(N, T, F)``, zero-padded at the end -> logits ``(N, num_classes)``."""
        check_input(self, x, ndim=3)
        lengths = self.output_lengths(self.lengths(x))
        h = self.rnn(self.frontend(x))  # (N, T', hidden)
        return self.head(self.pool(h, lengths))

    def backward(self, dout: Any) -> Any:
        d = self.pool.backward(self.head.backward(dout))  # (N, T', hidden)
        return self.frontend.backward(self.rnn.backward(d))  # (N, T, F)

    def flops_rule(self, call: Any) -> dict[str, tuple[int, int]]:
        """The :mod:`nnprune.metrics.flops` hook: the ``Conv1d``, the recurrent layer, the head.

        MACs per sample at the padded length ``T`` of ``call.input_shape``
        ``(1, T, F)`` (padding is computed too; the glue layers count 0).
        """
        prefix = call.name + "." if call.name else ""
        t, f = call.input_shape[1:]
        out = {f"{prefix}frontend.{k}": v for k, v in layer_flops(self.frontend, (t, f)).items()}
        t_out = int(self.output_lengths(t))
        out.update(sub_flops(self.rnn, prefix + "rnn", (1, t_out, self.conv.out_channels)))
        out.update(sub_flops(self.head, prefix + "head", (1, self.head.in_features)))
        return out


__all__ = ["SpeechClassifier"]
