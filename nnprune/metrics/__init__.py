"""Metrics: weight, connection and activation sparsity; size, FLOPs, bytes; a per-layer table.

Size and FLOPs follow ShrinkBench's definitions (Blalock et al., MLSys 2020):
``model_size -> (size, size_nz)``, ``flops -> (flops, flops_nz)``,
``compression_ratio = size / size_nz``, ``theoretical_speedup = flops / flops_nz``.

Book: §1.3, §2.1, §3.2.
"""

from .architectures import (
    LayerSpec,
    bert_spec,
    book_section7_check,
    count_parameters,
    parameter_counts,
    resnet50_spec,
    vgg16_spec,
)
from .flops import FLOP_RULES, flops, layer_flops, theoretical_speedup
from .latency import Latency, blas_threads, measure_latency
from .size import compression_ratio, model_bytes, model_size
from .sparsity import (
    activation_sparsity,
    connection_sparsity,
    count_zeros,
    counted_parameters,
    density,
    layer_sparsity,
    model_sparsity,
    parameter_sparsity,
    sparsity,
    zero_inputs,
    zero_outputs,
)
from .table import format_table, layer_table
from .vocabulary import format_size, original_size, size_report

__all__ = [
    "FLOP_RULES",
    "Latency",
    "LayerSpec",
    "activation_sparsity",
    "bert_spec",
    "blas_threads",
    "book_section7_check",
    "compression_ratio",
    "connection_sparsity",
    "count_parameters",
    "count_zeros",
    "counted_parameters",
    "density",
    "flops",
    "format_size",
    "format_table",
    "layer_flops",
    "layer_sparsity",
    "layer_table",
    "measure_latency",
    "model_bytes",
    "model_size",
    "model_sparsity",
    "original_size",
    "parameter_counts",
    "parameter_sparsity",
    "resnet50_spec",
    "size_report",
    "sparsity",
    "theoretical_speedup",
    "vgg16_spec",
    "zero_inputs",
    "zero_outputs",
]
