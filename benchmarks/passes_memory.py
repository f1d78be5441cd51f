"""Memory planning rows for benchmarks/passes.py: planned vs naive arena bytes (passes/plan_memory.py)
for LeNet and a ResNet-18-like net at batch 64, training and inference, and ResNet training with
mirror (recomputation, passes/mirror.py) on vs off.

    .venv/bin/python benchmarks/passes_memory.py [--time]

Issue 5 targets: training arena <= 50% of naive, inference <= 25%; with mirror, ResNet training
memory <= 60% of mirror off for <= 30% more time (--time measures a training step both ways).
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import machine, median_time, table  # noqa: E402

import mxcc as mx  # noqa: E402


def lenet():
    """The seed's LeNet (tests/test_lenet_mnist.py)."""
    data = mx.sym.Variable("data")
    conv1 = mx.sym.Convolution(data=data, kernel=(5, 5), num_filter=20)
    pool1 = mx.sym.Pooling(data=conv1, pool_type="max", kernel=(2, 2), stride=(2, 2))
    conv2 = mx.sym.Convolution(data=pool1, kernel=(5, 5), num_filter=50)
    pool2 = mx.sym.Pooling(data=conv2, pool_type="max", kernel=(2, 2), stride=(2, 2))
    fc1 = mx.sym.FullyConnected(data=mx.sym.Flatten(data=pool2), num_hidden=500)
    fc2 = mx.sym.FullyConnected(data=mx.sym.Activation(data=fc1, act_type="relu"), num_hidden=10)
    return mx.sym.SoftmaxOutput(data=fc2, name="softmax")


def lenet_tanh():
    """The classic LeNet (REFERENCE.md): conv 20 5x5, tanh, max pool; conv 50 5x5, tanh, max pool;
    fc 500, tanh; fc 10; SoftmaxOutput."""
    x = mx.sym.Variable("data")
    for filters in (20, 50):
        x = mx.sym.Convolution(data=x, kernel=(5, 5), num_filter=filters)
        x = mx.sym.Pooling(data=mx.sym.Activation(data=x, act_type="tanh"), pool_type="max", kernel=(2, 2),
                           stride=(2, 2))
    x = mx.sym.Activation(data=mx.sym.FullyConnected(data=mx.sym.Flatten(data=x), num_hidden=500), act_type="tanh")
    return mx.sym.SoftmaxOutput(data=mx.sym.FullyConnected(data=x, num_hidden=10), name="softmax")


def resnet18_like(num_classes=10):
    """ResNet-18's layout (a 3x3 stem, 4 stages of 2 basic blocks, 64..512 filters, conv/BN/relu
    with residual adds, global average pooling) for 32x32 inputs."""
    def conv_bn(x, name, filters, kernel, stride, relu):
        x = mx.sym.Convolution(data=x, num_filter=filters, kernel=(kernel, kernel), stride=(stride, stride),
                               pad=(kernel // 2, kernel // 2), no_bias=True, name=name + "_conv")
        x = mx.sym.BatchNorm(data=x, fix_gamma=False, name=name + "_bn")
        return mx.sym.Activation(data=x, act_type="relu", name=name + "_relu") if relu else x

    x = conv_bn(mx.sym.Variable("data"), "stem", 64, 3, 1, True)
    for s, filters in enumerate((64, 128, 256, 512)):
        for u in range(2):
            down = s > 0 and u == 0
            name = f"stage{s + 1}_unit{u + 1}"
            y = conv_bn(x, name + "_a", filters, 3, 2 if down else 1, True)
            y = conv_bn(y, name + "_b", filters, 3, 1, False)
            short = conv_bn(x, name + "_sc", filters, 1, 2, False) if down else x
            x = mx.sym.Activation(data=y + short, act_type="relu", name=name + "_out")
    x = mx.sym.Pooling(data=x, pool_type="avg", global_pool=True, kernel=(1, 1))
    x = mx.sym.FullyConnected(data=mx.sym.Flatten(data=x), num_hidden=num_classes)
    return mx.sym.SoftmaxOutput(data=x, name="softmax")


def _mb(n):
    return f"{n / 1e6:.1f} MB"


def _step_time(ex):
    def step():
        ex.forward(is_train=True)
        ex.backward()
        ex.grad_arrays[-1].wait_to_read()
    return median_time(step, repeat=3, warmup=1)


def memory_rows(batch=64, timed=False):
    """Rows: net, program, naive, planned, planned/naive, target, met."""
    nets = [("LeNet", lenet(), (batch, 1, 28, 28)), ("LeNet-tanh", lenet_tanh(), (batch, 1, 28, 28)),
            ("ResNet-18-like", resnet18_like(), (batch, 3, 32, 32))]
    rows = []
    for name, sym, shape in nets:
        ex = sym.simple_bind(mx.cpu(), data=shape, softmax_label=(batch,))
        for is_train, target in ((True, 0.50), (False, 0.25)):
            p = ex.memory_plan(is_train=is_train)
            ratio = p["planned_bytes"] / p["naive_bytes"]
            rows.append([name, p["program"], _mb(p["naive_bytes"]), _mb(p["planned_bytes"]), f"{ratio:.0%}",
                         f"<= {target:.0%} of naive", "yes" if ratio <= target else "no"])
        if name.startswith("ResNet"):
            base = ex.memory_plan(is_train=True)["planned_bytes"]
            mex = sym.simple_bind(mx.cpu(), data=shape, softmax_label=(batch,), mirror=True)
            p = mex.memory_plan(is_train=True)
            ratio = p["planned_bytes"] / base
            rows.append([name, "training, mirror on", _mb(base) + " (mirror off)", _mb(p["planned_bytes"]),
                         f"{ratio:.0%}", "<= 60% of mirror off", "yes" if ratio <= 0.60 else "no"])
            if timed:
                t_off, t_on = _step_time(ex), _step_time(mex)
                rows.append([name, "training step time", f"{t_off * 1e3:.0f} ms (mirror off)",
                             f"{t_on * 1e3:.0f} ms (mirror on)", f"{t_on / t_off:.0%}", "<= 130% of mirror off",
                             "yes" if t_on <= 1.3 * t_off else "no"])
    return rows


HEADER = ["net (batch 64)", "program", "naive", "planned", "ratio", "target", "met"]

if __name__ == "__main__":
    t0 = time.time()
    rows = memory_rows(timed="--time" in sys.argv)
    print(machine())
    print(table(rows, HEADER))
    print(f"({time.time() - t0:.0f} s including compiles)")
