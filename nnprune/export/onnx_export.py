r"""Export MLPs, CNNs and ResNets to ONNX, BatchNorm folded, for ONNX Runtime and other tools.

:func:`export_onnx` walks a ``Sequential`` chain (nested chains allowed) and
writes one ONNX node per layer: ``Linear`` -> ``Gemm`` (``y = x W^T + b``,
``transB=1``), ``Conv2d`` -> ``Conv``, ``MaxPool2d``/``AvgPool2d`` ->
``MaxPool``/``AveragePool``, ``GlobalAvgPool2d`` -> ``GlobalAveragePool`` then
``Flatten``, ``Flatten`` -> ``Flatten``, the activations by name; ``Dropout`` is
the identity at inference and is dropped. A residual ``BasicBlock`` (the
ResNets of :func:`nnprune.models_resnet.small_resnet`) becomes its two branches,
the convolutions and the shortcut (identity or 1x1 ``Conv``), joined by
``Add`` and ``Relu``. A ``BatchNorm`` right after a ``Linear`` or ``Conv2d``
is folded into it (running statistics, eval mode):

.. math::

    s = \gamma / \sqrt{\sigma^2 + \epsilon},\qquad
    W' = s \odot W \ \text{(per output unit)},\qquad
    b' = s\,(b - \mu) + \beta,

and any other ``BatchNorm`` becomes a ``BatchNormalization`` node.

What the file costs: ONNX stores every initializer dense, so a *masked*
model (unstructured zeros) writes as many bytes as the dense one, and ONNX
Runtime multiplies the zeros like any other number: unstructured sparsity
saves neither bytes nor time here without a sparse format and a sparse
runtime. A *physically shrunk* model (units removed) writes smaller
matrices and runs faster everywhere. (Zip compression of the file does
shrink masked zeros; see the README for measured sizes.)

Needs ``pip install 'nnprune[onnx]'`` (``onnx``; ``onnxruntime`` to run the file).

Book: §8.3 (deployment on mobile and edge devices).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..backend import to_numpy
from ..nn.module import Module, Sequential

OPSET = 17


def _import_onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError(
            "ONNX export needs the onnx package; install it with pip install 'nnprune[onnx]'"
        ) from None
    return onnx


def _save_model(graph: Any, path: str | os.PathLike, opset: int) -> Path:
    """Wrap ``graph`` in a model of ``opset`` (IR version at most 8), check it, write it atomically.

    Shared by :func:`export_onnx` and :func:`~nnprune.export.export_lm_onnx`.
    """
    onnx = _import_onnx()
    from onnx import helper

    from .._atomic import atomic_write

    onnx_model = helper.make_model(
        graph, producer_name="nnprune", opset_imports=[helper.make_opsetid("", opset)]
    )
    onnx_model.ir_version = min(onnx_model.ir_version, 8)
    onnx.checker.check_model(onnx_model)
    data = onnx_model.SerializeToString()
    return atomic_write(Path(path), lambda f: f.write(data), "wb", make_parents=False)


def _flat(model: Module, prefix: str = "") -> Iterator[tuple[str, Module]]:
    """The layers of a chain in order (nested chains flattened), with their dotted names."""
    if type(model).forward is not Sequential.forward or not isinstance(model, Sequential):
        raise ValueError(
            f"ONNX export handles Sequential chains of layers; got a {type(model).__name__} "
            "with its own forward"
        )
    for name, child in model.named_children():
        if isinstance(child, Sequential) and type(child).forward is Sequential.forward:
            yield from _flat(child, f"{prefix}{name}.")
        else:
            yield prefix + name, child


def _array(p: Any) -> np.ndarray:
    return np.asarray(to_numpy(p.data if hasattr(p, "data") else p), dtype=np.float32)


def _bn_scale_shift(bn: Module) -> tuple[np.ndarray, np.ndarray]:
    mean = np.asarray(to_numpy(bn.running_mean), np.float64)
    var = np.asarray(to_numpy(bn.running_var), np.float64)
    gamma = np.ones_like(mean) if bn.weight is None else _array(bn.weight).astype(np.float64)
    beta = np.zeros_like(mean) if bn.bias is None else _array(bn.bias).astype(np.float64)
    scale = gamma / np.sqrt(var + bn.eps)
    return scale, beta - scale * mean


def fold_batchnorm_arrays(
    weight: np.ndarray, bias: np.ndarray | None, bn: Module
) -> tuple[np.ndarray, np.ndarray]:
    """``(W', b')`` of a ``Linear``/``Conv2d`` followed by ``bn`` (see the module docstring)."""
    scale, shift = _bn_scale_shift(bn)
    w = weight.astype(np.float64) * scale.reshape(-1, *([1] * (weight.ndim - 1)))
    b = np.zeros(weight.shape[0]) if bias is None else bias.astype(np.float64)
    return w.astype(np.float32), (scale * b + shift).astype(np.float32)


def export_onnx(
    model: Module,
    input_shape: Sequence[int],
    path: str | os.PathLike,
    *,
    opset: int = OPSET,
    preprocess: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` (eval mode) as an ONNX file whose input is ``(N, *input_shape)`` float32.

    Parameters
    ----------
    model : Sequential
        An MLP, CNN or ResNet chain: ``Linear``, ``Conv2d``, ``BatchNorm1d/2d``,
        ``MaxPool2d``, ``AvgPool2d``, ``GlobalAvgPool2d``, ``Flatten``,
        ``ReLU``, ``LeakyReLU``, ``Tanh``, ``Sigmoid``, ``Dropout``,
        ``BasicBlock``; pruned (masked) or physically shrunk.
    input_shape : sequence of int
        One sample's shape, e.g. ``(1, 28, 28)`` or ``(784,)``; the batch axis is free (``"N"``).
    path : str or path-like
        The ``.onnx`` file, written atomically.
    opset : int, default 17
    preprocess : dict, optional
        What the data loader did to the raw features (``{"mean", "std"}``, see
        :mod:`nnprune.data.preprocess`; a checkpoint keeps it in its
        architecture): written as ``Sub`` and ``Div`` nodes in front of the
        first layer, so the file takes raw samples, as ``nnprune evaluate`` does.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ImportError
        Without the ``onnx`` package (``pip install 'nnprune[onnx]'``).
    ValueError
        For a layer ONNX export does not handle (named in the message).
    """
    _import_onnx()  # the clear error when the onnx extra is missing
    from onnx import TensorProto, helper, numpy_helper

    from ..nn import (
        AvgPool2d,
        BasicBlock,
        BatchNorm1d,
        BatchNorm2d,
        Conv2d,
        Dropout,
        Flatten,
        GlobalAvgPool2d,
        LeakyReLU,
        Linear,
        MaxPool2d,
        ReLU,
        Sigmoid,
        Tanh,
    )

    nodes: list[Any] = []
    inits: list[Any] = []

    def out(name: str) -> str:
        return f"{name}_out"

    def init(name: str, array: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def emit(layers: list[tuple[str, Module]], current: str) -> str:
        """Append the nodes of a chain of layers reading ``current``; return its output."""
        i = 0
        while i < len(layers):
            name, layer = layers[i]
            nxt = layers[i + 1][1] if i + 1 < len(layers) else None
            tag = name.replace(".", "_")
            if isinstance(layer, Linear | Conv2d):
                w = _array(layer.weight)
                b = None if layer.bias is None else _array(layer.bias)
                folded = isinstance(nxt, BatchNorm1d | BatchNorm2d)
                if folded:
                    w, b = fold_batchnorm_arrays(w, b, nxt)
                if b is None:
                    b = np.zeros(w.shape[0], np.float32)
                inputs = [current, init(f"{tag}.weight", w), init(f"{tag}.bias", b)]
                if isinstance(layer, Linear):
                    nodes.append(helper.make_node("Gemm", inputs, [out(tag)], name=tag, transB=1))
                else:
                    ph, pw = layer.padding
                    nodes.append(
                        helper.make_node(
                            "Conv",
                            inputs,
                            [out(tag)],
                            name=tag,
                            kernel_shape=list(layer.kernel_size),
                            strides=list(layer.stride),
                            pads=[ph, pw, ph, pw],
                        )
                    )
                current = out(tag)
                i += 2 if folded else 1
                continue
            if isinstance(layer, BasicBlock):
                # relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), BatchNorms folded
                main = [(f"{name}.{n}", getattr(layer, n)) for n in ("conv1", "bn1", "relu")]
                main += [(f"{name}.{n}", getattr(layer, n)) for n in ("conv2", "bn2")]
                branch = emit(main, current)
                shortcut = current
                if layer.downsample is not None:
                    shortcut = emit(list(_flat(layer.downsample, f"{name}.downsample.")), current)
                nodes.append(helper.make_node("Add", [branch, shortcut], [f"{tag}_sum"]))
                nodes.append(helper.make_node("Relu", [f"{tag}_sum"], [out(tag)], name=tag))
            elif isinstance(layer, BatchNorm1d | BatchNorm2d):
                scale, shift = _bn_scale_shift(layer)
                c = scale.shape[0]
                inputs = [
                    current,
                    init(f"{tag}.scale", scale.astype(np.float32)),
                    init(f"{tag}.shift", shift.astype(np.float32)),
                    init(f"{tag}.zero", np.zeros(c, np.float32)),
                    init(f"{tag}.one", np.ones(c, np.float32)),
                ]
                nodes.append(
                    helper.make_node(
                        "BatchNormalization", inputs, [out(tag)], name=tag, epsilon=0.0
                    )
                )
            elif isinstance(layer, MaxPool2d | AvgPool2d):
                ph, pw = layer.padding
                op = "MaxPool" if isinstance(layer, MaxPool2d) else "AveragePool"
                extra = {} if op == "MaxPool" else {"count_include_pad": 1}
                nodes.append(
                    helper.make_node(
                        op,
                        [current],
                        [out(tag)],
                        name=tag,
                        kernel_shape=list(layer.kernel_size),
                        strides=list(layer.stride),
                        pads=[ph, pw, ph, pw],
                        **extra,
                    )
                )
            elif isinstance(layer, GlobalAvgPool2d):
                nodes.append(helper.make_node("GlobalAveragePool", [current], [f"{tag}_pool"]))
                nodes.append(helper.make_node("Flatten", [f"{tag}_pool"], [out(tag)], axis=1))
            elif isinstance(layer, Flatten):
                if layer.start_dim != 1:
                    raise ValueError(f"ONNX export: Flatten {name!r} must have start_dim=1")
                nodes.append(helper.make_node("Flatten", [current], [out(tag)], name=tag, axis=1))
            elif isinstance(layer, ReLU | Tanh | Sigmoid):
                op = {ReLU: "Relu", Tanh: "Tanh", Sigmoid: "Sigmoid"}[type(layer)]
                nodes.append(helper.make_node(op, [current], [out(tag)], name=tag))
            elif isinstance(layer, LeakyReLU):
                nodes.append(
                    helper.make_node(
                        "LeakyRelu", [current], [out(tag)], name=tag, alpha=layer.negative_slope
                    )
                )
            elif isinstance(layer, Dropout):
                i += 1
                continue
            else:
                raise ValueError(
                    f"ONNX export does not handle layer {name!r} ({type(layer).__name__}); it "
                    "exports Linear, Conv2d, BatchNorm, pooling, Flatten, activations, Dropout, "
                    "BasicBlock"
                )
            current = out(tag)
            i += 1
        return current

    current = "input"
    if preprocess is not None:
        from ..data.preprocess import preprocess_arrays

        shape = tuple(int(s) for s in input_shape)
        mean, std = preprocess_arrays(preprocess, int(np.prod(shape)))
        # per-feature statistics shaped like one sample; the batch axis broadcasts
        mean_t = mean.reshape(shape) if mean.ndim else mean
        std_t = std.reshape(shape) if std.ndim else std
        nodes.append(
            helper.make_node("Sub", ["input", init("preprocess_mean", _array(mean_t))], ["centred"])
        )
        nodes.append(
            helper.make_node("Div", ["centred", init("preprocess_std", _array(std_t))], ["scaled"])
        )
        current = "scaled"
    current = emit(list(_flat(model)), current)
    nodes.append(helper.make_node("Identity", [current], ["output"]))
    graph = helper.make_graph(
        nodes,
        "nnprune",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", *input_shape])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", None])],
        initializer=inits,
    )
    return _save_model(graph, path, opset)


__all__ = ["OPSET", "export_onnx", "fold_batchnorm_arrays"]
