"""Reliability, measured: hostile files, kills during saves, a comparison that loses workers.

Three parts, each printing the figures the README's "Reliability" section quotes:

1. **Bad inputs.** Hand-made hostile files (CIFAR pickles asking for terabytes,
   IDX headers that wrap, WAV files with 0 channels, sparse files whose metadata
   lies, ...) and seeded random corruptions of valid files of every format
   nnprune reads (checkpoint, sparse ``.npz``, CIFAR pickle, IDX, WAV, AG News CSV,
   pruning log). Each is read once; the outcome is one of *loaded* (the
   corruption was harmless, e.g. in a pixel), *clear error* (``ValueError`` /
   ``OSError`` naming the file) or *other* (anything else: a bug).
2. **Kill during save.** A child process saves a pruned checkpoint in a loop and
   is SIGKILLed at a random moment; the checkpoint must still load, and the next
   save must remove the temporary file the killed writer left.
3. **A comparison that fails.** ``compare`` with two injected faults (a method
   that raises, a method whose worker is SIGKILLed), then ``resume=True`` after
   fixing them: every other run must finish the first time, and the second run
   must run only the failed ones.
4. **Trust.** The hostile inputs and faults of the trust issue
   (``benchmarks/_trust_cases.py``): checkpoints naming ``os:system``,
   ``subprocess:call`` or a local module, an export checked against the model,
   bad data, two writers on one folder, former tracebacks, PyTorch attention
   names, documented behaviour. Each case is *loaded, same result*, *clear
   error* (the expected one-line message) or something else, counted as *code
   execution* (a marker file appeared), *silent wrong result*, *hang* (more than
   60 s) or *traceback* (another exception or message). The forged-grade cases are
   the cheating student files of ``tests/_cheating_students.py`` (each answers wrongly):
   *FAIL* when the grader refuses them, *false PASS* when it is fooled.

For part 1, a corrupted file that still loads is compared with the original:
*loaded, same result* (the corruption hit bytes that carry no data), or
*loaded, changed*; the latter is a silent wrong result for the ``.npz``
formats (their zip members carry a CRC-32) and is counted apart for the
formats without any checksum (IDX, WAV, CSV, pickle, JSON), where a changed
pixel or sample is a valid file.

Run::

    python benchmarks/bench_reliability.py            # ~2 minutes on 2 busy cores
    python benchmarks/bench_reliability.py --quick    # fewer trials and mutations
    python benchmarks/bench_reliability.py --only trust   # part 4 alone
"""

from __future__ import annotations

import argparse
import io as pyio
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nnprune import io, nn, prune, sparse  # noqa: E402
from nnprune.data.audio import read_wav  # noqa: E402
from nnprune.data.cifar import read_cifar_python  # noqa: E402
from nnprune.data.idx import load_mnist, read_idx  # noqa: E402
from nnprune.data.text import read_ag_news  # noqa: E402
from nnprune.prune.log import PruningLog  # noqa: E402


# ----------------------------------------------------------------- 1. bad inputs
def _model() -> nn.Module:
    model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 4))
    prune.global_unstructured(
        [(model[0], "weight"), (model[2], "weight")], prune.L1Unstructured, amount=200
    )
    return model


def _valid_files(folder: Path) -> dict[str, tuple[Path, object]]:
    """One valid file per format, and the function that reads it."""
    import scipy.io.wavfile

    files: dict[str, tuple[Path, object]] = {}
    model = _model()
    io.save(model, folder / "model.npz")
    files["checkpoint (.npz)"] = (folder / "model.npz", io.load_state)
    sparse.save_sparse(model, folder / "sparse.npz")
    files["sparse (.npz)"] = (folder / "sparse.npz", sparse.load_sparse)
    data = np.random.default_rng(0).integers(0, 256, (3, 3072), dtype=np.uint8)
    (folder / "data_batch_1").write_bytes(
        pickle.dumps({b"data": data, b"labels": [1, 2, 3]}, protocol=2)
    )
    files["CIFAR pickle"] = (folder / "data_batch_1", read_cifar_python)
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    header = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in images.shape)
    (folder / "img-idx3-ubyte").write_bytes(header + images.tobytes())
    files["IDX"] = (folder / "img-idx3-ubyte", read_idx)
    scipy.io.wavfile.write(folder / "a.wav", 8000, (np.arange(400) % 50).astype(np.int16))
    files["WAV"] = (folder / "a.wav", read_wav)
    (folder / "train.csv").write_text('"1","a title","a, body"\n"3","t","b ""q"" c"\n')
    files["AG News CSV"] = (folder / "train.csv", read_ag_news)
    log = PruningLog()
    log.records = [{"parameter": "0.weight", "amount": 0.5, "pruned_after": 10, "total": 20}]
    log.to_json(folder / "log.json")
    files["pruning log (JSON)"] = (folder / "log.json", PruningLog.from_json)
    return files


def _same(a: object, b: object) -> bool:
    """Whether two loaded results are equal (arrays exactly, containers item by item)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "__dict__") and type(a) is type(b) and not isinstance(a, type):
        return _same(vars(a), vars(b))
    return bool(a == b)


CHECKSUMMED = ("checkpoint (.npz)", "sparse (.npz)")  # zip members carry a CRC-32


def _outcome(read, path: Path, reference: object = None, fmt: str = "") -> str:
    try:
        result = read(path)
    except (ValueError, OSError) as exc:  # ForbiddenPickleError is an UnpicklingError
        return "clear error" if str(path) in str(exc) or path.name in str(exc) else "other"
    except pickle.UnpicklingError as exc:
        return "clear error" if path.name in str(exc) else "other"
    except BaseException as exc:  # noqa: BLE001 - any other type is what we count
        return f"other ({type(exc).__name__})"
    if reference is None:
        return "loaded"
    if _same(result, reference):
        return "loaded, same result"
    if fmt in CHECKSUMMED:
        return "loaded, changed (silent wrong)"
    return "loaded, changed (no checksum)"


def _mutations(raw: bytes, gen: np.random.Generator, count: int) -> list[bytes]:
    """Seeded corruptions: truncations, byte flips, zeroed and 0xFF runs, inserted bytes."""
    out = []
    for i in range(count):
        data = bytearray(raw)
        kind = i % 4
        if kind == 0:
            data = data[: int(gen.integers(0, len(data)))]
        elif kind == 1:
            for pos in gen.integers(0, len(data), size=int(gen.integers(1, 4))):
                data[pos] ^= int(gen.integers(1, 256))
        elif kind == 2:
            pos = int(gen.integers(0, len(data)))
            data[pos : pos + 8] = bytes([0xFF if gen.random() < 0.5 else 0]) * 8
        else:
            pos = int(gen.integers(0, len(data)))
            data[pos:pos] = bytes(
                gen.integers(0, 256, size=int(gen.integers(1, 16)), dtype=np.uint8)
            )
        out.append(bytes(data))
    return out


def _hand_made(folder: Path) -> list[tuple[str, Path, object]]:
    """Hostile files built on purpose (each once a crash, a hang or silent garbage)."""
    cases = []

    def add(label: str, name: str, raw: bytes, read) -> None:
        path = folder / name
        path.write_bytes(raw)
        cases.append((label, path, read))

    rec = b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
    add(
        "pickle: _reconstruct of 8 TiB",
        "h1",
        b"\x80\x02" + rec + b"\x8a\x06\x00\x00\x00\x00\x00\x08\x85C\x01b\x87R.",
        read_cifar_python,
    )
    add(
        "pickle: _reconstruct, no BUILD",
        "h2",
        b"\x80\x02}(C\x04data" + rec + b"K\x00\x85C\x01b\x87RC\x06labels]u.",
        read_cifar_python,
    )
    add(
        "pickle: BINBYTES8 of 1 TB",
        "h3",
        b"\x80\x04\x8e" + (10**12).to_bytes(8, "little") + b"abc.",
        read_cifar_python,
    )
    add("pickle: memo index 2**32-1", "h4", b"\x80\x02K\x01r\xff\xff\xff\xff.", read_cifar_python)
    add(
        "pickle: protocol 5",
        "h5",
        pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": [0]}, protocol=5),
        read_cifar_python,
    )
    add(
        "pickle: object array",
        "h6",
        pickle.dumps({b"data": np.array([1], dtype=object), b"labels": [0]}, protocol=2),
        read_cifar_python,
    )
    add(
        "pickle: os.system",
        "h7",
        b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00trueq\x00\x85R.",
        read_cifar_python,
    )
    add(
        "IDX: 2**64 bytes (wraps in int64)",
        "h8",
        b"\x00\x00\x08\x04" + (65536).to_bytes(4, "big") * 4,
        read_idx,
    )
    add(
        "IDX: 255 dimensions",
        "h9",
        b"\x00\x00\x08\xff" + (1).to_bytes(4, "big") * 255 + b"\x00",
        read_idx,
    )
    wav = (folder / "a.wav").read_bytes()
    add("WAV: 0 channels", "h10.wav", wav[:22] + b"\x00\x00" + wav[24:], read_wav)
    add("WAV: cut inside fmt", "h11.wav", wav[:28], read_wav)
    add("WAV: data chunk cut short", "h12.wav", wav[:64], read_wav)
    add("CSV: unterminated quote", "h13.csv", b'"1","a","b\n"2","c","d"\n', read_ag_news)
    add("CSV: not UTF-8", "h14.csv", b'"1","\xff\xfe","b"\n', read_ag_news)
    header = pyio.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )
    buf = pyio.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("w.npy", header.getvalue())
    add(".npz member of 8 TB (checkpoint)", "h15.npz", buf.getvalue(), io.load_state)
    add(".npz member of 8 TB (sparse)", "h16.npz", buf.getvalue(), sparse.load_sparse)
    add("random bytes as a checkpoint", "h17.npz", bytes(range(256)) * 8, io.load_state)
    add(
        "log: nested 100000 deep", "h18.json", b"[" * 100_000 + b"]" * 100_000, PruningLog.from_json
    )
    add("log: not UTF-8", "h19.json", b"\xff\xfe[]", PruningLog.from_json)
    labels = folder / "mnist"
    labels.mkdir(exist_ok=True)
    imgs = np.zeros((2, 2, 2), np.uint8)
    (labels / "t10k-images-idx3-ubyte").write_bytes(
        bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in imgs.shape) + imgs.tobytes()
    )
    (labels / "t10k-labels-idx1-ubyte").write_bytes(
        bytes([0, 0, 8, 1]) + (2).to_bytes(4, "big") + bytes([1, 12])
    )
    cases.append(
        (
            "MNIST: label 12",
            labels / "t10k-labels-idx1-ubyte",
            lambda p: load_mnist(p.parent, train=False),
        )
    )
    return cases


def bad_inputs(mutations: int) -> dict[str, Counter]:
    results: dict[str, Counter] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        valid = _valid_files(folder)
        hand = Counter()
        for label, path, read in _hand_made(folder):
            outcome = _outcome(read, path)
            hand[outcome] += 1
            if outcome != "clear error":
                print(f"  hand-made {label}: {outcome}")
        results["hand-made hostile"] = hand
        gen = np.random.default_rng(12)
        for fmt, (path, read) in valid.items():
            assert _outcome(read, path) == "loaded", fmt
            reference = read(path)
            raw = path.read_bytes()
            counts = Counter()
            target = folder / ("mutant" + path.suffix)
            if fmt == "IDX":
                target = folder / "mutant-idx3-ubyte"
            for data in _mutations(raw, gen, mutations):
                target.write_bytes(data)
                counts[_outcome(read, target, reference, fmt)] += 1
            results[fmt] = counts
    return results


# ------------------------------------------------------------ 2. kill during save
_SAVER = """
import sys
sys.path.insert(0, {root!r})
from nnprune import io, nn
model = nn.Sequential(nn.Linear(1000, 1000), nn.Linear(1000, 1000))
print("ready", flush=True)
i = 0
while True:
    io.save(model, {target!r}, metadata={{"i": i}})
    i += 1
"""


def kill_during_save(trials: int) -> dict[str, int]:
    gen = np.random.default_rng(7)
    stats = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "m.npz"
        for _ in range(trials):
            child = subprocess.Popen(
                [sys.executable, "-c", _SAVER.format(root=str(ROOT), target=str(target))],
                stdout=subprocess.PIPE,
                text=True,
            )
            child.stdout.readline()
            time.sleep(float(gen.uniform(0.05, 1.5)))
            child.send_signal(signal.SIGKILL)
            child.wait()
            stats["trials"] += 1
            if target.exists():
                try:
                    io.load_state(target)
                    stats["checkpoint loads"] += 1
                except ValueError:
                    stats["checkpoint corrupt"] += 1
            else:
                stats["no checkpoint yet"] += 1
            left = [p for p in Path(tmp).iterdir() if p.name.endswith(".tmp")]
            stats["temporaries left by the kill"] += len(left)
            io.save(nn.Sequential(nn.Linear(2, 2)), target)  # the next save
            left = [p for p in Path(tmp).iterdir() if p.name.endswith(".tmp")]
            stats["temporaries after the next save"] += len(left)
    return dict(stats)


# ------------------------------------------------------- 3. a comparison that fails
def fails(ctx):
    raise RuntimeError("injected failure")


def dies(ctx):
    os.kill(os.getpid(), signal.SIGKILL)


def works(ctx):
    prune.to_sparsity(ctx.model, ctx.sparsity)
    ctx.retrain()


def failing_comparison(workers: int) -> dict[str, object]:
    from nnprune.experiments import compare, make_config, register
    from nnprune.experiments.compare import RUNS_FILE, read_runs

    register("fails")(fails)
    register("dies")(dies)
    config = make_config(
        {
            "compare": {
                "methods": ["random", "global_magnitude", "fails", "dies"],
                "sparsities": [0.5, 0.9],
                "seeds": [0, 1],
                "hidden": [32],
                "train_epochs": 2,
                "retrain_epochs": 1,
                "latency_repeats": 3,
            }
        }
    )
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        first = compare(config, out=out, workers=workers, progress=False)
        first_s = time.perf_counter() - start
        died = sum("died" in f["error"] for f in first.failures)
        raised = sum("injected failure" in f["error"] for f in first.failures)
        lines_first = len(read_runs(Path(out) / RUNS_FILE))
        register("fails")(works)
        register("dies")(works)
        start = time.perf_counter()
        second = compare(config, out=out, workers=workers, progress=False, resume=True)
        second_s = time.perf_counter() - start
        lines_second = len(read_runs(Path(out) / RUNS_FILE)) - lines_first
    grid = len(config.methods) * len(config.sparsities) * len(config.seeds)
    return {
        "grid runs": grid,
        "dense models": len(config.seeds),
        "first: rows kept": len(first.rows),
        "first: failed (raised)": raised,
        "first: failed (worker SIGKILLed)": died,
        "first: seconds": round(first_s, 1),
        "resume: runs executed": lines_second,
        "resume: rows in the results": len(second.rows),
        "resume: failures": len(second.failures),
        "resume: seconds": round(second_s, 1),
    }


# ------------------------------------------------------------------------ 4. trust
OUTCOMES = (
    "loaded, same result",
    "clear error",
    "FAIL",  # a forged grade refused
    "code execution",
    "false PASS",
    "silent wrong result",
    "hang",
    "traceback",
)


def _run_case(label: str, expected: str | None, run, tmp: Path) -> tuple[str, str]:
    """One case in ``tmp`` (also the current folder); its outcome and a note."""
    from _trust_cases import CLEAR, MARKER

    def alarm(signum, frame):
        raise TimeoutError("hang")

    old_cwd, old_handler = os.getcwd(), signal.signal(signal.SIGALRM, alarm)
    os.chdir(tmp)
    signal.alarm(60)
    try:
        result, note = run(tmp), ""
    except TimeoutError as exc:
        result, note = ("hang", "") if str(exc) == "hang" else ("error", exc)
    except BaseException as exc:  # noqa: BLE001 - what happened is what we count
        result, note = "error", exc
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old_handler)
        os.chdir(old_cwd)
    if (tmp / MARKER).exists():
        return "code execution", f"{MARKER} created"
    if result == "hang":
        return "hang", ""
    if result == "error":
        text = " ".join(str(note).split())
        ok = (
            expected is not None
            and isinstance(note, CLEAR)
            and expected in text
            and "\n" not in str(note).strip()
        )
        if ok:
            return "clear error", text
        return "traceback", f"{type(note).__name__}: {text[:160]}"
    if expected is not None:  # should have been refused
        return "silent wrong result", f"ran without the error {expected!r}"
    if result in ("fail", "pass"):  # a forged-grade case: what the grader said
        return ("FAIL", "") if result == "fail" else ("false PASS", "the grader was fooled")
    return ("loaded, same result", "") if result == "same" else ("silent wrong result", "")


def trust(verbose: bool) -> Counter:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import warnings

    from _trust_cases import EXPORT_ACCURACY, all_cases

    total = Counter()
    for group, cases in all_cases().items():
        counts = Counter()
        for label, expected, run in cases:
            with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outcome, note = _run_case(label, expected, run, Path(tmp))
            counts[outcome] += 1
            if verbose or outcome not in OUTCOMES[:3]:
                print(f"    {label:<52} {outcome}{': ' + note if note else ''}"[:99])
        total.update(counts)
        print(f"  {group:<26} " + ", ".join(f"{k}: {counts[k]}" for k in OUTCOMES if counts[k]))
    if EXPORT_ACCURACY:
        print(
            "  breast cancer, ONNX on raw rows: accuracy "
            f"{EXPORT_ACCURACY['onnx on raw rows']:.3f} (majority class "
            f"{EXPORT_ACCURACY['majority class']:.3f})"
        )
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", choices=["files", "kill", "compare", "trust"])
    parser.add_argument("--verbose", action="store_true", help="print every trust case")
    args = parser.parse_args()
    mutations = 40 if args.quick else 200
    trials = 5 if args.quick else 30

    if args.only in (None, "trust"):
        print("4. trust: the issue's hostile inputs and faults, forged grades included")
        start = time.perf_counter()
        total = trust(args.verbose)
        print(
            f"  {sum(total.values())} cases: " + ", ".join(f"{total[k]} {k}" for k in OUTCOMES[:3])
            + f" ({time.perf_counter() - start:.0f} s)"
        )
        print("  " + ", ".join(f"{total[k]} {k}" for k in OUTCOMES[3:]))
        if args.only:
            return
        print()
    if args.only not in (None, "files"):
        pass
    else:
        _files(mutations)
    if args.only in (None, "kill"):
        _kill(trials)
    if args.only in (None, "compare"):
        _compare(args.workers)


def _files(mutations: int) -> None:
    print(f"1. bad inputs ({mutations} seeded corruptions per format + hand-made files)")
    total = Counter()
    for fmt, counts in bad_inputs(mutations).items():
        total.update(counts)
        print(f"  {fmt:<19} " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    print(f"  {'all':<19} " + ", ".join(f"{k}: {v}" for k, v in sorted(total.items())))


def _kill(trials: int) -> None:
    print(f"\n2. kill during save ({trials} trials, 8 MB checkpoint, SIGKILL at 0.05-1.5 s)")
    for key, value in kill_during_save(trials).items():
        print(f"  {key}: {value}")


def _compare(workers: int) -> None:
    print(f"\n3. comparison with a raising method and a SIGKILLed worker ({workers} workers)")
    for key, value in failing_comparison(workers).items():
        print(f"  {key}: {value}")


if __name__ == "__main__":
    main()
