r"""One-shot pruning of a tiny causal language model: magnitude, Wanda and SparseGPT.

A character-level causal Transformer (``nnprune.models_lm.CharTransformerLM``:
width 64, 2 pre-norm blocks of 4 heads, feed-forward 256, context 64, about
117,000 weights) is trained on the ``pydoc_data.topics`` help texts
(``nnprune.data.pydoc_corpus``, split by topic, seed 0) with AdamW, or loaded
from ``--checkpoint`` when that file exists (it is written after training).
Then every ``Linear`` of its blocks is pruned without retraining, block by
block (``nnprune.prune.prune_oneshot``), at 50% unstructured and at 2:4:

* magnitude (per layer, no calibration data);
* Wanda (Sun et al. 2023) and SparseGPT (Frantar & Alistarh 2023), each with
  ``--calib`` calibration windows of 64 characters drawn from the training text,
  for three calibration samplings (seeds 0, 1, 2).

SparseGPT's block size is also the width of its adaptive mask selection. The
papers' 128 is 1/32 of a 4096-wide layer; here most layers have 64 inputs, so
128 would choose each whole mask at once, before any update. Unless
``--blocksize`` is given, the benchmark tries 4, 8, ..., 128 at 50% on the
first calibration sampling and keeps the one with the lowest calibration
reconstruction error (SparseGPT's own objective; the validation perplexity of
each is printed beside it, not used). Damping is the papers' 0.01.

The table gives the validation perplexity (every validation character scored
once, in windows of 64) and bits per character. Targets (the issue's, from the
papers' LLaMA results): at 50%, Wanda and SparseGPT each raise perplexity by
less than half of what magnitude adds; at 2:4, SparseGPT <= Wanda (means over
the samplings).

Run::

    python benchmarks/bench_llm_pruning.py                        # trains, then prunes
    python benchmarks/bench_llm_pruning.py --checkpoint lm.npz    # reuse a trained model
    python benchmarks/bench_llm_pruning.py --quick                # seconds, no verdict

BLAS runs on one thread (``--threads``): these matrices are small, and on a
shared machine more threads lose time. The training line gives both the wall time and the
process's CPU time: on a loaded machine the first grows, the second does not.

M. Sun, Z. Liu, A. Bair, J. Z. Kolter, arXiv:2306.11695, 2023. E. Frantar,
D. Alistarh, ICML 2023 (arXiv:2301.00774).
"""

from __future__ import annotations

import argparse
import textwrap
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from nnprune import io, prune
from nnprune.data.pydoc_corpus import char_windows, load_pydoc_corpus
from nnprune.models_lm import CharTransformerLM, lm_perplexity, train_char_lm

ARCH = {"d_model": 64, "nhead": 4, "num_layers": 2, "dim_feedforward": 256, "context": 64}
QUICK_ARCH = {"d_model": 32, "nhead": 4, "num_layers": 2, "dim_feedforward": 64, "context": 32}
PATTERNS = {"50%": {"sparsity": 0.5}, "2:4": {"n": 2, "m": 4}}
SAMPLINGS = (0, 1, 2)
BLOCKS = (4, 8, 16, 32, 64, 128)  # SparseGPT mask-selection block sizes tried


def _model(arch: dict, vocab_size: int, state: dict | None = None) -> CharTransformerLM:
    model = CharTransformerLM(vocab_size, seed=0, **arch)
    if state is not None:
        model.load_state_dict(state)
    return model


def _train_or_load(args: argparse.Namespace, arch: dict, corpus) -> tuple[CharTransformerLM, str]:
    model = _model(arch, corpus.vocab_size)
    path = Path(args.checkpoint) if args.checkpoint else None
    if path is not None and path.exists():
        meta = io.load(model, path)
        return model, f"loaded {path} ({meta.get('how', '')})"
    start, cpu = time.perf_counter(), time.process_time()
    train_char_lm(model, corpus.train, steps=args.steps, batch_size=32, lr=3e-3, seed=args.seed)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    how = (
        f"trained {args.steps} steps of 32 x {arch['context']} chars in {seconds:.0f} s "
        f"({cpu:.0f} s of CPU time)"
    )
    if path is not None:
        io.save(model, path, {"how": how, "arch": arch})
    return model, how


def _input_norm_spread(
    model: CharTransformerLM, ids: np.ndarray, t: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Per distinct Linear input of the dense blocks: max_j ||X_j|| / median_j ||X_j||, and the
    share of the weights that Wanda's 50% mask and a per-row magnitude mask decide alike."""
    gen = np.random.default_rng(0)
    windows = ids[gen.integers(0, ids.size - t, size=64)[:, None] + np.arange(t)]  # (64, T)
    seen: dict[str, np.ndarray] = {}
    handles = []
    for b, block in enumerate(model.layers):
        for name in ("self_attn.q_proj", "self_attn.out_proj", "linear1", "linear2"):
            layer = block.get_submodule(name)
            key = f"{b}.{name.split('.')[-1]}"

            def hook(module, args, output, key=key):
                seen[key] = np.asarray(args[0], np.float64).reshape(-1, module.in_features)

            handles.append(layer.register_forward_hook(hook))
    model.eval()(windows)
    for handle in handles:
        handle.remove()
    spread, agree = {}, {}
    for key, x in seen.items():
        norms = np.linalg.norm(x, axis=0)
        spread[key] = float(norms.max() / np.median(norms))
        b, name = key.split(".")
        layer = model.layers[int(b)].get_submodule(
            {"q_proj": "self_attn.q_proj", "out_proj": "self_attn.out_proj"}.get(name, name)
        )
        w = np.asarray(layer.weight.data, np.float64)
        same = prune.wanda_mask(w, norms, 0.5) == prune.wanda_mask(w, np.ones_like(norms), 0.5)
        agree[key] = float(same.mean())
    return spread, agree


def _calibration(corpus, t: int, count: int, sampling: int) -> np.ndarray:
    """``count`` windows of ``t`` characters of the training text (seed 1000 + sampling)."""
    gen = np.random.default_rng(1000 + sampling)
    starts = gen.integers(0, corpus.train.size - t, size=count)
    return corpus.train[starts[:, None] + np.arange(t)]  # (count, T)


def _pick_blocksize(arch, corpus, state, calib, x_val, y_val) -> tuple[int, list[tuple]]:
    """SparseGPT at 50% with each block size of BLOCKS: the calibration error picks one.

    The block is also the width of SparseGPT's adaptive mask selection; the papers'
    128 is 1/32 of a 4096-wide layer, here wider than most layers (64 inputs), so
    the whole mask would be chosen at once. The choice uses the calibration data
    only (SparseGPT's own objective); the validation perplexity is printed beside it.
    """
    sweep = []
    for blocksize in BLOCKS:
        model = _model(arch, corpus.vocab_size, state)
        report = prune.prune_oneshot(model, calib, "sparsegpt", 0.5, blocksize=blocksize)
        error = float(np.mean([r["rel_error"] for r in report.values()]))
        sweep.append((blocksize, error, lm_perplexity(model, x_val, y_val)["perplexity"]))
    return min(sweep, key=lambda row: row[1])[0], sweep


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="training steps (default 2000)")
    parser.add_argument("--calib", type=int, default=128, help="calibration windows (128)")
    parser.add_argument("--checkpoint", default=None, help="load this .npz, or save to it")
    parser.add_argument(
        "--blocksize",
        type=int,
        default=None,
        help=f"SparseGPT block size (default: the one of {BLOCKS} with the lowest calibration "
        "error at 50%%, sampling 0)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a tiny model, seconds, no verdict")
    args = parser.parse_args(argv)
    arch = QUICK_ARCH if args.quick else ARCH
    if args.quick:
        args.steps, args.calib = 40, 16
    corpus = load_pydoc_corpus(val_fraction=0.1, seed=0)
    t = arch["context"]
    x_val, y_val = char_windows(corpus.val, t)
    if args.quick:
        x_val, y_val = x_val[:64], y_val[:64]
    with threadpool_limits(args.threads):
        dense, how = _train_or_load(args, arch, corpus)
        state = dense.state_dict()
        base = lm_perplexity(dense, x_val, y_val)
        rows = [{"method": "dense", "pattern": "-", "ppl": [base["perplexity"]]}]
        sweep: list[tuple] = []
        blocksize = args.blocksize
        if blocksize is None:
            calib = _calibration(corpus, t, args.calib, SAMPLINGS[0])
            blocksize, sweep = _pick_blocksize(arch, corpus, state, calib, x_val, y_val)
        for pattern, kwargs in PATTERNS.items():
            for method in ("magnitude", "wanda", "sparsegpt"):
                ppls, errors = [], []
                for sampling in SAMPLINGS[: 1 if method == "magnitude" else None]:
                    calib = _calibration(corpus, t, args.calib, sampling)
                    model = _model(arch, corpus.vocab_size, state)
                    report = prune.prune_oneshot(
                        model, calib, method, blocksize=blocksize, **kwargs
                    )
                    errors.append(np.mean([r["rel_error"] for r in report.values()]))
                    ppls.append(lm_perplexity(model, x_val, y_val)["perplexity"])
                rows.append(
                    {"method": method, "pattern": pattern, "ppl": ppls, "err": np.mean(errors)}
                )
        spread, agree = _input_norm_spread(dense, corpus.train, t)

    print(f"CharTransformerLM {arch}; {how}")
    print(
        f"validation: {len(x_val) * t} characters of {len(corpus.val_topics)} held-out topics; "
        f"calibration: {args.calib} windows x {t} chars; 3 samplings; "
        f"SparseGPT block {blocksize}, damping 0.01"
    )
    if sweep:
        print("SparseGPT block size at 50% (sampling 0): calibration error / validation ppl")
        print(
            textwrap.fill(
                ", ".join(f"{b}: {e:.4f} / {p:.3f}" for b, e, p in sweep),
                98,
                initial_indent="  ",
                subsequent_indent="  ",
            )
        )
    header = f"{'method':<11}{'pattern':<9}{'ppl (mean)':>11}{'min':>8}{'max':>8}"
    print(header + f"{'bits/char':>11}{'+ppl vs dense':>15}{'layer error':>13}")
    dense_ppl = base["perplexity"]
    for row in rows:
        ppl = np.array(row["ppl"])
        row["mean"] = float(ppl.mean())
        bpc = np.log2(row["mean"])
        print(
            f"{row['method']:<11}{row['pattern']:<9}{row['mean']:>11.3f}{ppl.min():>8.3f}"
            f"{ppl.max():>8.3f}{bpc:>11.3f}{row['mean'] - dense_ppl:>15.3f}"
            f"{row.get('err', 0.0):>13.4f}"
        )
    print("layer error: mean over the pruned layers of ||WX - W'X||^2 / ||WX||^2 (calibration)")
    print("input norms ||X_j||, largest / median (outliers are what Wanda uses beyond |W|):")
    print(
        textwrap.fill(
            ", ".join(f"{k} {v:.1f}" for k, v in spread.items()),
            98,
            initial_indent="  ",
            subsequent_indent="  ",
        )
    )
    print("share of weights where Wanda's 50% mask and per-row magnitude's mask agree:")
    print(
        textwrap.fill(
            ", ".join(f"{k} {v:.1%}" for k, v in agree.items()),
            98,
            initial_indent="  ",
            subsequent_indent="  ",
        )
    )
    mean = {(r["method"], r["pattern"]): r["mean"] for r in rows}
    added = {k: v - dense_ppl for k, v in mean.items()}
    verdicts = {
        "50%: Wanda adds < half of magnitude's increase": (
            added[("wanda", "50%")] < 0.5 * added[("magnitude", "50%")]
        ),
        "50%: SparseGPT adds < half of magnitude's increase": (
            added[("sparsegpt", "50%")] < 0.5 * added[("magnitude", "50%")]
        ),
        "2:4: SparseGPT <= Wanda": mean[("sparsegpt", "2:4")] <= mean[("wanda", "2:4")],
    }
    for name, ok in verdicts.items():
        verdict = "-" if args.quick else ("PASS" if ok else "FAIL")
        print(f"{verdict:<5} {name}")
    if not args.quick and not all(verdicts.values()):
        half = 0.5 * added[("magnitude", "50%")]
        print(
            textwrap.fill(
                f"Why a FAIL at this scale: the 50% targets need an increase below {half:.3f} "
                f"(half of magnitude's {2 * half:.3f}). Wanda's gain over magnitude comes from "
                "a few input features far larger than the rest, which large language models "
                "have; here the largest input norm of a layer is only "
                f"{min(spread.values()):.1f}-{max(spread.values()):.1f}x the median, so "
                "|W|*||X_j|| ranks nearly as |W| does within each row (masks agree on "
                f"{min(agree.values()):.0%}-{max(agree.values()):.0%} of the weights). "
                "SparseGPT's margin rests on its weight update and its adaptive mask, whose "
                "block must be narrower than the layer (block size line above).",
                100,
            )
        )
    return {
        "dense": base,
        "rows": rows,
        "verdicts": verdicts,
        "blocksize": blocksize,
        "sweep": sweep,
    }


if __name__ == "__main__":
    main()
