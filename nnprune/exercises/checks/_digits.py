"""A small ReLU MLP trained on the 8x8 digits, shared by the checks that need a trained model.

Trained here, in float64 NumPy, full batch Adam from a fixed seed: the same weights on every
machine, in one to two seconds, cached for the process. The checks hand the student plain
arrays (weights, biases, data), never a model object.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def forward(weights, biases, X):
    """Logits of the ReLU MLP ``weights[i]`` of shape ``(out, in)`` (PyTorch layout)."""
    h = np.asarray(X, dtype=np.float64)
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        h = h @ np.asarray(w).T + b
        if i < len(weights) - 1:
            h = np.maximum(h, 0.0)
    return h


def accuracy(weights, biases, X, y):
    return float(np.mean(np.argmax(forward(weights, biases, X), axis=1) == y))


def magnitude_prune(w, sparsity):
    """``w`` with its ``round(sparsity * w.size)`` smallest ``|w|`` set to 0 (stable order)."""
    w = np.array(w, dtype=np.float64)
    k = round(sparsity * w.size)
    flat = w.ravel()
    flat[np.argsort(np.abs(flat), kind="stable")[:k]] = 0.0
    return w


@lru_cache(maxsize=4)
def trained_mlp(widths: tuple[int, ...] = (64, 64, 32, 10), steps: int = 300, seed: int = 0):
    """``(weights, biases, (X_train, y_train), (X_val, y_val))``, weights ``(out, in)``."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # small matrices: threads only fight on a shared machine
        return _train(widths, steps, seed)


def _train(widths, steps, seed):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X = np.asarray(bunch.data, dtype=np.float64) / 16.0
    y = np.asarray(bunch.target, dtype=np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    X, y = X[order], y[order]
    Xt, yt, Xv, yv = X[:1200], y[:1200], X[1200:], y[1200:]
    rng = np.random.default_rng(seed + 1)
    pairs = zip(widths[:-1], widths[1:], strict=True)
    W = [rng.normal(size=(o, i)) * np.sqrt(2.0 / i) for i, o in pairs]
    B = [np.zeros(o) for o in widths[1:]]
    params = W + B
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    onehot = np.eye(widths[-1])[yt]
    for t in range(1, steps + 1):
        hs = [Xt]
        for i, (w, b) in enumerate(zip(W, B, strict=True)):
            z = hs[-1] @ w.T + b
            hs.append(np.maximum(z, 0.0) if i < len(W) - 1 else z)
        z = hs[-1] - hs[-1].max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        d = (p - onehot) / len(yt)
        gW, gB = [None] * len(W), [None] * len(W)
        for i in range(len(W) - 1, -1, -1):
            gW[i], gB[i] = d.T @ hs[i], d.sum(axis=0)
            if i:
                d = (d @ W[i]) * (hs[i] > 0)
        for j, g in enumerate(gW + gB):
            m[j] = 0.9 * m[j] + 0.1 * g
            v[j] = 0.999 * v[j] + 0.001 * g * g
            params[j] -= 0.01 * (m[j] / (1 - 0.9**t)) / (np.sqrt(v[j] / (1 - 0.999**t)) + 1e-8)
    for a in params:
        a.flags.writeable = False
    return tuple(W), tuple(B), (Xt, yt), (Xv, yv)
