"""The `mxcc` command (frontend/cli.py): help, one-line errors with exit status 2, and
`mxcc compile` / `python -m mxcc compile` writing a bundle that builds and answers like Python."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mxcc as mx
from mxcc import cli

SCRIPT = Path(sys.executable).with_name("mxcc")


def small_net():
    x = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=6, name="fc0")
    x = mx.sym.Activation(x, act_type="relu", name="relu0")
    x = mx.sym.FullyConnected(x, num_hidden=3, name="fc1")
    return mx.sym.SoftmaxOutput(x, name="softmax")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    d = tmp_path_factory.mktemp("ckpt")
    sym = small_net()
    rng = np.random.default_rng(3)
    arg = {"fc0_weight": rng.standard_normal((6, 5)), "fc0_bias": rng.standard_normal(6),
           "fc1_weight": rng.standard_normal((3, 6)), "fc1_bias": rng.standard_normal(3)}
    arg = {k: mx.nd.array(v) for k, v in arg.items()}
    mx.model.save_checkpoint(str(d / "tiny"), 3, sym, arg, {})
    return d, sym, arg


def run(*args, cwd=None):
    return subprocess.run(list(args), capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.mark.parametrize("prog", [[str(SCRIPT)], [sys.executable, "-m", "mxcc"]], ids=["script", "module"])
def test_help(prog):
    if prog[0] == str(SCRIPT) and not SCRIPT.exists():
        pytest.skip("the mxcc script is not installed (pip install -e .)")
    r = run(*prog, "--help")
    assert r.returncode == 0 and "compile" in r.stdout and "usage: mxcc" in r.stdout
    r = run(*prog, "compile", "--help")
    assert r.returncode == 0
    for opt in ("SYMBOL_JSON", "PARAMS", "--shape", "--dtype", "--name", "--target", "--embed-weights", "-o OUTDIR",
                "make -C OUTDIR"):
        assert opt in r.stdout, opt
    r = run(*prog, "--version")
    assert r.returncode == 0 and r.stdout.startswith("mxcc ")


def _errors(checkpoint, tmp_path):
    d, _, _ = checkpoint
    sym, params = str(d / "tiny-symbol.json"), str(d / "tiny-0003.params")
    out = str(tmp_path / "out")
    return [
        ([], "a command is required"),
        (["frobnicate"], "invalid choice"),
        (["compile", sym, params, "-o", out], "required: --shape"),
        (["compile", sym, params, "--shape", "data=2,5"], "required: -o"),
        (["compile", sym, params, "--shape", "data=2,x", "-o", out], "expected NAME=D1,D2"),
        (["compile", sym, params, "--shape", "data=2,0", "-o", out], "positive"),
        (["compile", sym, params, "--shape", "data=2,5", "--dtype", "float16", "-o", out], "invalid choice"),
        (["compile", sym, params, "--shape", "data=2,5", "--target", "cuda", "-o", out], "invalid choice"),
        (["compile", sym, params, "--shape", "data=2,5", "--name", "my-net", "-o", out], "not a valid C identifier"),
        (["compile", sym, str(d / "missing.params"), "--shape", "data=2,5", "-o", out], "does not exist"),
        (["compile", params, params, "--shape", "data=2,5", "-o", out], "SYMBOL_JSON"),
        (["compile", sym, sym, "--shape", "data=2,5", "-o", out], "PARAMS"),
        (["compile", sym, params, "--shape", "image=2,5", "-o", out], "not an argument"),
        (["compile", sym, params, "--shape", "data=2,7", "-o", out], "fc0"),
        (["compile", sym, params, "--shape", "data=2,5", "--shape", "data=2,5", "-o", out], "twice"),
        (["compile", sym, params, "--shape", "data=2,5", "-o", sym], "not a directory"),
        (["compile", sym, params, "--shape", "data=2,5", "--bogus", "-o", out], "unrecognized arguments"),
    ]


def call(argv):
    """cli.main's exit status, whether it returns it or argparse exits."""
    try:
        return cli.main(argv)
    except SystemExit as e:
        return e.code


def test_wrong_arguments_exit_2_with_one_line(checkpoint, tmp_path, capsys):
    for argv, reason in _errors(checkpoint, tmp_path):
        rc = call(argv)
        err = capsys.readouterr().err
        assert rc == 2, (argv, rc, err)
        assert len(err.strip().splitlines()) == 1, (argv, err)
        assert reason in err, (argv, err)
    assert not (tmp_path / "out").exists()


def test_module_compile_builds_and_matches_python(checkpoint, tmp_path):
    d, sym, arg = checkpoint
    out = tmp_path / "bundle"
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-m", "mxcc", "compile", str(d / "tiny-symbol.json"),
                        str(d / "tiny-0003.params"), "--shape", "data=2,5", "-o", str(out)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "wrote bundle 'tiny'" in r.stdout and "arena" in r.stdout
    for f in ("tiny.h", "tiny.c", "tiny.weights", "main.c", "Makefile", "README.md"):
        assert (out / f).exists(), f
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    b = subprocess.run(["make", "-s", "CFLAGS=-O2 -std=c99 -Wall -Wextra -Werror -pedantic"], cwd=out,
                       capture_output=True, text=True)
    assert b.returncode == 0, b.stderr
    x = np.random.default_rng(0).standard_normal((3, 2, 5)).astype(np.float32)
    x.tofile(out / "x.raw")
    r = subprocess.run(["./tiny", "x.raw"], cwd=out, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = np.array([[float(v) for v in line.split()] for line in r.stdout.split("\n") if line])
    ex = sym.simple_bind(mx.cpu(), grad_req="null", data=(2, 5))
    ex.copy_params_from(arg)
    ref = np.stack([ex.forward(data=x[i])[0].asnumpy().ravel() for i in range(3)])
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-7)


def test_compile_embed_and_default_name(checkpoint, tmp_path, capsys):
    d, _, _ = checkpoint
    rc = cli.main(["compile", str(d / "tiny-symbol.json"), str(d / "tiny-0003.params"), "--shape", "data=(1, 5)",
                   "--dtype", "float64", "--embed-weights", "-o", str(tmp_path)])
    assert rc == 0, capsys.readouterr().err
    assert (tmp_path / "tiny_weights.c").exists() and not (tmp_path / "tiny.weights").exists()
    header = (tmp_path / "tiny.h").read_text()
    assert 'TINY_INPUT0_DTYPE "float64"' in header and "TINY_INPUT0_BYTES 40" in header
