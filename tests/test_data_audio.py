"""Audio data: WAV reading, mel filterbank, log-mel and MFCC, FSDD folders, synthetic words."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.io.wavfile

from nnprune.data.audio import (
    SPEECH_WORDS,
    load_fsdd,
    log_mel_spectrogram,
    make_speech_commands,
    mel_filterbank,
    mfcc,
    read_wav,
)


def _mel(f: float) -> float:
    return 2595.0 * math.log10(1.0 + f / 700.0)


def _hz(m: float) -> float:
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def _centres(sample_rate, n_mels, fmin=0.0, fmax=None):
    """Edges of the HTK filters, computed point by point with math (not the library)."""
    fmax = sample_rate / 2 if fmax is None else fmax
    lo, hi = _mel(fmin), _mel(fmax)
    return [_hz(lo + (hi - lo) * i / (n_mels + 1)) for i in range(n_mels + 2)]


# --- read_wav ---------------------------------------------------------------------------


def test_read_wav_int16_mono_and_rate(tmp_path):
    p = tmp_path / "a.wav"
    data = np.array([0, 16384, -32768, 32767, -1], dtype=np.int16)
    scipy.io.wavfile.write(p, 8000, data)
    x, rate = read_wav(p, expected_rate=8000)
    assert rate == 8000 and x.dtype == np.float32 and x.shape == (5,)
    np.testing.assert_allclose(x, [0.0, 0.5, -1.0, 32767 / 32768, -1 / 32768], rtol=1e-7)
    with pytest.raises(ValueError, match=r"sample rate 8000 Hz, expected 16000 Hz; resample"):
        read_wav(p, expected_rate=16000)
    with pytest.raises(ValueError, match="expected_rate must be a positive integer, got 0"):
        read_wav(p, expected_rate=0)


def test_read_wav_stereo_mixdown_and_other_formats(tmp_path):
    p = tmp_path / "s.wav"
    stereo = np.array([[16384, 0], [-16384, 16384], [8192, 8192]], dtype=np.int16)
    scipy.io.wavfile.write(p, 16000, stereo)
    x, rate = read_wav(p)
    assert rate == 16000
    np.testing.assert_allclose(x, [0.25, 0.0, 0.25], rtol=1e-7)
    both, _ = read_wav(p, mono=False)
    np.testing.assert_allclose(both, stereo / 32768.0, rtol=1e-7)
    assert both.shape == (3, 2)
    scipy.io.wavfile.write(p, 8000, np.array([0, 128, 255], dtype=np.uint8))
    np.testing.assert_allclose(read_wav(p)[0], [-1.0, 0.0, 127 / 128], rtol=1e-7)
    scipy.io.wavfile.write(p, 8000, np.array([2**30, -(2**31)], dtype=np.int32))
    np.testing.assert_allclose(read_wav(p)[0], [0.5, -1.0], rtol=1e-7)
    scipy.io.wavfile.write(p, 8000, np.array([0.25, -0.75], dtype=np.float32))
    np.testing.assert_allclose(read_wav(p)[0], [0.25, -0.75], rtol=1e-7)


def test_read_wav_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="WAV file not found"):
        read_wav(tmp_path / "none.wav")
    p = tmp_path / "bad.wav"
    p.write_bytes(b"this is not a wav file at all")
    with pytest.raises(ValueError, match="is not a readable WAV file"):
        read_wav(p)
    scipy.io.wavfile.write(p, 8000, np.zeros(0, dtype=np.int16))
    with pytest.raises(ValueError, match="holds no samples"):
        read_wav(p)
    scipy.io.wavfile.write(p, 8000, np.array([0.0, np.nan], dtype=np.float32))
    with pytest.raises(ValueError, match="non-finite float samples"):
        read_wav(p)


# --- mel filterbank, log-mel, MFCC ------------------------------------------------------


def test_mel_filterbank_matches_the_triangle_formula():
    sr, n_fft, n_mels = 8000, 512, 20
    bank = mel_filterbank(sr, n_fft, n_mels, fmin=100.0, fmax=3800.0)
    assert bank.shape == (n_mels, n_fft // 2 + 1)
    edges = _centres(sr, n_mels, 100.0, 3800.0)
    for m in range(n_mels):
        lo, c, hi = edges[m], edges[m + 1], edges[m + 2]
        for k in range(n_fft // 2 + 1):
            f = k * sr / n_fft
            expected = (
                (f - lo) / (c - lo) if lo < f <= c else (hi - f) / (hi - c) if c < f < hi else 0
            )
            assert bank[m, k] == pytest.approx(expected, abs=1e-9)


def test_mel_filterbank_peaks_at_centres_and_sums_to_one():
    sr, n_fft, n_mels = 16000, 8192, 30
    bank = mel_filterbank(sr, n_fft, n_mels)
    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    edges = _centres(sr, n_mels)
    for m in range(n_mels):
        assert abs(freqs[np.argmax(bank[m])] - edges[m + 1]) <= sr / n_fft / 2 + 1e-9
        # The nearest bin is at most half a bin from the apex of slope 1 / (half-width).
        half_width = min(edges[m + 1] - edges[m], edges[m + 2] - edges[m + 1])
        assert 1.0 >= bank[m].max() >= 1.0 - (sr / n_fft / 2) / half_width
    # Peak-1 triangles overlap so that neighbours add to one between the first and last centre.
    inside = (freqs >= edges[1]) & (freqs <= edges[-2])
    np.testing.assert_allclose(bank[:, inside].sum(axis=0), 1.0, atol=1e-9)


def test_mel_filterbank_errors():
    with pytest.raises(ValueError, match="n_mels=128 is too many for n_fft=64 at 8000 Hz"):
        mel_filterbank(8000, 64, 128)
    with pytest.raises(ValueError, match=r"need 0 <= fmin < fmax <= sample_rate / 2 = 4000.0"):
        mel_filterbank(8000, 256, 10, fmin=100.0, fmax=5000.0)
    with pytest.raises(ValueError, match="n_mels must be a positive integer, got 0"):
        mel_filterbank(8000, 256, 0)


def test_log_mel_of_a_tone_peaks_at_its_mel_bin():
    sr, n_fft, n_mels = 8000, 512, 24
    edges = _centres(sr, n_mels)
    for m in (5, 12, 20):
        tone = np.sin(2 * np.pi * edges[m + 1] * np.arange(sr) / sr)
        S = log_mel_spectrogram(tone, sr, n_fft=n_fft, n_mels=n_mels)
        assert S.dtype == np.float32 and S.shape[1] == n_mels
        assert np.all(np.argmax(S[2:-2], axis=1) == m)


def test_frame_count_and_silence():
    x = np.zeros(1000)
    for n_fft, hop in ((256, 128), (256, 100), (200, 80)):
        S = log_mel_spectrogram(x, 8000, n_fft=n_fft, hop_length=hop, n_mels=10)
        assert S.shape == (math.ceil(1000 / hop) + 1, 10)
        np.testing.assert_allclose(S, math.log(1e-10), rtol=1e-6)


@pytest.mark.torch
def test_power_spectrum_matches_torch_stft():
    torch = pytest.importorskip("torch")
    sr, n_fft, hop = 8000, 256, 64
    x = np.random.default_rng(0).standard_normal(1500)
    bank = mel_filterbank(sr, n_fft, 1, fmin=0.0)  # one filter: a weighted power sum
    spec = torch.stft(
        torch.from_numpy(x),
        n_fft,
        hop_length=hop,
        window=torch.hann_window(n_fft, periodic=True, dtype=torch.float64),
        center=True,
        pad_mode="constant",
        return_complex=True,
    )
    expected = np.log(bank @ (spec.abs() ** 2).numpy() + 1e-10)[0]  # torch: 1500 // 64 + 1 frames
    ours = log_mel_spectrogram(x, sr, n_fft=n_fft, hop_length=hop, n_mels=1)[:, 0]
    np.testing.assert_allclose(ours[: len(expected)], expected, rtol=1e-5)


def test_mfcc_is_the_orthonormal_dct_of_log_mel():
    x = np.random.default_rng(1).standard_normal(3000)
    S = log_mel_spectrogram(x, 8000, n_mels=16).astype(np.float64)
    M = 16
    j, m = np.arange(M)[:, None], np.arange(M)[None, :]
    C = np.sqrt(2.0 / M) * np.cos(np.pi * j * (2 * m + 1) / (2 * M))
    C[0] /= np.sqrt(2.0)
    np.testing.assert_allclose(C @ C.T, np.eye(M), atol=1e-12)
    expected = S @ C.T
    np.testing.assert_allclose(mfcc(x, 8000, n_mfcc=13, n_mels=16), expected[:, :13], atol=1e-4)
    with pytest.raises(ValueError, match="n_mfcc must be at most n_mels = 16, got 20"):
        mfcc(x, 8000, n_mfcc=20, n_mels=16)


def test_feature_argument_errors():
    with pytest.raises(ValueError, match=r"non-empty 1-D array, got shape \(2, 3\)"):
        log_mel_spectrogram(np.zeros((2, 3)), 8000)
    with pytest.raises(ValueError, match="hop_length must be at most n_fft = 256, got 300"):
        log_mel_spectrogram(np.zeros(500), 8000, hop_length=300)
    with pytest.raises(ValueError, match="eps must be positive, got 0"):
        log_mel_spectrogram(np.zeros(500), 8000, eps=0)


# --- FSDD folders ------------------------------------------------------------------------


def _write_fsdd(folder, names_lengths, rate=8000):
    folder.mkdir(parents=True, exist_ok=True)
    gen = np.random.default_rng(0)
    for name, n in names_lengths:
        scipy.io.wavfile.write(folder / name, rate, gen.integers(-3000, 3000, n).astype(np.int16))


def test_load_fsdd_parses_names_pads_and_orders(tmp_path):
    files = [("3_theo_1.wav", 1200), ("3_theo_0.wav", 800), ("0_jackson_10.wav", 2000),
             ("0_jackson_2.wav", 1000), ("7_jackson_0.wav", 640)]  # fmt: skip
    _write_fsdd(tmp_path / "recordings", files)
    (tmp_path / "recordings" / "README.md").write_text("ignored")
    data = load_fsdd(tmp_path)
    # Order: speaker, digit, then the index as a number (2 before 10).
    assert data.speakers.tolist() == ["jackson", "jackson", "jackson", "theo", "theo"]
    np.testing.assert_array_equal(data.y, [0, 0, 7, 3, 3])
    lengths = [math.ceil(n / 128) + 1 for n in (1000, 2000, 640, 800, 1200)]
    np.testing.assert_array_equal(data.lengths, lengths)
    assert data.X.shape == (5, max(lengths), 40) and data.X.dtype == np.float32
    for i, n in enumerate(lengths):
        assert np.all(data.X[i, n:] == 0) and np.all(data.X[i, :n] != 0)
    one, _ = read_wav(tmp_path / "recordings" / "0_jackson_2.wav")
    np.testing.assert_array_equal(data.X[0, : lengths[0]], log_mel_spectrogram(one, 8000))
    cut = load_fsdd(tmp_path / "recordings", features="mfcc", n_frames=10, n_mfcc=12)
    assert cut.X.shape == (5, 10, 12)
    np.testing.assert_array_equal(cut.lengths, np.minimum(lengths, 10))
    np.testing.assert_allclose(cut.X[0, : lengths[0]], mfcc(one, 8000, n_mfcc=12))
    assert np.all(cut.X[0, lengths[0] :] == 0)


def test_load_fsdd_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="root must be a folder"):
        load_fsdd(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match=r"no \.wav files"):
        load_fsdd(tmp_path)
    _write_fsdd(tmp_path, [("1_nicolas_0.wav", 500), ("one_nicolas_1.wav", 500)])
    with pytest.raises(
        ValueError, match=r"'one_nicolas_1\.wav' .* does not match the FSDD pattern"
    ):
        load_fsdd(tmp_path)
    (tmp_path / "one_nicolas_1.wav").unlink()
    _write_fsdd(tmp_path, [("2_nicolas_0.wav", 500)], rate=16000)
    with pytest.raises(
        ValueError, match=r"2_nicolas_0\.wav' has sample rate 16000 Hz, expected 8000"
    ):
        load_fsdd(tmp_path)
    with pytest.raises(ValueError, match="features must be 'log_mel' or 'mfcc', got 'raw'"):
        load_fsdd(tmp_path, features="raw")
    with pytest.raises(ValueError, match="n_frames must be a positive integer, got 0"):
        load_fsdd(tmp_path, n_frames=0)


# --- synthetic speech-like words ---------------------------------------------------------


def test_speech_commands_deterministic_balanced_and_shaped():
    X, y = make_speech_commands(40, seed=5)
    assert X.shape == (40, math.ceil(4000 / 128) + 1, 40) and X.dtype == np.float32
    np.testing.assert_array_equal(np.bincount(y), [4] * 10)
    X2, y2 = make_speech_commands(40, seed=5)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(make_speech_commands(40, seed=6)[0], X)
    W, yw = make_speech_commands(12, seed=0, features="waveform", duration=0.6)
    assert W.shape == (12, 4800) and np.isfinite(W).all()
    np.testing.assert_array_equal(np.bincount(yw), [2, 2] + [1] * 8)
    assert make_speech_commands(10, seed=0, features="mfcc", n_mfcc=8)[0].shape[2] == 8
    assert all(SPEECH_WORDS.count(w[::-1]) == 1 for w in SPEECH_WORDS)


def test_speech_commands_need_the_temporal_pattern():
    linear_model = pytest.importorskip("sklearn.linear_model")
    X, y = make_speech_commands(600, seed=0)
    train, test = slice(0, 400), slice(400, None)

    def accuracy(F, labels):
        F = (F - F[train].mean(0)) / (F[train].std(0) + 1e-9)
        model = linear_model.LogisticRegression(max_iter=3000).fit(F[train], labels[train])
        return model.score(F[test], labels[test])

    pooled = X.mean(axis=1)  # (N, F): the order of the frames is lost
    weights = np.exp(X) / np.exp(X).sum(axis=1, keepdims=True)
    centroid = (weights * np.arange(X.shape[1])[None, :, None]).sum(axis=1)  # (N, F)
    timing = centroid - centroid.mean(axis=1, keepdims=True)  # when each band is loud
    # Pooled frames tell the pairs apart, not the order within a pair (ceiling about 1/2).
    assert accuracy(pooled, y // 2) > 0.9
    assert accuracy(pooled, y) < 0.6
    assert accuracy(np.hstack([pooled, timing]), y) > 0.9


def test_speech_commands_errors():
    with pytest.raises(ValueError, match="sample_rate must be at least 6000 Hz, got 4000"):
        make_speech_commands(10, sample_rate=4000)
    with pytest.raises(ValueError, match="duration must be at least 0.5 seconds, got 0.3"):
        make_speech_commands(10, duration=0.3)
    with pytest.raises(ValueError, match="noise_std must be non-negative, got -1"):
        make_speech_commands(10, noise_std=-1)
    with pytest.raises(ValueError, match="features must be 'log_mel', 'mfcc' or 'waveform'"):
        make_speech_commands(10, features="spectrogram")
    with pytest.raises(ValueError, match=r"n_samples must be at least n_classes \(10\), got 5"):
        make_speech_commands(5)
