r"""Speech for the audio case study: WAV files, log-mel and MFCC features, two data sets.

* :func:`read_wav` -> :func:`log_mel_spectrogram` / :func:`mfcc` turns a
  recording into a sequence of feature frames ``(T, F)``; a batch is
  ``(N, T, F)`` (PyTorch's ``batch_first`` sequences).
* :func:`load_fsdd` -- **real** data: the Free Spoken Digit Dataset
  (Jackson et al., github.com/Jakobovski/free-spoken-digit-dataset), a folder
  of ``{digit}_{speaker}_{index}.wav`` files at 8 kHz you already have.
* :func:`make_speech_commands` -- **synthetic**, speech-like "words" whose
  class is decided by the order of their vowel-like sounds.

nnprune never downloads anything.

Book: §7 (speech case study; loaders for the real formats).
"""

from __future__ import annotations

import os
import re
import struct
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..checks import check_positive_int
from ..rng import SeedLike, as_generator
from .datasets import class_sizes

# Formants F1, F2 in Hz of four vowels (rounded adult male averages, Peterson & Barney, 1952).
VOWELS = {"a": (730.0, 1090.0), "e": (530.0, 1840.0), "i": (270.0, 2290.0), "u": (300.0, 870.0)}
# Each word's reversal is also a word: only the order of the sounds tells a pair apart.
SPEECH_WORDS = ("ai", "ia", "au", "ua", "iu", "ui", "ae", "ea", "aiu", "uia")
_FSDD_NAME = re.compile(r"^(\d)_([A-Za-z0-9-]+)_(\d+)\.wav$", re.IGNORECASE)
_INT_SCALE = {np.dtype(np.int16): 2.0**15, np.dtype(np.int32): 2.0**31}


def _check_riff(raw: bytes, name: str) -> None:
    """Check a WAV file's chunk structure before scipy reads it.

    ``RIFF`` (little-endian) or ``RIFX`` (big-endian) header, ``WAVE`` form, then
    chunks ``id (4 bytes), size (4 bytes), data`` (padded to an even size). The
    ``fmt `` chunk must be complete and declare at least one channel and a
    non-zero block size; the ``data`` chunk must hold the bytes its header declares.
    Other RIFF variants (RF64) are left to scipy.

    Raises
    ------
    ValueError
        Naming the file: truncated header or chunk, 0 channels, no ``fmt `` or
        ``data`` chunk, a data chunk cut short, or one whose size is not a whole
        number of sample frames (e.g. an odd byte count of 16-bit samples).
    """
    if len(raw) < 12:
        raise ValueError(f"{name} is not a readable WAV file: {len(raw)} bytes, a header needs 12")
    if raw[:4] not in (b"RIFF", b"RIFX") or raw[8:12] != b"WAVE":
        if raw[:4] == b"RF64":
            return
        raise ValueError(f"{name} is not a readable WAV file: it starts with {raw[:4]!r}, not RIFF")
    order = "little" if raw[:4] == b"RIFF" else "big"
    pos, fmt_seen = 12, False
    while pos + 8 <= len(raw):
        chunk, size = raw[pos : pos + 4], int.from_bytes(raw[pos + 4 : pos + 8], order)
        body = raw[pos + 8 : pos + 8 + size]
        if chunk == b"fmt ":
            if size < 16 or len(body) < 16:
                raise ValueError(
                    f"{name} is truncated or corrupt: its fmt chunk has {len(body)} of the "
                    f"{max(size, 16)} bytes it needs"
                )
            channels = int.from_bytes(body[2:4], order)
            block_align = int.from_bytes(body[12:14], order)
            if channels == 0:
                raise ValueError(f"{name}: the fmt chunk declares 0 channels")
            if block_align == 0:
                raise ValueError(f"{name}: the fmt chunk declares a block size of 0 bytes")
            fmt_seen = True
        elif chunk == b"data":
            if not fmt_seen:
                raise ValueError(f"{name}: the data chunk comes before any fmt chunk")
            if size != 0xFFFFFFFF and len(body) < size:  # 0xFFFFFFFF: length not known
                raise ValueError(
                    f"{name} is truncated: its data chunk declares {size} bytes, the file "
                    f"holds {len(body)}"
                )
            if size != 0xFFFFFFFF and size % block_align:  # scipy would drop the tail silently
                raise ValueError(
                    f"{name} is corrupt: its data chunk holds {size} bytes, not a whole number "
                    f"of {block_align}-byte sample frames ({size % block_align} bytes left over)"
                )
            return
        pos += 8 + size + (size & 1)
    if not fmt_seen:
        raise ValueError(f"{name} is truncated or corrupt: no complete fmt chunk")
    raise ValueError(f"{name} is truncated or corrupt: no data chunk")


def read_wav(
    path: str | os.PathLike, expected_rate: int | None = None, mono: bool = True
) -> tuple[np.ndarray, int]:
    """Read a WAV file as float32 samples in [-1, 1].

    Integer PCM is scaled to [-1, 1): int16 by :math:`2^{15}`, int32 (and
    24-bit, which scipy returns left-aligned in int32) by :math:`2^{31}`,
    uint8 as :math:`(x - 128) / 128`; float files are kept as they are. The
    sample rate is checked, never changed: resample beforehand (for example
    ``scipy.signal.resample_poly``) if it differs.

    Parameters
    ----------
    path : str or path-like
        The WAV file.
    expected_rate : int or None
        Raise if the file's sample rate differs (``None``: accept any).
    mono : bool, default True
        Mix several channels down to one by averaging them; ``False`` keeps them.

    Returns
    -------
    signal : numpy.ndarray, float32
        Shape ``(num_samples,)`` when ``mono`` or the file has one channel,
        else ``(num_samples, channels)``.
    sample_rate : int

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        Naming the file: not a readable WAV, no samples, an unsupported sample
        format, non-finite float samples, or a sample rate other than ``expected_rate``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"WAV file not found: {str(path)!r}")
    name = repr(str(path))
    _check_riff(path.read_bytes(), name)
    import scipy.io.wavfile  # here, not at the top: scipy.io costs ~0.1 s of `import nnprune`

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", scipy.io.wavfile.WavFileWarning)
            rate, data = scipy.io.wavfile.read(path)
    except (ValueError, EOFError, OSError, ZeroDivisionError, struct.error) as exc:
        raise ValueError(f"{name} is not a readable WAV file ({exc})") from exc
    if expected_rate is not None and rate != check_positive_int("expected_rate", expected_rate):
        raise ValueError(
            f"{name} has sample rate {rate} Hz, expected {expected_rate} Hz; resample it first "
            "(e.g. scipy.signal.resample_poly)"
        )
    if data.size == 0:
        raise ValueError(f"{name} holds no samples")
    if data.dtype in _INT_SCALE:
        signal = data.astype(np.float64) / _INT_SCALE[data.dtype]
    elif data.dtype == np.uint8:
        signal = (data.astype(np.float64) - 128.0) / 128.0
    elif data.dtype.kind == "f":
        signal = data.astype(np.float64)
        if not np.isfinite(signal).all():
            raise ValueError(f"{name} holds non-finite float samples")
    else:
        raise ValueError(f"{name}: unsupported WAV sample format {data.dtype}")
    if mono and signal.ndim == 2:
        signal = signal.mean(axis=1)  # (num_samples, channels) -> (num_samples,)
    return signal.astype(np.float32), int(rate)


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    r"""HTK mel scale: :math:`m = 2595 \log_{10}(1 + f / 700)`."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    r"""Inverse HTK mel scale: :math:`f = 700 (10^{m / 2595} - 1)`."""
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None
) -> np.ndarray:
    r"""Triangular filters equally spaced on the HTK mel scale.

    The edges :math:`f_0 < f_1 < \dots < f_{M+1}` are ``n_mels + 2`` points
    equally spaced in mel between ``fmin`` and ``fmax``; filter :math:`m`
    rises linearly from 0 at :math:`f_{m-1}` to 1 at its centre :math:`f_m` and
    falls back to 0 at :math:`f_{m+1}`, evaluated at the FFT bin frequencies
    :math:`f_k = k \cdot \text{sample\_rate} / n_{fft}`:

    .. math::
        H_m(f_k) = \max\Big(0, \min\Big(\frac{f_k - f_{m-1}}{f_m - f_{m-1}},
                                       \frac{f_{m+1} - f_k}{f_{m+1} - f_m}\Big)\Big)

    Peak height 1, no area normalisation (HTK; torchaudio's
    ``melscale_fbanks(norm=None, mel_scale="htk")``).

    Parameters
    ----------
    sample_rate : int
    n_fft : int
        FFT size; there are ``n_fft // 2 + 1`` bins.
    n_mels : int
        Number of filters.
    fmin, fmax : float
        Lowest and highest edge in Hz; ``fmax=None`` means ``sample_rate / 2``.

    Returns
    -------
    numpy.ndarray, float64, shape ``(n_mels, n_fft // 2 + 1)``

    Raises
    ------
    ValueError
        If ``0 <= fmin < fmax <= sample_rate / 2`` fails, or a filter falls
        between two FFT bins and would be all zero (use fewer mels or a larger ``n_fft``).
    """
    sample_rate = check_positive_int("sample_rate", sample_rate)
    n_fft = check_positive_int("n_fft", n_fft)
    n_mels = check_positive_int("n_mels", n_mels)
    fmax = sample_rate / 2 if fmax is None else float(fmax)
    if not 0 <= fmin < fmax <= sample_rate / 2:
        raise ValueError(
            f"need 0 <= fmin < fmax <= sample_rate / 2 = {sample_rate / 2}, "
            f"got fmin={fmin}, fmax={fmax}"
        )
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs - lower) / (centre - lower)  # (n_mels, n_freqs)
    falling = (upper - freqs) / (upper - centre)
    bank = np.maximum(0.0, np.minimum(rising, falling))
    empty = np.flatnonzero(bank.max(axis=1) == 0)
    if empty.size:
        raise ValueError(
            f"n_mels={n_mels} is too many for n_fft={n_fft} at {sample_rate} Hz: filter "
            f"{int(empty[0])} contains no FFT bin; use fewer mels or a larger n_fft"
        )
    return bank


def log_mel_spectrogram(
    signal: np.ndarray,
    sample_rate: int,
    n_fft: int = 256,
    hop_length: int | None = None,
    n_mels: int = 40,
    fmin: float = 0.0,
    fmax: float | None = None,
    eps: float = 1e-10,
) -> np.ndarray:
    r"""Log of the mel-filtered power spectrogram, one row per frame.

    Frames of ``n_fft`` samples, ``hop_length`` apart, a periodic Hann window
    :math:`w`, centred on the hop positions (``scipy.signal.stft`` pads
    ``n_fft // 2`` zeros on each side and at the end to fill the last frame):

    .. math::
        P_{t,k} = \Big|\sum_n w_n x_{tH + n} e^{-2\pi i kn / n_{fft}}\Big|^2, \qquad
        S_{t,m} = \log\Big(\sum_k H_m(f_k) P_{t,k} + \varepsilon\Big)

    with :math:`H` from :func:`mel_filterbank`. ``scipy.signal.stft`` divides
    by :math:`\sum_n w_n`; that factor is undone so :math:`P` is the plain DFT
    power (as ``torch.stft`` gives).

    Parameters
    ----------
    signal : numpy.ndarray, shape ``(num_samples,)``
    sample_rate : int
    n_fft : int, default 256
        Window and FFT size (32 ms at 8 kHz).
    hop_length : int or None
        Samples between frames; ``None`` means ``n_fft // 2``.
    n_mels : int, default 40
    fmin, fmax : float
        Filterbank range in Hz (``fmax=None``: ``sample_rate / 2``).
    eps : float, default 1e-10
        Added before the natural log so silence stays finite.

    Returns
    -------
    numpy.ndarray, float32, shape ``(T, n_mels)``
        :math:`T = \lceil \text{num\_samples} / \text{hop} \rceil + 1` frames.
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"signal must be a non-empty 1-D array, got shape {x.shape}")
    n_fft = check_positive_int("n_fft", n_fft)
    hop = n_fft // 2 if hop_length is None else check_positive_int("hop_length", hop_length)
    if hop > n_fft:
        raise ValueError(f"hop_length must be at most n_fft = {n_fft}, got {hop}")
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")
    if x.size < n_fft:
        raise ValueError(
            f"signal has {x.size} samples, fewer than one window of n_fft = {n_fft}; "
            "use a smaller n_fft or a longer recording"
        )
    bank = mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax)
    import scipy.signal  # here, not at the top: it is slow to import and rarely needed

    window = scipy.signal.get_window("hann", n_fft)  # periodic, as for spectral analysis
    _, _, Z = scipy.signal.stft(
        x, fs=sample_rate, window=window, nperseg=n_fft, noverlap=n_fft - hop
    )  # (n_fft // 2 + 1, T)
    power = np.abs(Z * window.sum()) ** 2
    return np.log(bank @ power + eps).T.astype(np.float32)  # (T, n_mels)


def mfcc(signal: np.ndarray, sample_rate: int, n_mfcc: int = 13, **kwargs) -> np.ndarray:
    r"""Mel-frequency cepstral coefficients: the DCT-II of the log-mel spectrogram.

    .. math::
        c_{t,j} = \sqrt{\tfrac{2 - [j = 0]}{M}} \sum_{m=0}^{M-1}
                  S_{t,m} \cos\Big(\frac{\pi j (2m + 1)}{2M}\Big), \quad j < n_{mfcc}

    (``scipy.fft.dct(S, type=2, norm="ortho")``, first ``n_mfcc`` columns).

    Parameters
    ----------
    signal : numpy.ndarray, shape ``(num_samples,)``
    sample_rate : int
    n_mfcc : int, default 13
        Coefficients kept, at most ``n_mels``.
    **kwargs
        Passed to :func:`log_mel_spectrogram` (``n_fft``, ``hop_length``, ``n_mels``, ...).

    Returns
    -------
    numpy.ndarray, float32, shape ``(T, n_mfcc)``
    """
    n_mfcc = check_positive_int("n_mfcc", n_mfcc)
    log_mel = log_mel_spectrogram(signal, sample_rate, **kwargs).astype(np.float64)
    if n_mfcc > log_mel.shape[1]:
        raise ValueError(f"n_mfcc must be at most n_mels = {log_mel.shape[1]}, got {n_mfcc}")
    import scipy.fft  # lazily, like scipy.signal above

    return scipy.fft.dct(log_mel, type=2, norm="ortho", axis=1)[:, :n_mfcc].astype(np.float32)


class SpeechSet(NamedTuple):
    """Padded feature sequences with their lengths, labels and speakers."""

    X: np.ndarray  # (N, T, F) float32, zero after each sequence's length
    y: np.ndarray  # (N,) int64
    lengths: np.ndarray  # (N,) int64, frames before the padding
    speakers: np.ndarray  # (N,) str


def _stack(features: list[np.ndarray], n_frames: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Zero-pad (or cut) each ``(T_i, F)`` to a common length: ``(N, T, F)`` and lengths."""
    T = n_frames if n_frames is not None else max(len(f) for f in features)
    X = np.zeros((len(features), T, features[0].shape[1]), dtype=np.float32)
    lengths = np.array([min(len(f), T) for f in features], dtype=np.int64)
    for i, f in enumerate(features):
        X[i, : lengths[i]] = f[:T]
    return X, lengths


def load_fsdd(
    root: str | os.PathLike,
    sample_rate: int = 8000,
    *,
    features: str = "log_mel",
    n_frames: int | None = None,
    **feature_kwargs,
) -> SpeechSet:
    """Load a Free Spoken Digit Dataset folder as feature sequences.

    Reads every ``*.wav`` in ``root`` (or ``root/recordings``), named
    ``{digit}_{speaker}_{index}.wav`` (e.g. ``7_jackson_32.wav``), in order of
    speaker, digit and index. Each recording becomes a ``(T_i, F)`` sequence
    (:func:`log_mel_spectrogram` or :func:`mfcc`); sequences are zero-padded at
    the end to the longest (or to ``n_frames``, cutting longer ones), and
    ``lengths`` tells where each one stops, so
    ``np.arange(T) >= lengths[:, None]`` is the key-padding mask (True =
    padding). Split by ``speakers`` to test on voices never heard in training.

    Parameters
    ----------
    root : str or path-like
    sample_rate : int, default 8000
        Every file must have this rate (FSDD is recorded at 8 kHz).
    features : {"log_mel", "mfcc"}, default "log_mel"
    n_frames : int or None
        Fixed number of frames ``T``; ``None`` pads to the longest recording.
    **feature_kwargs
        Passed to the feature function (``n_fft``, ``hop_length``, ``n_mels``, ``n_mfcc``, ...).

    Returns
    -------
    SpeechSet
        ``X`` float32 ``(N, T, F)``, ``y`` int64 digits ``(N,)``, ``lengths``
        int64 ``(N,)``, ``speakers`` str ``(N,)``.

    Raises
    ------
    FileNotFoundError
        If ``root`` is not a folder or holds no ``.wav`` file.
    ValueError
        Naming the file: a name that does not match the pattern, a wrong
        sample rate, an unreadable WAV; or an unknown ``features``.
    """
    extract = {"log_mel": log_mel_spectrogram, "mfcc": mfcc}.get(features)
    if extract is None:
        raise ValueError(f"features must be 'log_mel' or 'mfcc', got {features!r}")
    if n_frames is not None:
        n_frames = check_positive_int("n_frames", n_frames)
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"root must be a folder of FSDD .wav files, got {root}")
    folder = root / "recordings" if (root / "recordings").is_dir() else root
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".wav")
    if not paths:
        raise FileNotFoundError(f"no .wav files in {str(folder)!r}; nnprune never downloads")
    entries = []
    for p in paths:
        match = _FSDD_NAME.match(p.name)
        if match is None:
            raise ValueError(
                f"{p.name!r} in {str(folder)!r} does not match the FSDD pattern "
                "{digit}_{speaker}_{index}.wav"
            )
        digit, speaker, index = match.groups()
        entries.append((speaker, int(digit), int(index), p))
    entries.sort(key=lambda e: e[:3])
    feats = []
    for *_, p in entries:
        signal, _ = read_wav(p, expected_rate=sample_rate)
        try:
            feats.append(extract(signal, sample_rate, **feature_kwargs))
        except ValueError as exc:
            raise ValueError(f"{str(p)!r}: {exc}") from None
    X, lengths = _stack(feats, n_frames)
    y = np.array([e[1] for e in entries], dtype=np.int64)
    return SpeechSet(X, y, lengths, np.array([e[0] for e in entries]))


def _syllable(gen: np.random.Generator, vowel: str, f0: float, scale: float, n: int, rate: int):
    """A harmonic tone shaped by two formant peaks, with 15 ms fade-in and fade-out."""
    t = np.arange(n) / rate
    f0 = f0 * gen.uniform(0.95, 1.05)
    formants = np.array(VOWELS[vowel]) * scale * gen.uniform(0.97, 1.03, size=2)
    harmonics = np.arange(1, int(0.45 * rate / f0) + 1) * f0  # (K,), below Nyquist
    gain = np.exp(-0.5 * ((harmonics[:, None] - formants[None, :]) / 90.0) ** 2).sum(axis=1)
    phase = gen.uniform(0, 2 * np.pi, size=len(harmonics))
    wave = (gain[:, None] * np.sin(2 * np.pi * harmonics[:, None] * t + phase[:, None])).sum(0)
    fade = min(int(0.015 * rate), n // 2)
    envelope = np.ones(n)
    envelope[:fade] = envelope[n - fade :][::-1] = 0.5 - 0.5 * np.cos(
        np.pi * np.arange(fade) / fade
    )
    wave *= envelope
    return wave / (np.sqrt(np.mean(wave**2)) + 1e-12) * gen.uniform(0.5, 1.0)


def _utterance(gen: np.random.Generator, word: str, rate: int, n_total: int, noise_std: float):
    f0, scale = gen.uniform(90.0, 220.0), gen.uniform(0.9, 1.1)  # the speaker
    pieces = []
    for j, vowel in enumerate(word):
        if j:
            pieces.append(np.zeros(int(gen.uniform(0.02, 0.05) * rate)))
        pieces.append(_syllable(gen, vowel, f0, scale, int(gen.uniform(0.07, 0.13) * rate), rate))
    voice = np.concatenate(pieces)
    start = int(gen.integers(0, n_total - len(voice) + 1))
    out = np.zeros(n_total)
    out[start : start + len(voice)] = 0.3 * voice
    return out + noise_std * gen.standard_normal(n_total)


def make_speech_commands(
    n_samples: int = 1000,
    seed: SeedLike = 0,
    sample_rate: int = 8000,
    *,
    duration: float = 0.5,
    noise_std: float = 0.02,
    features: str = "log_mel",
    **feature_kwargs,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Synthetic speech-like "words": sequences of 2-3 vowel-like harmonic sounds.

    Class :math:`c` is the word ``SPEECH_WORDS[c]``, a sequence of vowels from
    :data:`VOWELS`. Each utterance draws a speaker (pitch :math:`f_0` in
    90-220 Hz, formants scaled by 0.9-1.1), then for each vowel a sound of
    70-130 ms: the harmonics :math:`k f_0` below 0.45 of the sample rate with
    amplitudes :math:`\sum_i \exp(-(k f_0 - F_i)^2 / (2 \cdot 90^2))` around
    the formants :math:`F_1, F_2`, with per-sound pitch and formant jitter and
    15 ms fades, separated by 20-50 ms pauses, placed at a random start in a
    clip of ``duration`` seconds, plus white noise of standard deviation
    ``noise_std``.

    Each word's time reversal is also a word (``ai`` / ``ia``, ...), and every
    random choice above is symmetric in time, so a word and its reversal give
    the same distribution of frames: a model that pools frames over time
    (averaging) can tell the five pairs apart but not the two words within a
    pair, which limits it to about 1/2 accuracy. The class is in the temporal
    pattern. The data is synthetic: numbers measured on it say nothing about
    real speech.

    Parameters
    ----------
    n_samples : int, default 1000
        Number of utterances; class sizes differ by at most one, shuffled.
    seed : int or numpy.random.Generator, default 0
        Source of every random draw: the same seed gives the same data.
    sample_rate : int, default 8000
        At least 6000 Hz, so that the highest formant stays below Nyquist.
    duration : float, default 0.5
        Clip length in seconds, at least 0.5 (the longest word is 0.49 s).
    noise_std : float, default 0.02
        Standard deviation of the added white noise (voice peaks near 0.3-1).
    features : {"log_mel", "mfcc", "waveform"}, default "log_mel"
    **feature_kwargs
        Passed to :func:`log_mel_spectrogram` / :func:`mfcc`.

    Returns
    -------
    X : numpy.ndarray, float32
        ``(N, T, F)`` features, or ``(N, round(duration * sample_rate))`` waveforms.
    y : numpy.ndarray, int64, shape ``(N,)``
        Classes 0-9, names in :data:`SPEECH_WORDS`.
    """
    n_samples = check_positive_int("n_samples", n_samples)
    sample_rate = check_positive_int("sample_rate", sample_rate)
    if sample_rate < 6000:
        raise ValueError(f"sample_rate must be at least 6000 Hz, got {sample_rate}")
    if not duration >= 0.5:
        raise ValueError(f"duration must be at least 0.5 seconds, got {duration}")
    if not noise_std >= 0:
        raise ValueError(f"noise_std must be non-negative, got {noise_std}")
    extract = {"log_mel": log_mel_spectrogram, "mfcc": mfcc, "waveform": None}
    if features not in extract:
        raise ValueError(f"features must be 'log_mel', 'mfcc' or 'waveform', got {features!r}")
    gen = as_generator(seed)
    y = np.repeat(np.arange(len(SPEECH_WORDS)), class_sizes(n_samples, len(SPEECH_WORDS)))
    y = y[gen.permutation(n_samples)].astype(np.int64)
    n_total = int(round(duration * sample_rate))
    waves = [_utterance(gen, SPEECH_WORDS[c], sample_rate, n_total, noise_std) for c in y]
    if extract[features] is None:
        return np.stack(waves).astype(np.float32), y  # (N, num_samples)
    feats = [extract[features](w, sample_rate, **feature_kwargs) for w in waves]
    return np.stack(feats).astype(np.float32), y  # (N, T, F)


__all__ = [
    "SPEECH_WORDS",
    "VOWELS",
    "SpeechSet",
    "hz_to_mel",
    "load_fsdd",
    "log_mel_spectrogram",
    "make_speech_commands",
    "mel_filterbank",
    "mel_to_hz",
    "mfcc",
    "read_wav",
]
