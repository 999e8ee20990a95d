r"""Parameter counts of the book's §7 models from their architecture descriptions (no weights).

An architecture is described as a list of :class:`LayerSpec` (kind and shape only), and
:func:`count_parameters` adds up each layer's count:

.. math::

    \text{Conv2d}(c_{in}, c_{out}, k) &: c_{out}\,c_{in}\,k^2 + c_{out}\ (\text{bias}) \\
    \text{Linear}(n_{in}, n_{out}) &: n_{out}\,n_{in} + n_{out} \\
    \text{BatchNorm / LayerNorm}(C) &: 2C\ (\gamma, \beta;\ \text{running stats are buffers}) \\
    \text{Embedding}(V, D) &: V D .

Described here: VGG-16 (Simonyan & Zisserman 2015, configuration D, torchvision's
layout with 4096-wide classifier), ResNet-50 (He et al. 2016, bottleneck blocks
[3, 4, 6, 3], BatchNorm after every convolution, no conv biases) and BERT (Devlin et
al. 2019; base: L = 12, H = 768, A = 12, FFN 3072, WordPiece vocabulary 30,522, 512
positions, 2 segment types). BERT's count covers the encoder with its embeddings
(word, position, segment, embedding LayerNorm) and, with ``pooler=True``, the pooler
(a 768 x 768 Linear over the [CLS] token), i.e. what Hugging Face's ``BertModel``
holds; no task head and no masked-LM head. :func:`book_section7_check` compares
the book's §7 figures with each other and with these counts.

Book: §7 (corrected, see docs/errata.md#s7)
"""

from __future__ import annotations

from dataclasses import dataclass

from ..checks import check_bool, check_one_of, check_positive_int

__all__ = [
    "BOOK_SECTION7",
    "LayerSpec",
    "bert_spec",
    "book_section7_check",
    "count_parameters",
    "parameter_counts",
    "resnet50_spec",
    "vgg16_spec",
]

KINDS = ("conv2d", "linear", "batchnorm", "layernorm", "embedding")


@dataclass(frozen=True)
class LayerSpec:
    """One layer of an architecture description: its kind, shape and name (no weights).

    Attributes
    ----------
    kind : {"conv2d", "linear", "batchnorm", "layernorm", "embedding"}
    shape : tuple of int
        ``conv2d``: (in_channels, out_channels, kernel_size); ``linear``: (in_features,
        out_features); ``batchnorm``/``layernorm``: (features,); ``embedding``:
        (num_embeddings, embedding_dim).
    bias : bool
        Whether a conv or linear layer has a bias (ignored for the others).
    name : str
    """

    kind: str
    shape: tuple[int, ...]
    bias: bool = True
    name: str = ""

    def __post_init__(self) -> None:
        check_one_of("kind", self.kind, KINDS)
        want = {"conv2d": 3, "linear": 2, "batchnorm": 1, "layernorm": 1, "embedding": 2}
        if len(self.shape) != want[self.kind]:
            raise ValueError(
                f"shape of a {self.kind} layer must have {want[self.kind]} ints, got {self.shape}"
            )
        for s in self.shape:
            check_positive_int("shape", s)

    @property
    def num_parameters(self) -> int:
        """The layer's parameter count (formulas in the module docstring)."""
        if self.kind == "conv2d":
            cin, cout, k = self.shape
            return cout * cin * k * k + (cout if self.bias else 0)
        if self.kind == "linear":
            nin, nout = self.shape
            return nout * nin + (nout if self.bias else 0)
        if self.kind in ("batchnorm", "layernorm"):
            return 2 * self.shape[0]
        return self.shape[0] * self.shape[1]


def count_parameters(spec: list[LayerSpec]) -> int:
    """Total parameter count of an architecture description.

    Book: §7
    """
    if not all(isinstance(s, LayerSpec) for s in spec):
        raise ValueError("spec must be a list of LayerSpec")
    return sum(s.num_parameters for s in spec)


def vgg16_spec(num_classes: int = 1000) -> list[LayerSpec]:
    """VGG-16 (configuration D) for 224 x 224 RGB input: 13 conv 3x3 + 3 Linear.

    Book: §7.1 (the 138M parameters the book gives ResNet-50 are VGG-16's)
    """
    num_classes = check_positive_int("num_classes", num_classes)
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    spec, cin = [], 3
    for v in cfg:
        if v == "M":
            continue
        spec.append(LayerSpec("conv2d", (cin, v, 3), name=f"conv{len(spec) + 1}"))
        cin = v
    spec += [
        LayerSpec("linear", (512 * 7 * 7, 4096), name="fc6"),  # after 5 poolings: 7 x 7
        LayerSpec("linear", (4096, 4096), name="fc7"),
        LayerSpec("linear", (4096, num_classes), name="fc8"),
    ]
    return spec


def resnet50_spec(num_classes: int = 1000) -> list[LayerSpec]:
    """ResNet-50: stem conv 7x7 + BN, bottleneck stages [3, 4, 6, 3], Linear 2048 -> classes.

    Each bottleneck is 1x1 (width), 3x3 (width), 1x1 (4 * width), each followed by
    BatchNorm, convolutions without bias; the first block of a stage adds a 1x1
    projection + BN on the shortcut.

    Book: §7.1
    """
    num_classes = check_positive_int("num_classes", num_classes)
    spec = [
        LayerSpec("conv2d", (3, 64, 7), bias=False, name="conv1"),
        LayerSpec("batchnorm", (64,), name="bn1"),
    ]
    cin = 64
    stages = zip((64, 128, 256, 512), (3, 4, 6, 3), strict=True)
    for stage, (width, blocks) in enumerate(stages, start=1):
        for block in range(blocks):
            p = f"layer{stage}.{block}"
            cout = 4 * width
            spec += [
                LayerSpec("conv2d", (cin, width, 1), bias=False, name=f"{p}.conv1"),
                LayerSpec("batchnorm", (width,), name=f"{p}.bn1"),
                LayerSpec("conv2d", (width, width, 3), bias=False, name=f"{p}.conv2"),
                LayerSpec("batchnorm", (width,), name=f"{p}.bn2"),
                LayerSpec("conv2d", (width, cout, 1), bias=False, name=f"{p}.conv3"),
                LayerSpec("batchnorm", (cout,), name=f"{p}.bn3"),
            ]
            if block == 0:
                spec += [
                    LayerSpec("conv2d", (cin, cout, 1), bias=False, name=f"{p}.downsample.0"),
                    LayerSpec("batchnorm", (cout,), name=f"{p}.downsample.1"),
                ]
            cin = cout
    spec.append(LayerSpec("linear", (2048, num_classes), name="fc"))
    return spec


def bert_spec(
    size: str = "base",
    *,
    vocab_size: int = 30522,
    max_position: int = 512,
    type_vocab_size: int = 2,
    pooler: bool = True,
) -> list[LayerSpec]:
    """BERT encoder (``size`` "base": 12 x 768, FFN 3072; "large": 24 x 1024, FFN 4096).

    Embeddings (word, position, segment, LayerNorm), per layer: Q, K, V and output
    projections (Linear H -> H with bias), LayerNorm, FFN H -> 4H -> H, LayerNorm;
    then the pooler (Linear H -> H) if ``pooler``. No task or language-model head.

    Book: §7.2 (the book's "BERT, 300M parameters")
    """
    size = check_one_of("size", size, ("base", "large"))
    vocab_size = check_positive_int("vocab_size", vocab_size)
    max_position = check_positive_int("max_position", max_position)
    type_vocab_size = check_positive_int("type_vocab_size", type_vocab_size)
    pooler = check_bool("pooler", pooler)
    layers, hidden, ffn = (12, 768, 3072) if size == "base" else (24, 1024, 4096)
    spec = [
        LayerSpec("embedding", (vocab_size, hidden), name="embeddings.word"),
        LayerSpec("embedding", (max_position, hidden), name="embeddings.position"),
        LayerSpec("embedding", (type_vocab_size, hidden), name="embeddings.token_type"),
        LayerSpec("layernorm", (hidden,), name="embeddings.LayerNorm"),
    ]
    for i in range(layers):
        p = f"encoder.layer.{i}"
        spec += [LayerSpec("linear", (hidden, hidden), name=f"{p}.attention.{n}") for n in "qkvo"]
        spec += [
            LayerSpec("layernorm", (hidden,), name=f"{p}.attention.LayerNorm"),
            LayerSpec("linear", (hidden, ffn), name=f"{p}.intermediate"),
            LayerSpec("linear", (ffn, hidden), name=f"{p}.output"),
            LayerSpec("layernorm", (hidden,), name=f"{p}.output.LayerNorm"),
        ]
    if pooler:
        spec.append(LayerSpec("linear", (hidden, hidden), name="pooler"))
    return spec


def parameter_counts() -> dict[str, int]:
    """Counts of the described models: VGG-16, ResNet-50, BERT-base and BERT-large (pooler in).

    Book: §7
    """
    return {
        "VGG-16": count_parameters(vgg16_spec()),
        "ResNet-50": count_parameters(resnet50_spec()),
        "BERT-base": count_parameters(bert_spec("base")),
        "BERT-large": count_parameters(bert_spec("large")),
    }


# The book's §7 figures: (section, model named, params before, params after,
# accuracy before %, after %, "compute efficiency +%", "storage +%").
BOOK_SECTION7 = (
    ("7.1", "ResNet-50", 138_000_000, 20_000_000, 75, 78, 60, 70),
    ("7.2", "BERT", 300_000_000, 50_000_000, 90, 92, 50, 60),
    ("7.3", "C5B (CNN+RNN)", 500_000_000, 100_000_000, 85, 87, 40, 50),
)


def book_section7_check() -> list[dict[str, object]]:
    r"""Check the book's §7 numbers against each other and against computed counts.

    For each case: the parameter reduction the book's own numbers imply,
    :math:`1 - P_{after}/P_{before}`; what storage would fall by if the pruned model is
    stored dense-shrunk (the same fraction) or in CSR with 32-bit values and 32-bit
    column indices (:math:`1 - 2P_{after}/P_{before}`, row pointers ignored); the
    compute speed-up :math:`P_{before}/P_{after}` if FLOPs scale with the kept
    weights; the book's claimed storage and compute figures; and the real parameter
    count of the model the book names, where one exists.

    Returns
    -------
    list of dict
        One per case, keys ``section``, ``model``, ``params_before``, ``params_after``,
        ``param_reduction_pct``, ``storage_cut_dense_pct``, ``storage_cut_csr_pct``,
        ``speedup_if_flops_follow_params``, ``book_compute_gain_pct``,
        ``book_storage_gain_pct``, ``consistent`` (whether the book's storage figure
        equals the parameter reduction to within 5 points) and ``named_model_params``
        (the computed count of the named model, or None for "C5B", no known model).

    Book: §7 (corrected, see docs/errata.md#s7)
    """
    counts = parameter_counts()
    named = {"7.1": counts["ResNet-50"], "7.2": counts["BERT-base"], "7.3": None}
    rows = []
    for sec, model, before, after, _acc0, _acc1, compute, storage in BOOK_SECTION7:
        cut = 100.0 * (1.0 - after / before)
        rows.append(
            {
                "section": sec,
                "model": model,
                "params_before": before,
                "params_after": after,
                "param_reduction_pct": cut,
                "storage_cut_dense_pct": cut,
                "storage_cut_csr_pct": 100.0 * (1.0 - 2.0 * after / before),
                "speedup_if_flops_follow_params": before / after,
                "book_compute_gain_pct": compute,
                "book_storage_gain_pct": storage,
                "consistent": abs(cut - storage) <= 5.0,
                "named_model_params": named[sec],
            }
        )
    return rows
