r"""Seeds and random generators.

Every random choice in nnprune (initial weights, dropout, shuffling, random
pruning) draws from a ``numpy.random.Generator``. Public functions take one
argument for it, named ``seed``: an int or a Generator, turned into a Generator
by :func:`as_generator`; when it is ``None``, layers draw from one process-wide
generator that :func:`manual_seed` resets, the way ``torch.manual_seed`` does.
Same seed, same weights, masks and tables.
"""

from __future__ import annotations

import numpy as np

SeedLike = int | np.random.Generator | None

_default = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the process-wide generator used when no ``seed`` is passed.

    Parameters
    ----------
    seed : int
        A non-negative integer.

    Returns
    -------
    numpy.random.Generator
        The new default generator.
    """
    global _default
    _default = as_generator(int(_check_seed(seed)))
    return _default


def default_generator() -> np.random.Generator:
    """Return the process-wide generator (see :func:`manual_seed`)."""
    return _default


def _check_seed(seed: object) -> object:
    if isinstance(seed, bool) or (isinstance(seed, int | np.integer) and seed < 0):
        raise ValueError(f"seed must be a non-negative integer or a numpy Generator, got {seed!r}")
    return seed


def as_generator(seed: SeedLike = None) -> np.random.Generator:
    """Turn ``seed`` into a ``numpy.random.Generator``.

    Parameters
    ----------
    seed : int, numpy.random.Generator or None
        An int seeds a new generator; a Generator is returned as is; ``None``
        returns the process-wide default generator.

    Raises
    ------
    ValueError
        If ``seed`` is negative, a bool, or of another type.
    """
    if seed is None:
        return _default
    if isinstance(seed, np.random.Generator):
        return seed
    _check_seed(seed)
    if isinstance(seed, int | np.integer):
        return np.random.default_rng(int(seed))
    raise ValueError(f"seed must be a non-negative integer or a numpy Generator, got {seed!r}")
