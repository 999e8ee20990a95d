"""The training loop: accuracy, determinism, divergence, early stopping, callbacks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnprune import data, nn, optim
from nnprune.train import Callback, History, evaluate, fit, predict


def mlp(seed=0, hidden=64, d_in=64, d_out=10):
    return nn.Sequential(
        nn.Linear(d_in, hidden, seed=seed), nn.ReLU(), nn.Linear(hidden, d_out, seed=seed + 1)
    )


@pytest.fixture(scope="module")
def digits():
    X, y = data.load_digits()
    s = data.train_val_test_split(X, y, seed=0)
    st = data.Standardizer().fit(s.train[0])
    return {k: (st.transform(v[0]), v[1]) for k, v in s._asdict().items()}


def test_fit_digits_mlp_reaches_90_percent(digits):
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    history = fit(
        model, nn.CrossEntropyLoss(), opt, digits["train"], digits["val"], epochs=8, progress=False
    )
    loss, acc = evaluate(model, nn.CrossEntropyLoss(), digits["test"])
    assert acc > 0.90, f"test accuracy {acc:.3f}"
    assert history.loss[-1] < history.loss[0]
    assert len(history) == 8 and all(
        len(v) == 8 for v in history.as_dict().values() if isinstance(v, list)
    )
    assert model.training  # fit leaves the model in training mode
    json.dumps(history.as_dict())


def test_fit_is_deterministic_for_a_seed(digits):
    def run(seed):
        model = mlp()
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        h = fit(
            model,
            nn.CrossEntropyLoss(),
            opt,
            digits["train"],
            digits["val"],
            epochs=3,
            seed=seed,
            progress=False,
        )
        return model.state_dict(), h

    (s1, h1), (s2, h2), (s3, _) = run(0), run(0), run(1)
    for key in s1:
        np.testing.assert_array_equal(s1[key], s2[key])
    d1, d2 = h1.as_dict(), h2.as_dict()
    d1.pop("epoch_time"), d2.pop("epoch_time")
    assert d1 == d2
    assert any(not np.array_equal(s1[k], s3[k]) for k in s1)  # the seed matters


def test_nan_loss_raises_with_epoch_and_step(digits):
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=1e6)
    message = r"at epoch 0, step \d+ \(lr=1e\+06\).*lower learning rate"
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match=message):
        fit(model, nn.CrossEntropyLoss(), opt, digits["train"], epochs=2, progress=False)


class Recorder(Callback):
    def __init__(self, model, stop_at=None):
        self.model, self.stop_at = model, stop_at
        self.steps, self.epochs, self.states, self.modes = [], [], [], set()

    def on_step_end(self, step, model):
        assert model is self.model
        self.steps.append(step)
        self.modes.add(model.training)

    def on_epoch_end(self, epoch, history):
        self.epochs.append((epoch, len(history)))
        self.states.append(self.model.state_dict())
        return epoch == self.stop_at


def test_callbacks_called_after_every_step_and_epoch(digits):
    model = mlp()
    rec = Recorder(model)

    class StepsOnly:  # duck typing: any object with one of the methods
        n = 0

        def on_step_end(self, step, model):
            StepsOnly.n += 1

    opt = optim.SGD(model.parameters(), lr=0.05)
    fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        digits["train"],
        epochs=3,
        batch_size=100,
        callbacks=[rec, StepsOnly()],
        progress=False,
    )
    per_epoch = int(np.ceil(len(digits["train"][1]) / 100))
    assert rec.steps == list(range(3 * per_epoch))
    assert StepsOnly.n == 3 * per_epoch
    assert rec.epochs == [(0, 1), (1, 2), (2, 3)]  # history already holds the epoch
    assert rec.modes == {True}


def test_callback_returning_true_stops_training(digits):
    model = mlp()
    rec = Recorder(model, stop_at=1)
    opt = optim.SGD(model.parameters(), lr=0.05)
    h = fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        digits["train"],
        epochs=5,
        callbacks=[rec],
        progress=False,
    )
    assert len(h) == 2 and h.stopped_epoch == 1


def test_early_stopping_stops_and_restores_best_weights():
    X, y = data.make_spirals(n_samples=300, seed=0)
    Xv, yv = data.make_spirals(n_samples=300, seed=1)
    rng = np.random.default_rng(0)
    # 30% of the validation labels are random: the validation loss falls for a
    # few epochs, then rises as the model grows confident.
    noisy = rng.random(300) < 0.3
    yv[noisy] = rng.integers(0, 3, noisy.sum())
    model = mlp(d_in=2, hidden=32, d_out=3)
    rec = Recorder(model)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    h = fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        (X, y),
        (Xv, yv),
        epochs=60,
        early_stopping=3,
        callbacks=[rec],
        progress=False,
    )
    best = int(np.argmin(h.val_loss))
    assert h.best_epoch == best > 0
    assert h.stopped_epoch == best + 3 and len(h) == best + 4 < 60
    assert all(v > h.val_loss[best] for v in h.val_loss[best + 1 :])
    final = model.state_dict()
    assert any(not np.array_equal(final[k], rec.states[-1][k]) for k in final)
    for key, value in rec.states[best].items():
        np.testing.assert_array_equal(final[key], value)
    np.testing.assert_allclose(
        evaluate(model, nn.CrossEntropyLoss(), (Xv, yv))[0], h.val_loss[best], rtol=1e-6
    )


def test_scheduler_is_stepped_each_epoch_and_lr_recorded(digits):
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    h = fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        digits["train"],
        epochs=5,
        scheduler=sched,
        progress=False,
    )
    np.testing.assert_allclose(h.lr, [0.1, 0.1, 0.05, 0.05, 0.025])


def test_evaluate_and_predict_match_a_direct_computation(digits):
    X, y = digits["test"]
    model = mlp().eval()
    logits = model.forward(X).astype(np.float64)
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    expected_loss = -logp[np.arange(len(y)), y].mean()
    loss, acc = evaluate(model, nn.CrossEntropyLoss(), (X, y), batch_size=37)
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-5)
    assert acc == np.mean(logits.argmax(1) == y)
    np.testing.assert_allclose(predict(model, X, batch_size=37), logits, rtol=1e-5, atol=1e-6)
    assert not model.training  # eval mode kept
    model.train()
    evaluate(model, nn.CrossEntropyLoss(), (X, y))
    predict(model, X)
    assert model.training  # train mode restored


def test_regression_has_no_accuracy():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3)).astype(np.float32)
    Y = X @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = nn.Linear(3, 1, seed=0)
    h = fit(
        model,
        nn.MSELoss(),
        optim.SGD(model.parameters(), lr=0.1),
        (X, Y),
        (X, Y),
        epochs=20,
        batch_size=16,
        progress=False,
    )
    assert h.accuracy == [None] * 20 and h.val_accuracy == [None] * 20
    assert h.val_loss[-1] < 1e-3 * h.val_loss[0]


def test_progress_bar_only_when_asked(digits, capsys):
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.05)
    fit(model, nn.CrossEntropyLoss(), opt, digits["val"], epochs=1, progress=False)
    assert capsys.readouterr().err == ""
    fit(model, nn.CrossEntropyLoss(), opt, digits["val"], epochs=1, progress=None)
    assert capsys.readouterr().err == ""  # captured stderr is not a terminal
    fit(model, nn.CrossEntropyLoss(), opt, digits["val"], epochs=1, progress=True)
    assert "100%" in capsys.readouterr().err


def test_fit_argument_errors(digits):
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.05)
    loss = nn.CrossEntropyLoss()
    X, y = digits["train"]
    with pytest.raises(ValueError, match="epochs must be a positive integer, got 0"):
        fit(model, loss, opt, (X, y), epochs=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got -1"):
        fit(model, loss, opt, (X, y), batch_size=-1)
    with pytest.raises(TypeError, match=r"train must be an \(X, y\) pair, got ndarray"):
        fit(model, loss, opt, X)
    with pytest.raises(ValueError, match="same number of samples"):
        fit(model, loss, opt, (X, y[:-1]))
    with pytest.raises(ValueError, match="early_stopping needs validation data"):
        fit(model, loss, opt, (X, y), early_stopping=2)
    with pytest.raises(ValueError, match="early_stopping must be a positive integer, got 0"):
        fit(model, loss, opt, (X, y), digits["val"], early_stopping=0)


def test_history_as_dict_round_trips_through_json():
    h = History(loss=[1.0, 0.5], accuracy=[0.5, None], lr=[0.1, 0.1], epoch_time=[0.1, 0.2])
    assert json.loads(json.dumps(h.as_dict())) == h.as_dict()
