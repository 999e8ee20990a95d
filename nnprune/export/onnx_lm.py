r"""Export the causal character language model to ONNX, the causal mask as a constant.

:func:`export_lm_onnx` writes :class:`nnprune.models_lm.CharTransformerLM` (eval
mode) as one graph for a fixed sequence length :math:`T` and any batch size:
input ``ids`` int64 ``(N, T)``, output ``logits`` float32 ``(N, T, vocab)``.

* embeddings: ``Gather`` of the token table, plus the first :math:`T` rows of the
  position table as a constant;
* each encoder layer (pre- or post-norm): ``LayerNormalization`` (opset 17); the
  four projections as ``MatMul`` + ``Add``; heads by ``Reshape`` / ``Transpose``;
  scores :math:`QK^\top/\sqrt d` plus the constant ``(T, T)`` mask
  :func:`nnprune.nn.causal_mask` (:math:`-\infty` above the diagonal), ``Softmax``,
  the ``head_mask`` gates as a ``Mul``; the feed-forward network with ``Relu`` or
  GELU (exact: :math:`\tfrac12 x(1+\operatorname{erf}(x/\sqrt2))`; or its tanh form);
* the final norm and the head.

As with :func:`nnprune.export.export_onnx`, weights are stored dense: a pruned model
writes as many bytes and runs as fast as the dense one in ONNX Runtime.

Needs ``pip install 'nnprune[onnx]'``.

Book: §8.3 (deployment), for the language model of §8.1.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..backend import to_numpy
from ..checks import check_positive_int
from .onnx_export import OPSET, _import_onnx, _save_model


def export_lm_onnx(model: Any, path: str | os.PathLike, seq_len: int | None = None) -> Path:
    """Write ``model`` (a ``CharTransformerLM``) as an ONNX file for sequences of ``seq_len``.

    Parameters
    ----------
    model : CharTransformerLM
    path : str or path-like
        The ``.onnx`` file, written atomically.
    seq_len : int, optional
        The fixed :math:`T` of the graph (the mask is a ``(T, T)`` constant);
        defaults to ``model.context``.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ImportError
        Without the ``onnx`` package.
    TypeError, ValueError
        For another model, or ``seq_len`` outside ``[1, model.context]``.
    """
    from ..models_lm import CharTransformerLM
    from ..nn import GELU, ReLU, causal_mask

    if not isinstance(model, CharTransformerLM):
        raise TypeError(f"export_lm_onnx exports a CharTransformerLM, got {type(model).__name__}")
    t = model.context if seq_len is None else check_positive_int("seq_len", seq_len)
    if t > model.context:
        raise ValueError(f"seq_len must be <= the model's context {model.context}, got {t}")
    _import_onnx()  # the clear error when the onnx extra is missing
    from onnx import TensorProto, helper, numpy_helper


    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, array: Any, dtype: Any = np.float32) -> str:
        inits.append(numpy_helper.from_array(np.asarray(to_numpy(array), dtype=dtype), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def linear(layer: Any, x: str, tag: str) -> str:
        y = node("MatMul", [x, const(f"{tag}.weight_t", layer.weight.data.T)], f"{tag}_mm")
        if layer.bias is None:
            return y
        return node("Add", [y, const(f"{tag}.bias", layer.bias.data)], f"{tag}_out")

    def layer_norm(norm: Any, x: str, tag: str) -> str:
        scale, shift = (
            const(f"{tag}.weight", norm.weight.data),
            const(f"{tag}.bias", norm.bias.data),
        )
        return node(
            "LayerNormalization", [x, scale, shift], f"{tag}_out", axis=-1, epsilon=norm.eps
        )

    mask = const("causal_mask", causal_mask(t))  # (T, T): 0 on/below the diagonal, -inf above

    def attention(attn: Any, x: str, tag: str) -> str:
        h, d = attn.num_heads, attn.head_dim
        split = const(f"{tag}.split_shape", [0, t, h, d], np.int64)  # 0 copies N
        heads = {}
        for name, perm in (("q", [0, 2, 1, 3]), ("k", [0, 2, 3, 1]), ("v", [0, 2, 1, 3])):
            z = linear(getattr(attn, f"{name}_proj"), x, f"{tag}.{name}_proj")
            z = node("Reshape", [z, split], f"{tag}_{name}_split")  # (N, T, H, d)
            heads[name] = node("Transpose", [z], f"{tag}_{name}_heads", perm=perm)
        scores = node("MatMul", [heads["q"], heads["k"]], f"{tag}_qk")  # (N, H, T, T)
        scores = node("Mul", [scores, const(f"{tag}.scale", 1.0 / math.sqrt(d))], f"{tag}_scaled")
        scores = node("Add", [scores, mask], f"{tag}_masked")
        probs = node("Softmax", [scores], f"{tag}_probs", axis=-1)
        out = node("MatMul", [probs, heads["v"]], f"{tag}_attended")  # (N, H, T, d)
        gate = const(f"{tag}.head_mask", np.asarray(to_numpy(attn.head_mask)).reshape(1, h, 1, 1))
        out = node("Mul", [out, gate], f"{tag}_gated")
        out = node("Transpose", [out], f"{tag}_merged_t", perm=[0, 2, 1, 3])  # (N, T, H, d)
        merge = const(f"{tag}.merge_shape", [0, t, h * d], np.int64)
        out = node("Reshape", [out, merge], f"{tag}_merged")
        return linear(attn.out_proj, out, f"{tag}.out_proj")

    def feed_forward(layer: Any, x: str, tag: str) -> str:
        z = linear(layer.linear1, x, f"{tag}.linear1")
        act = layer.activation
        if isinstance(act, ReLU):
            z = node("Relu", [z], f"{tag}_relu")
        elif isinstance(act, GELU) and act.approximate == "none":
            u = node("Mul", [z, const(f"{tag}.inv_sqrt2", 1 / math.sqrt(2))], f"{tag}_u")
            cdf = node(
                "Add", [node("Erf", [u], f"{tag}_erf"), const(f"{tag}.one", 1.0)], f"{tag}_c"
            )
            z = node(
                "Mul",
                [node("Mul", [z, cdf], f"{tag}_zc"), const(f"{tag}.half", 0.5)],
                f"{tag}_gelu",
            )
        else:  # GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
            cube = node("Mul", [node("Mul", [z, z], f"{tag}_z2"), z], f"{tag}_z3")
            inner = node(
                "Add",
                [z, node("Mul", [cube, const(f"{tag}.c3", 0.044715)], f"{tag}_cz3")],
                f"{tag}_in",
            )
            inner = node("Mul", [inner, const(f"{tag}.c", math.sqrt(2 / math.pi))], f"{tag}_in2")
            cdf = node(
                "Add", [node("Tanh", [inner], f"{tag}_tanh"), const(f"{tag}.one", 1.0)], f"{tag}_c"
            )
            z = node(
                "Mul",
                [node("Mul", [z, cdf], f"{tag}_zc"), const(f"{tag}.half", 0.5)],
                f"{tag}_gelu",
            )
        return linear(layer.linear2, z, f"{tag}.linear2")

    tokens = node("Gather", [const("embedding.weight", model.embedding.weight.data), "ids"], "tok")
    x = node("Add", [tokens, const("positions", model.pos_embedding.weight.data[:t])], "x0")
    for i, layer in enumerate(model.layers):
        tag = f"layers.{i}"
        if layer.norm_first:
            sa = attention(
                layer.self_attn, layer_norm(layer.norm1, x, f"{tag}.norm1"), f"{tag}.attn"
            )
            x = node("Add", [x, sa], f"{tag}_h")
            ff = feed_forward(layer, layer_norm(layer.norm2, x, f"{tag}.norm2"), f"{tag}.ff")
            x = node("Add", [x, ff], f"{tag}_y")
        else:
            h = node("Add", [x, attention(layer.self_attn, x, f"{tag}.attn")], f"{tag}_sum1")
            x = layer_norm(layer.norm1, h, f"{tag}.norm1")
            y = node("Add", [x, feed_forward(layer, x, f"{tag}.ff")], f"{tag}_sum2")
            x = layer_norm(layer.norm2, y, f"{tag}.norm2")
    x = layer_norm(model.norm, x, "norm")
    logits = linear(model.head, x, "head")
    nodes.append(helper.make_node("Identity", [logits], ["logits"]))
    vocab = model.head.out_features
    graph = helper.make_graph(
        nodes,
        "nnprune_char_lm",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["N", t])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", t, vocab])],
        initializer=inits,
    )
    return _save_model(graph, path, OPSET)


__all__ = ["export_lm_onnx"]
