r"""The book's sections, with their Chinese titles, for lesson and exercise headings.

nnprune is the runnable companion of 《基于稀疏性的神经网络剪枝优化》
("Sparsity-based neural network pruning optimisation"). Most of its readers read
Chinese, so every lesson heading, exercise and printed section title names a
section the way the book does: its number, its own Chinese title, then the English.

>>> from nnprune.book import heading
>>> heading("4.2")
'§4.2 基于稀疏度的优化算法 — sparsity-driven optimisation algorithms (ADMM, IRLS, Lasso)'

The table is data, nothing else: no code in the library depends on it except
the headings that lessons, exercises and tests print.
"""

from __future__ import annotations

from typing import NamedTuple


class Section(NamedTuple):
    """One book section: ``number`` ("4.2", "C"), Chinese ``zh`` and English ``en`` titles."""

    number: str
    zh: str
    en: str


SECTIONS: tuple[Section, ...] = (
    Section("1", "神经网络基础", "neural-network basics"),
    Section("1.1", "神经网络概述", "overview of neural networks"),
    Section("1.2", "神经网络结构", "network structures"),
    Section("1.3", "剪枝对神经网络性能的影响", "effect of pruning on performance"),
    Section("2", "稀疏性与神经网络", "sparsity and neural networks"),
    Section("2.1", "稀疏性的概念", "the concept of sparsity"),
    Section("2.2", "稀疏性在神经网络中的重要性", "why sparsity matters in neural networks"),
    Section("2.3", "稀疏性与神经网络性能的关系", "sparsity and network performance"),
    Section("3", "神经网络剪枝方法", "pruning methods"),
    Section("3.1", "传统剪枝方法", "traditional pruning"),
    Section("3.2", "基于稀疏性的剪枝方法", "sparsity-based pruning"),
    Section("3.3", "剪枝方法的比较与评估", "comparing and evaluating methods"),
    Section("4", "稀疏性优化算法", "sparsity optimisation algorithms"),
    Section("4.1", "稀疏性优化的目标函数", "the objective function"),
    Section(
        "4.2", "基于稀疏度的优化算法", "sparsity-driven optimisation algorithms (ADMM, IRLS, Lasso)"
    ),
    Section("4.3", "基于梯度敏感性的优化算法", "gradient-sensitivity algorithms (GSP, AGSP, GSAP)"),
    Section("5", "剪枝算法实现", "implementing pruning"),
    Section("5.1", "剪枝算法的流程", "the pruning pipeline"),
    Section("5.2", "剪枝算法的参数调优", "tuning the pruning parameters"),
    Section("5.3", "剪枝算法的代码实现", "the pruning code"),
    Section("6", "稀疏性剪枝优化在项目中的应用", "applications"),
    Section("6.1", "稀疏性剪枝优化在图像识别中的应用", "image recognition"),
    Section("6.2", "稀疏性剪枝优化在自然语言处理中的应用", "natural language processing"),
    Section("6.3", "稀疏性剪枝优化在语音识别中的应用", "speech recognition"),
    Section("7", "神经网络剪枝优化案例研究", "case studies"),
    Section("7.1", "案例一：图像识别任务中的剪枝优化", "case 1: pruning for image recognition"),
    Section("7.2", "案例二：自然语言处理任务中的剪枝优化", "case 2: pruning for NLP"),
    Section("7.3", "案例三：语音识别任务中的剪枝优化", "case 3: pruning for speech recognition"),
    Section("8", "总结与展望", "summary and outlook"),
    Section("8.1", "神经网络剪枝优化的发展趋势", "trends"),
    Section("8.2", "未来研究的方向", "future directions"),
    Section("8.3", "剪枝优化在工业界的应用前景", "industrial outlook"),
    Section("A", "常见神经网络剪枝工具与资源", "tools and resources"),
    Section("B", "神经网络剪枝优化伪代码示例", "pseudocode examples"),
    Section("C", "神经网络剪枝优化项目实战", "hands-on project"),
)

_BY_NUMBER = {s.number: s for s in SECTIONS}


def section(number: str) -> Section:
    """Return the book section numbered ``number`` (``"4.2"``, ``"8"``, ``"C"``).

    Raises
    ------
    ValueError
        If the book has no such section.
    """
    key = str(number).removeprefix("§").strip()
    if key not in _BY_NUMBER:
        raise ValueError(
            f"number must be one of the book's sections {sorted(_BY_NUMBER)}, got {number!r}"
        )
    return _BY_NUMBER[key]


def heading(number: str, detail: str = "") -> str:
    """The heading for a section: ``"§4.2 基于稀疏度的优化算法 — sparsity-driven ..."``.

    Parameters
    ----------
    number : str
        The section number, e.g. ``"4.2"``, or an appendix letter.
    detail : str, optional
        Appended after a colon, for what the lesson does in that section.
    """
    s = section(number)
    text = f"§{s.number} {s.zh} — {s.en}"
    return f"{text}: {detail}" if detail else text
