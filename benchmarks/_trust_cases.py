"""The hostile inputs and faults of the "trust" issue, each with the outcome it must have.

Used by ``bench_reliability.py`` (part 4). Every case is a function run in a scratch
folder that is also the current folder (so a payload that runs code leaves a marker file
there) and returns one of

* ``"same"``: it loaded or ran, and the result is the reference result (checked here);
* ``"wrong"``: it ran without a word and the result differs: a silent wrong result;

or raises. An exception whose type is in :data:`CLEAR` and whose one-line message
contains the case's expected text is a *clear error*; any other exception is a
*traceback* (a bug: the wrong type, or a message that does not say what happened).

The forged-grade cases (:func:`grading_cases`: cheating student files, each answering
wrongly) return ``"fail"`` when the grader says FAIL and ``"pass"`` when it is fooled (a
*false PASS*).
"""

from __future__ import annotations

import contextlib
import io as pyio
import json
import pickle
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nnprune import io, models, nn, optim, prune
from nnprune.cli import main as cli

CLEAR = (ValueError, TypeError, OSError, RuntimeError)
MARKER = "CODE_RAN"
Case = tuple[str, str | None, Callable[[Path], str]]  # label, expected error text, run


def _cli(argv: list[str]) -> None:
    """Run the CLI; raise ``ValueError(stderr)`` unless it exits 0 (its error is one line)."""
    err = pyio.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(pyio.StringIO()):
        code = cli(argv)
    text = err.getvalue()
    if code != 0:
        if text.count("\n") != 1:
            raise AssertionError(f"exit {code} with {text.count(chr(10))} lines of stderr")
        raise ValueError(text.strip())


# ------------------------------------------------------------------ model files (item 1)
def _checkpoint(path: Path, model: str, args: dict) -> Path:
    net = models.mlp((64, 8, 10), seed=0)
    arch = {"model": "mlp", "args": {"hidden": [8]}, "input_shape": [64], "num_classes": 10}
    io.save_model(net, path, arch)
    state, header = io.load_state(path)
    header["metadata"]["architecture"].update(model=model, args=args)
    arrays = io._encode(state)
    arrays[io.METADATA_KEY] = np.array(json.dumps(header))
    np.savez(path, **arrays)
    return path


EVILMOD = f"""
from pathlib import Path
Path({MARKER!r}).write_text("import")
def build(**kwargs):
    Path({MARKER!r}).write_text("build")
"""


def model_file_cases() -> list[Case]:
    cases: list[Case] = []
    payloads = [
        ("os:system", {"command": f"touch {MARKER}"}),
        ("subprocess:call", {"args": ["touch", MARKER]}),
        ("evilmod:build", {}),
    ]
    for model, args in payloads:
        for command in ("evaluate", "export", "prune"):

            def run(tmp: Path, model=model, args=args, command=command) -> str:
                (tmp / "evilmod.py").write_text(EVILMOD)
                path = _checkpoint(tmp / "m.npz", model, args)
                extra = {
                    "evaluate": ["--data", "digits"],
                    "export": ["--format", "csr", "--out", str(tmp / "o.npz")],
                    "prune": ["--method", "global_magnitude", "--sparsity", "0.5"],
                }[command]
                _cli([command, str(path), *extra])
                return "same"

            cases.append((f"checkpoint {model} -> {command}", "code that loading would run", run))
    for model, args in payloads[:2]:  # named again: the standard library is refused even so

        def named(tmp: Path, model=model, args=args) -> str:
            path = _checkpoint(tmp / "m.npz", model, args)
            _cli(["evaluate", str(path), "--model", model])
            return "same"

        cases.append((f"checkpoint {model}, --model {model}", "standard library", named))
    return cases


# ------------------------------------------------------------ export (item 3)
def _cancer_csv(tmp: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    names = [f"f{i}" for i in range(data.data.shape[1])]
    rows = [",".join([*names, "label"])]
    rows += [
        ",".join([*(repr(float(v)) for v in x), str(int(t))])
        for x, t in zip(data.data, data.target, strict=True)
    ]
    path = tmp / "cancer.csv"
    path.write_text("\n".join(rows) + "\n")
    return path, data.data.astype(np.float32), data.target


def export_case(tmp: Path) -> str:
    """ONNX on raw breast-cancer rows predicts what the checkpoint predicts."""
    import onnxruntime as ort

    from nnprune import commands
    from nnprune.data.preprocess import apply_preprocess

    csv, X, y = _cancer_csv(tmp)
    with contextlib.redirect_stdout(pyio.StringIO()):
        commands.train(str(csv), "mlp", {"hidden": [16]}, epochs=5, lr=0.05, batch_size=32,
                       seed=0, save=str(tmp / "m.npz"))  # fmt: skip
        commands.export(str(tmp / "m.npz"), format="onnx", out=str(tmp / "m.onnx"))
    model, header = io.load_checkpoint(tmp / "m.npz")
    pre = header["metadata"]["architecture"]["preprocess"]
    session = ort.InferenceSession(str(tmp / "m.onnx"), providers=["CPUExecutionProvider"])
    onnx_pred = session.run(None, {"input": X})[0].argmax(1)
    ours = model.eval()(apply_preprocess(X, pre)).argmax(1)
    EXPORT_ACCURACY["onnx on raw rows"] = float(np.mean(onnx_pred == y))
    EXPORT_ACCURACY["majority class"] = float(max(np.mean(y), 1 - np.mean(y)))
    return "same" if np.array_equal(onnx_pred, ours) else "wrong"


EXPORT_ACCURACY: dict[str, float] = {}


# ------------------------------------------------------------ bad data (item 4)
def _npz(tmp: Path, **over) -> Path:
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.standard_normal((30, 4)).astype(np.float32),
        "y_train": np.arange(30) % 3,
        "x_test": rng.standard_normal((9, 4)).astype(np.float32),
        "y_test": np.arange(9) % 3,
    }
    arrays.update(over)
    np.savez(tmp / "d.npz", **arrays)
    return tmp / "d.npz"


def _train_on(path: Path, *extra: str) -> str:
    _cli(["train", "--data", str(path), "--epochs", "1", "--hidden", "4", *extra])
    return "same"


def _with(values, where=(1, 2)):
    def make(shape):
        x = np.zeros(shape, np.float32)
        x[where] = values
        return x

    return make


def data_cases() -> list[Case]:
    def complex_x(tmp):
        return _train_on(_npz(tmp, x_train=np.ones((30, 4), np.complex64)))

    def inf_x(tmp):
        return _train_on(_npz(tmp, x_train=_with(np.inf)((30, 4))))

    def nan_test(tmp):
        return _train_on(_npz(tmp, x_test=_with(np.nan)((9, 4))))

    def label_1000(tmp):
        y = np.arange(30) % 3
        y[0] = 1000
        return _train_on(_npz(tmp, y_train=y))

    def float_labels(tmp):
        y = (np.arange(30) % 3).astype(np.float64)
        y[1] = 1.7
        return _train_on(_npz(tmp, y_train=y))

    def declared_classes(tmp):
        y = np.array([0, 1, 3] * 10)
        _train_on(_npz(tmp, y_train=y, y_test=np.array([0, 1, 3] * 3)), "--num-classes", "4")
        return "same"

    def nan_checkpoint(tmp):
        net = models.mlp((64, 8, 10), seed=0)
        for p in net.parameters():
            p.data[...] = np.nan
        arch = {"model": "mlp", "args": {"hidden": [8]}, "input_shape": [64], "num_classes": 10}
        io.save_model(net, tmp / "m.npz", arch)
        _cli(["evaluate", str(tmp / "m.npz"), "--data", "digits"])
        return "wrong"

    def cifar100(tmp):
        from nnprune.data.cifar import read_cifar_binary

        rng = np.random.default_rng(0)
        records = rng.integers(0, 256, (3073, 3074), dtype=np.uint8)
        records[:, 0], records[:, 1] = rng.integers(0, 20, 3073), rng.integers(0, 100, 3073)
        (tmp / "train.bin").write_bytes(records.tobytes())
        read_cifar_binary(tmp / "train.bin")
        return "wrong"

    def odd_wav(tmp):
        import scipy.io.wavfile

        from nnprune.data.audio import read_wav

        scipy.io.wavfile.write(tmp / "a.wav", 8000, np.arange(10, dtype=np.int16))
        raw = bytearray((tmp / "a.wav").read_bytes())
        pos = raw.index(b"data")
        raw[pos + 4 : pos + 8] = (21).to_bytes(4, "little")
        (tmp / "a.wav").write_bytes(bytes(raw) + b"\0")
        read_wav(tmp / "a.wav")
        return "wrong"

    def zero_train(tmp):
        return _train_on(_npz(tmp, x_train=np.zeros((0, 4), np.float32), y_train=np.zeros(0)))

    def member_1e12(tmp):
        header = pyio.BytesIO()
        np.lib.format.write_array_header_1_0(
            header, {"descr": "<f4", "fortran_order": False, "shape": (10**12, 16)}
        )
        with zipfile.ZipFile(tmp / "h.npz", "w") as zf:
            for k in ("x_train", "y_train", "x_test", "y_test"):
                zf.writestr(f"{k}.npy", header.getvalue())
        return _train_on(tmp / "h.npz")

    def inflating(tmp):
        """A 0.3 MB .npz unpacking to 0.3 GB, on a machine pretended to have 0.5 GB."""
        from nnprune.data import sources

        big = np.zeros((300, 250_000), np.float32)
        np.savez_compressed(tmp / "z.npz", x_train=big, y_train=np.arange(300) % 3,
                            x_test=big[:9], y_test=np.arange(9) % 3)  # fmt: skip
        real = sources._memory_bytes
        sources._memory_bytes = lambda: 2**29
        try:
            return _train_on(tmp / "z.npz")
        finally:
            sources._memory_bytes = real

    def header_only(tmp):
        (tmp / "h.csv").write_text("a,b,label\n")
        return _train_on(tmp / "h.csv")

    return [
        ("complex x_train", "complex numbers", complex_x),
        ("inf in x_train", "x_train holds 1 NaN or infinite", inf_x),
        ("NaN only in x_test", "x_test holds 1 NaN or infinite", nan_test),
        ("one label 1000 among 0..2", "no sample of class 3, 4", label_1000),
        ("float labels 0, 1.7", "whole-number class labels", float_labels),
        ("label gap declared with --num-classes", None, declared_classes),
        ("checkpoint of all-NaN weights", "NaN or infinite value", nan_checkpoint),
        ("CIFAR-100 binary read as CIFAR-10", "looks like a CIFAR-100", cifar100),
        ("WAV 16-bit data of odd size", "not a whole number of 2-byte", odd_wav),
        ("--data with 0 training samples", "x_train has 0 samples", zero_train),
        (".npz member claiming (1e12, 16)", "declares shape (1000000000000, 16)", member_1e12),
        (".npz inflating past half the memory", "more than half of", inflating),
        ("CSV with only a header", "header but no data rows", header_only),
    ]


# ---------------------------------------------------------- two writers (item 5)
def _tiny_config():
    from nnprune.experiments import make_config

    return make_config({"compare": {"methods": ["random"], "sparsities": [0.5], "seeds": [0],
                                    "hidden": [8], "train_epochs": 1, "retrain_epochs": 0,
                                    "latency_repeats": 1, "latency_batch": 8}})  # fmt: skip


def writer_cases() -> list[Case]:
    def second_writer(tmp):
        from nnprune.experiments import compare

        out = tmp / "o"
        out.mkdir()
        code = textwrap.dedent(f"""
            import sys, time
            sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
            from nnprune.experiments.outlock import OutputLock
            OutputLock({str(out)!r}).acquire()
            print("locked", flush=True)
            time.sleep(60)
        """)
        holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        try:
            holder.stdout.readline()
            with contextlib.redirect_stdout(pyio.StringIO()):
                compare(_tiny_config(), out=out, workers=1, progress=False)
            return "wrong"
        finally:
            holder.kill()
            holder.wait()

    def garbage_line(tmp):
        from nnprune.experiments import compare
        from nnprune.experiments.compare import RUNS_FILE, read_runs

        out = tmp / "o"
        with contextlib.redirect_stdout(pyio.StringIO()):
            first = compare(_tiny_config(), out=out, workers=1, progress=False)
            with open(out / RUNS_FILE, "a", encoding="utf-8") as fh:
                fh.write("garbage\n")
            for _ in range(2):
                again = compare(_tiny_config(), out=out, workers=1, progress=False, resume=True)
        same = [r["accuracy"] for r in again.rows] == [r["accuracy"] for r in first.rows]
        return "same" if same and len(read_runs(out / RUNS_FILE)) == 2 else "wrong"

    def at_once(same_config: bool):
        def run(tmp):
            """Two ``nnprune compare`` on one --out: the second is refused, the first intact."""
            from nnprune.experiments.compare import RUNS_FILE, read_runs

            out = tmp / "o"
            first = _compare_cli(out, "random,global_magnitude,layer_magnitude", "0,1,2")
            try:
                _wait_for(out / ".nnprune.lock", first)
                methods = "random,global_magnitude,layer_magnitude" if same_config else "random"
                try:
                    _cli(["compare", "--quick", "--methods", methods, "--seeds", "0,1,2",
                          "--workers", "1", "--no-progress", "--out", str(out)])  # fmt: skip
                except ValueError as exc:
                    refused = exc
                else:
                    refused = None
                first.wait(timeout=120)
            finally:
                first.kill()
                first.wait()
            rows = read_runs(out / RUNS_FILE)
            keys = [(r["method"], r["target_sparsity"], r["seed"]) for r in rows]
            intact = first.returncode == 0 and len(keys) == len(set(keys)) == 3 + 3 * 2 * 3
            if refused is None or not intact:
                return "wrong"
            raise refused

        return run

    def stale_lock(tmp):
        from nnprune.experiments import compare

        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        out = tmp / "o"
        out.mkdir()
        (out / ".nnprune.lock").write_text(f"{dead.pid}\n")
        with contextlib.redirect_stdout(pyio.StringIO()):
            result = compare(_tiny_config(), out=out, workers=1, progress=False)
        return "same" if len(result.rows) == 2 and not (out / ".nnprune.lock").exists() else "wrong"

    def interrupted(tmp):
        """Ctrl-C (SIGINT) during a compare on 2 workers: one line, no leaked semaphores."""
        import signal

        out = tmp / "o"
        proc = _compare_cli(out, "random,global_magnitude,layer_magnitude", "0,1,2", workers=2)
        try:
            _wait_for(out / "runs.jsonl", proc, nonempty=True)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
            proc.wait()
        clean = err.strip() == "nnprune: interrupted" and proc.returncode == 130
        return "same" if clean and not (out / ".nnprune.lock").exists() else "wrong"

    return [
        ("second compare on the same --out", "is in use by process", second_writer),
        ("two CLI compares at once, same config", "is in use by process", at_once(True)),
        ("two CLI compares at once, different configs", "is in use by process", at_once(False)),
        ("stale lock of a dead process taken over", None, stale_lock),
        ("Ctrl-C during a compare on 2 workers", None, interrupted),
        ("garbage last line of runs.jsonl, resume twice", None, garbage_line),
    ]


def _compare_cli(out: Path, methods: str, seeds: str, workers: int = 1) -> subprocess.Popen:
    """``nnprune compare --quick`` in a child process (stdout and stderr piped)."""
    import os

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    argv = ["compare", "--quick", "--methods", methods, "--seeds", seeds, "--workers",
            str(workers), "--no-progress", "--out", str(out)]  # fmt: skip
    return subprocess.Popen([sys.executable, "-m", "nnprune.cli", *argv], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def _wait_for(path: Path, proc: subprocess.Popen, nonempty: bool = False) -> None:
    """Until ``path`` exists (and holds bytes); the process must still run."""
    import time

    while not (path.exists() and (not nonempty or path.stat().st_size > 0)):
        if proc.poll() is not None:
            raise RuntimeError(f"the first compare ended (exit {proc.returncode}) too early")
        time.sleep(0.05)


# ------------------------------------------------- tracebacks, messages (items 6, 7)
def _empty(net: nn.Module, shape, expected) -> str:
    out = net(np.zeros(shape, np.float32))
    return "same" if out.shape == expected else "wrong"


def _int_same(layer_cls, x, *args) -> str:
    a, b = layer_cls(*args), layer_cls(*args)
    if hasattr(a, "weight"):
        b.load_state_dict(a.state_dict())
    ya, yb = a(x), b(x.astype(np.float64))
    da, db = a.backward(np.ones_like(ya)), b.backward(np.ones_like(yb))
    return "same" if np.array_equal(ya, yb) and np.array_equal(da, db) else "wrong"


def message_cases() -> list[Case]:
    from nnprune.data.idx import read_idx
    from nnprune.data.text import read_ag_news
    from nnprune.models_resnet import small_resnet

    x_int = np.arange(2 * 3 * 6 * 6).reshape(2, 3, 6, 6) % 7

    def linear_dout(tmp):
        lin = nn.Linear(3, 4)
        lin(np.ones((2, 3), np.float32))
        lin.backward(np.ones((2, 5)))
        return "wrong"

    def cifar_pickle(tmp):
        class Payload:
            def __reduce__(self):
                import os

                return (os.system, (f"touch {MARKER}",))

        folder = tmp / "cifar" / "cifar-10-batches-py"
        folder.mkdir(parents=True)
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            (folder / name).write_bytes(pickle.dumps({"data": Payload(), "labels": [0]}))
        return _train_on(tmp / "cifar")

    def weight_array(tmp):
        lin = nn.Linear(3, 4)
        lin.weight = np.ones((4, 3), np.float32)
        return "wrong"

    return [
        ("Conv2d on an empty batch", None, lambda t: _empty(nn.Conv2d(3, 4, 3), (0, 3, 8, 8),
                                                             (0, 4, 6, 6))),
        ("small_cnn on an empty batch", None,
         lambda t: _empty(models.small_cnn(3, 10, 8), (0, 3, 8, 8), (0, 10))),
        ("BasicBlock (eval) on an empty batch", None,
         lambda t: _empty(nn.BasicBlock(3, 3).eval(), (0, 3, 8, 8), (0, 3, 8, 8))),
        ("ResNet (eval) on an empty batch", None,
         lambda t: _empty(small_resnet(3, 10).eval(), (0, 3, 8, 8), (0, 10))),
        ("Conv2d forward/backward on int64", None, lambda t: _int_same(nn.Conv2d, x_int, 3, 4, 3)),
        ("AvgPool2d forward/backward on int64", None, lambda t: _int_same(nn.AvgPool2d, x_int, 2)),
        ("Flatten on an empty batch", None, lambda t: _empty(nn.Flatten(), (0, 3, 4), (0, 12))),
        ("Flatten on a list", "expects an array input, got list",
         lambda t: nn.Flatten()([[1, 2], [3, 4]])),
        ("Linear.backward with a wrong dout", "dout has shape (2, 5), expected", linear_dout),
        ("CLI: refused CIFAR pickle", "use the binary version", cifar_pickle),
        ("io.load_state given a folder", "is a folder, not a model file",
         lambda t: io.load_state(t)),
        ("read_idx given a folder", "is a folder, not an IDX file", lambda t: read_idx(t)),
        ("read_ag_news given a folder", "is a folder, not an AG News", lambda t: read_ag_news(t)),
        ("SGD(layer)", "pass its parameters", lambda t: optim.SGD(nn.Linear(3, 4), lr=0.1)),
        ("num_classes=1e9", "num_classes must be in",
         lambda t: __import__("nnprune.architectures").architectures.build_architecture(
             "mlp", (4,), 10**9)),
        ("ndarray assigned to layer.weight", "is a Parameter", weight_array),
    ]  # fmt: skip


# -------------------------------------------------------------- interop (item 8)
def interop_cases() -> list[Case]:
    from nnprune.export import from_torch_state_dict, to_torch_state_dict

    def encoder(tmp):
        import torch

        ours = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, seed=0).double().eval()
        ours.self_attn.head_mask[...] = [1.0, 0.0]
        theirs = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
        theirs = theirs.double().eval()
        theirs.load_state_dict(to_torch_state_dict(ours), strict=True)
        x = np.random.default_rng(0).standard_normal((3, 5, 8))
        with torch.no_grad():
            y = theirs(torch.from_numpy(x)).numpy()
        return "same" if np.max(np.abs(y - ours(x))) <= 1e-12 else "wrong"

    def mha(tmp):
        import torch

        ours = nn.MultiHeadSelfAttention(8, 2, seed=1).double()
        theirs = torch.nn.MultiheadAttention(8, 2, batch_first=True).double().eval()
        theirs.load_state_dict(to_torch_state_dict(ours), strict=True)
        x = np.random.default_rng(1).standard_normal((3, 5, 8))
        with torch.no_grad():
            xt = torch.from_numpy(x)
            y = theirs(xt, xt, xt, need_weights=False)[0].numpy()
        return "same" if np.max(np.abs(y - ours(x))) <= 1e-12 else "wrong"

    def round_trip(tmp):
        from nnprune.models_text import TransformerClassifier

        def make(seed):
            return TransformerClassifier(30, 3, d_model=8, nhead=2, num_layers=2,
                                         dim_feedforward=16, max_len=16,
                                         seed=np.random.default_rng(seed))  # fmt: skip

        model = make(0)
        prune.l1_unstructured(model.get_submodule(_attn_name(model)).v_proj, "weight", 0.25)
        again = from_torch_state_dict(make(1), to_torch_state_dict(model, masks=True))
        a, b = model.state_dict(), again.state_dict()
        same = a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
        return "same" if same else "wrong"

    return [
        ("state dict into torch TransformerEncoderLayer", None, encoder),
        ("state dict into torch MultiheadAttention", None, mha),
        ("nnprune Transformer round trip (masks, head_mask)", None, round_trip),
    ]


def _attn_name(model: nn.Module) -> str:
    return next(n for n, m in model.named_modules() if isinstance(m, nn.MultiHeadSelfAttention))


# ------------------------------------------------------- said = done (item 9)
def said_done_cases() -> list[Case]:
    def regrow(tmp):
        from nnprune.pipeline.dynamic import DynamicSparsity

        layer = nn.Linear(4, 2, seed=0)
        model = nn.Sequential(layer)
        cb = DynamicSparsity(model, 0.5, total_steps=100, grow="gradient", update_fraction=0.5,
                             decay="constant", update_every=1, distribution="uniform")  # fmt: skip
        layer.weight.mask = None
        layer.weight.data[...] = [[0.1, 0.2, 3.0, 4.0], [0, 0, 0, 0]]
        layer.weight.mask = np.array([[True] * 4, [False] * 4])
        layer.weight.grad[...] = [[9.0, 0, 0, 0], [0, 0, 0, 5.0]]
        cb.on_step_end(1, model)
        kept = layer.weight.data[0, 0] == np.float32(0.1) and layer.weight.data[1, 3] == 0
        return "same" if kept else "wrong"  # the docstring: regrown at once keeps its value

    def dense_state(tmp):
        dense = models.mlp((6, 5, 3), seed=0)
        pruned = models.mlp((6, 5, 3), seed=1)
        prune.l1_unstructured(pruned[0], "weight", amount=0.5)
        pruned.load_state_dict(dense.state_dict())
        return "same" if pruned[0].weight.mask is None else "wrong"  # as documented

    return [
        ("SET/RigL: dropped and regrown at once", None, regrow),
        ("load_state_dict: dense state into a pruned model", None, dense_state),
    ]


# -------------------------------------------------------------- grading (item 2)
def _graded(exercise: str, source: str) -> Callable[[Path], str]:
    def run(tmp: Path) -> str:
        from nnprune.exercises import grade
        from nnprune.exercises.registry import get

        folder = tmp / "student"
        folder.mkdir()
        (folder / get(exercise).filename).write_text(source, encoding="utf-8")
        report = grade(exercise, folder, timeout=30)
        # every file answers wrongly: any check past the rules check that passes is forged
        forged = report.passed or any(r.passed for r in report.results[1:])
        # and the grading process itself must be untouched
        forged = forged or bool(np.allclose(np.zeros(2), np.ones(2)))
        return "pass" if forged else "fail"

    return run


def grading_cases() -> list[Case]:
    """The forged-grade cases: the cheating student files of ``tests/_cheating_students.py``
    (the test of the grader tries the same files), each returning ``"fail"`` (FAIL, right)
    or ``"pass"`` (a false PASS)."""
    tests = str(Path(__file__).resolve().parents[1] / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    from _cheating_students import forged_grades

    return [(label, None, _graded(ex, source)) for label, ex, source in forged_grades()]


def all_cases() -> dict[str, list[Case]]:
    groups = {
        "model files run no code": model_file_cases(),
        "export keeps the answer": [("ONNX on raw breast-cancer rows", None, export_case)],
        "bad data refused": data_cases(),
        "one writer per folder": writer_cases(),
        "tracebacks and messages": message_cases(),
        "interop names": interop_cases(),
        "said = done": said_done_cases(),
        "forged grades": grading_cases(),
    }
    return groups
