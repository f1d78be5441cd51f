"""mx.metric against numpy float64 references, and mx.callback's log lines."""
from __future__ import annotations

import logging
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx

RNG = np.random.RandomState(0)


def _probs(n, c, seed=0):
    p = np.random.RandomState(seed).uniform(0.05, 1, (n, c))
    return p / p.sum(axis=1, keepdims=True)


def nd(x, dtype="float32"):
    return mx.nd.array(x, dtype=dtype)


# ---- classification ------------------------------------------------------------------------------


def test_accuracy_over_batches():
    m = mx.metric.Accuracy()
    total, correct = 0, 0
    for seed in range(3):
        p = _probs(7, 4, seed)
        y = np.random.RandomState(10 + seed).randint(0, 4, 7)
        m.update([nd(y)], [nd(p)])
        correct += (p.argmax(axis=1) == y).sum()
        total += 7
    assert m.get() == ("accuracy", pytest.approx(correct / total))
    assert m.num_inst == total and m.sum_metric == correct
    assert m.get_name_value() == [("accuracy", pytest.approx(correct / total))]
    m.reset_local()
    assert math.isnan(m.get()[1]) and m.get_global()[1] == pytest.approx(correct / total)
    m.reset()
    assert math.isnan(m.get_global()[1])


def test_accuracy_forms():
    # single arrays instead of lists (the seed program's accuracy.update(test_data.label, prediction))
    p, y = _probs(10, 3), np.arange(10) % 3
    m = mx.metric.create("acc")
    m.update(nd(y), nd(p))
    assert m.get()[1] == pytest.approx((p.argmax(1) == y).mean())
    # class indices as predictions, and another class axis
    m = mx.metric.Accuracy(axis=0)
    m.update([nd(y)], [nd(p.T)])
    assert m.get()[1] == pytest.approx((p.argmax(1) == y).mean())
    m = mx.metric.Accuracy()
    m.update([nd([1, 2, 0])], [nd([1, 2, 2])])
    assert m.get()[1] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="does not match"):
        m.update([nd(y), nd(y)], [nd(p)])


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 20), c=st.integers(2, 6), seed=st.integers(0, 100))
def test_accuracy_any_shape(n, c, seed):
    p = _probs(n, c, seed)
    y = np.random.RandomState(seed).randint(0, c, n)
    m = mx.metric.Accuracy()
    m.update([nd(y)], [nd(p)])
    assert m.get()[1] == pytest.approx((p.argmax(1) == y).mean())


def test_top_k_accuracy():
    p, y = _probs(12, 5, 3), np.random.RandomState(4).randint(0, 5, 12)
    m = mx.metric.create("top_k_accuracy", top_k=3)
    m.update([nd(y)], [nd(p)])
    top3 = np.argsort(-p, axis=1)[:, :3]
    assert m.name == "top_k_accuracy_3"
    assert m.get()[1] == pytest.approx(np.mean([y[i] in top3[i] for i in range(12)]))
    with pytest.raises(ValueError, match="Accuracy"):
        mx.metric.TopKAccuracy(top_k=1)


def _f1(y, pred):
    tp = ((pred == 1) & (y == 1)).sum()
    fp = ((pred == 1) & (y == 0)).sum()
    fn = ((pred == 0) & (y == 1)).sum()
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    return 2 * prec * rec / (prec + rec) if prec + rec else 0.0


def _mcc(y, pred):
    tp = float(((pred == 1) & (y == 1)).sum())
    fp = float(((pred == 1) & (y == 0)).sum())
    fn = float(((pred == 0) & (y == 1)).sum())
    tn = float(((pred == 0) & (y == 0)).sum())
    den = np.prod([t for t in (tp + fp, tp + fn, tn + fp, tn + fn) if t])
    return (tp * tn - fp * fn) / np.sqrt(den)


def test_f1_and_mcc_macro_and_micro():
    batches = [(np.random.RandomState(s).randint(0, 2, 16), _probs(16, 2, s + 20)) for s in range(3)]
    macro, micro = mx.metric.F1(), mx.metric.create("f1", average="micro")
    mcc = mx.metric.create("mcc", average="micro")
    for y, p in batches:
        for m in (macro, micro, mcc):
            m.update([nd(y)], [nd(p)])
    assert macro.get()[1] == pytest.approx(np.mean([_f1(y, p.argmax(1)) for y, p in batches]))
    ys = np.concatenate([y for y, _ in batches])
    preds = np.concatenate([p.argmax(1) for _, p in batches])
    assert micro.get()[1] == pytest.approx(_f1(ys, preds))
    assert mcc.get()[1] == pytest.approx(_mcc(ys, preds))
    pcc = mx.metric.PCC()
    for y, p in batches:
        pcc.update([nd(y)], [nd(p)])
    assert pcc.get()[1] == pytest.approx(_mcc(ys, preds))  # binary PCC is MCC
    with pytest.raises(ValueError, match="binary"):
        macro.update([nd([0, 1, 2])], [nd(_probs(3, 3))])


def test_perplexity():
    p = _probs(6, 4, 7)
    y = np.array([0, 3, 1, -1, 2, 2])
    m = mx.metric.Perplexity(ignore_label=-1)
    m.update([nd(y)], [nd(p)])
    keep = y != -1
    logp = np.log(p[np.arange(6)[keep], y[keep]])
    assert m.get() == ("perplexity", pytest.approx(math.exp(-logp.mean()), rel=1e-5))
    m = mx.metric.Perplexity(ignore_label=None)
    m.update([nd(y[keep])], [nd(p[keep])])
    assert m.get()[1] == pytest.approx(math.exp(-logp.mean()), rel=1e-5)


# ---- regression and losses -----------------------------------------------------------------------


@pytest.mark.parametrize("name,fn", [
    ("mae", lambda a, b: np.abs(a - b).mean()),
    ("mse", lambda a, b: ((a - b) ** 2).mean()),
    ("rmse", lambda a, b: np.sqrt(((a - b) ** 2).mean())),
])
def test_regression_metrics_average_per_batch(name, fn):
    m = mx.metric.create(name)
    vals = []
    for s in range(3):
        r = np.random.RandomState(s)
        y, p = r.uniform(-2, 2, 5 + s), r.uniform(-2, 2, (5 + s, 1))
        m.update([nd(y)], [nd(p)])
        vals.append(fn(y.reshape(-1, 1), p))
    assert m.get() == (name, pytest.approx(np.mean(vals), rel=1e-5))


def test_cross_entropy_and_nll():
    p, y = _probs(9, 4, 1), np.random.RandomState(2).randint(0, 4, 9)
    ref = -np.log(p[np.arange(9), y] + 1e-12).mean()
    for name, shown in (("ce", "cross-entropy"), ("nll_loss", "nll-loss")):
        m = mx.metric.create(name)
        m.update([nd(y)], [nd(p)])
        assert m.get() == (shown, pytest.approx(ref, rel=1e-5))


def test_pearson_correlation():
    batches = [(np.random.RandomState(s).uniform(size=20), np.random.RandomState(s + 9).uniform(size=20))
               for s in range(3)]
    macro, micro = mx.metric.create("pearsonr"), mx.metric.PearsonCorrelation(average="micro")
    for y, p in batches:
        macro.update([nd(y)], [nd(p)])
        micro.update([nd(y)], [nd(p)])
    assert macro.get()[1] == pytest.approx(np.mean([np.corrcoef(p, y)[0, 1] for y, p in batches]), rel=1e-5)
    ys, ps = np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])
    assert micro.get()[1] == pytest.approx(np.corrcoef(ps, ys)[0, 1], rel=1e-5)


def test_loss_metric():
    m = mx.metric.Loss()
    m.update(None, [nd([1.0, 2.0]), nd([3.0])])
    assert m.get() == ("loss", pytest.approx(2.0))


# ---- composite, custom, create -------------------------------------------------------------------


def test_composite_and_create():
    p, y = _probs(8, 3), np.arange(8) % 3
    comp = mx.metric.create(["acc", "ce"])
    assert isinstance(comp, mx.metric.CompositeEvalMetric)
    comp.update([nd(y)], [nd(p)])
    names, values = comp.get()
    assert names == ["accuracy", "cross-entropy"]
    assert values == [pytest.approx((p.argmax(1) == y).mean()), pytest.approx(-np.log(p[np.arange(8), y]).mean())]
    assert comp.get_metric(0).name == "accuracy"
    with pytest.raises(ValueError, match="out of range"):
        comp.get_metric(5)
    acc = mx.metric.Accuracy(name="top1")
    assert mx.metric.create(acc) is acc
    again = mx.metric.create(**acc.get_config())
    assert type(again) is mx.metric.Accuracy and again.name == "top1"
    assert isinstance(mx.metric.create('["mse", {}]'), mx.metric.MSE)
    with pytest.raises(ValueError, match="unknown metric 'nope'"):
        mx.metric.create("nope")


def test_update_dict_selects_names():
    p, y = _probs(4, 2), np.array([0, 1, 1, 0])
    m = mx.metric.Accuracy(output_names=["out1"], label_names=["lab"])
    m.update_dict({"lab": nd(y), "other": nd(1 - y)}, {"out0": nd(1 - p), "out1": nd(p)})
    assert m.get()[1] == pytest.approx((p.argmax(1) == y).mean())


def test_custom_metrics():
    def mean_abs(label, pred):
        assert isinstance(label, np.ndarray) and isinstance(pred, np.ndarray)
        return np.abs(label - pred).mean()

    m = mx.metric.np(mean_abs)
    m.update([nd([1.0, 2.0])], [nd([1.5, 2.5])])
    assert m.get() == ("mean_abs", pytest.approx(0.5))
    c = mx.metric.create(lambda label, pred: (float((label == pred).sum()), label.size))
    assert c.name == "custom(<lambda>)"
    c.update([nd([1, 2, 3])], [nd([1, 0, 3])])
    assert c.get()[1] == pytest.approx(2 / 3)
    with pytest.raises(NotImplementedError):
        c.get_config()


# ---- callbacks -----------------------------------------------------------------------------------


def _param(epoch, nbatch, metric):
    return mx.callback.BatchEndParam(epoch=epoch, nbatch=nbatch, eval_metric=metric, locals=None)


def _acc_metric():
    m = mx.metric.Accuracy()
    m.update([nd([0, 1])], [nd([[1.0, 0.0], [1.0, 0.0]])])  # accuracy 0.5
    return m


def test_speedometer_log_lines(caplog):
    metric = _acc_metric()
    speed = mx.callback.Speedometer(batch_size=10, frequent=2)
    with caplog.at_level(logging.INFO):
        for n in range(5):
            speed(_param(3, n, metric))
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert re.fullmatch(r"Epoch\[3\] Batch \[0-2\]\tSpeed: [0-9.]+(e[+-]?\d+)? samples/sec\taccuracy=0\.500000|"
                        r"Epoch\[3\] Batch \[0-2\]\tSpeed: inf samples/sec\taccuracy=0\.500000", lines[0]), lines[0]
    assert lines[1].startswith("Epoch[3] Batch [2-4]\tSpeed: ") and lines[1].endswith("\taccuracy=nan")
    assert metric.num_inst == 0 and metric.global_num_inst == 2  # auto_reset clears the local tally only
    caplog.clear()
    keep = mx.callback.Speedometer(batch_size=10, frequent=2, auto_reset=False)
    metric = _acc_metric()
    with caplog.at_level(logging.INFO):
        for n in range(3):
            keep(_param(0, n, metric))
        mx.callback.Speedometer(4, 1)(_param(1, 0, None))
        quiet = mx.callback.Speedometer(4, 1)
        quiet(_param(1, 0, None))
        quiet(_param(1, 1, None))
    msgs = [r.getMessage() for r in caplog.records]
    assert re.fullmatch(r"Epoch\[0\] Batch \[0-2\]\tSpeed: \S+ samples/sec\taccuracy=0\.500000", msgs[0])
    assert re.fullmatch(r"Iter\[1\] Batch \[1\]\tSpeed: \S+ samples/sec", msgs[1])


def test_log_train_metric_and_validation(caplog):
    metric = _acc_metric()
    with caplog.at_level(logging.INFO):
        cb = mx.callback.log_train_metric(period=2, auto_reset=True)
        cb(_param(1, 3, metric))
        cb(_param(1, 4, metric))
        mx.callback.LogValidationMetricsCallback()(_param(2, 0, _acc_metric()))
        mx.callback.ProgressBar(total=4, length=8)(_param(0, 2, None))
    msgs = [r.getMessage() for r in caplog.records]
    assert msgs == ["Iter[1] Batch[4] Train-accuracy=0.500000", "Epoch[2] Validation-accuracy=0.500000",
                    "[====----] 50%\r"]
    assert metric.num_inst == 0


def test_checkpoint_callbacks(monkeypatch):
    saved = []
    monkeypatch.setattr(mx.callback, "save_checkpoint", lambda *a: saved.append(a))
    cb = mx.callback.do_checkpoint("model", period=2)
    for epoch in range(5):
        cb(epoch, "sym", {"w": 1}, {})
    assert saved == [("model", 2, "sym", {"w": 1}, {}), ("model", 4, "sym", {"w": 1}, {})]

    class Mod:
        def __init__(self):
            self.calls = []

        def save_checkpoint(self, *a):
            self.calls.append(a)

    mod = Mod()
    cb = mx.callback.module_checkpoint(mod, "m", period=3, save_optimizer_states=True)
    for epoch in range(6):
        cb(epoch)
    assert mod.calls == [("m", 3, True), ("m", 6, True)]
