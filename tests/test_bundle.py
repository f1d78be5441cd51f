"""Standalone C inference bundles (mxcc.compile_bundle, codegen/bundle.py): built with strict C99
flags (with and without OpenMP, and under ASan/UBSan), run without Python, and compared with the
Python executor; bad weight files are refused with a message."""
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx
from mxcc.bundle import compile_bundle
from mxcc.codegen.bundle import HEADER, MAGIC, check_name

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nets import lenet  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("make") is None or shutil.which(os.environ.get("CC", "cc")) is None,
                                reason="bundles need make and a C compiler")

STRICT = "-O3 -std=c99 -Wall -Wextra -Werror -pedantic"
SANITIZE = ("-O1 -g -std=c99 -Wall -Wextra -Werror -pedantic -fsanitize=address,undefined "
            "-fno-omit-frame-pointer -fno-sanitize-recover=all")
RTOL = 1e-5


# -- networks ----------------------------------------------------------------------------------------------
def mlp(hidden=(64, 32), classes=10):
    x = mx.sym.Variable("data")
    for i, h in enumerate(hidden):
        x = mx.sym.FullyConnected(x, num_hidden=h, name=f"fc{i}")
        x = mx.sym.Activation(x, act_type="tanh" if i % 2 == 0 else "sigmoid", name=f"act{i}")
    x = mx.sym.FullyConnected(x, num_hidden=classes, name="out")
    return mx.sym.SoftmaxOutput(x, name="softmax")


def resnet18_like(widths=(8, 16, 16, 32), classes=10):
    """ResNet-18's layout (a stem, four stages of two basic units, global pooling, FC) at small widths."""
    def unit(x, c, stride, name, proj):
        y = mx.sym.Convolution(x, num_filter=c, kernel=(3, 3), stride=(stride, stride), pad=(1, 1), no_bias=True,
                               name=name + "_conv1")
        y = mx.sym.Activation(mx.sym.BatchNorm(y, fix_gamma=False, name=name + "_bn1"), act_type="relu")
        y = mx.sym.Convolution(y, num_filter=c, kernel=(3, 3), pad=(1, 1), no_bias=True, name=name + "_conv2")
        y = mx.sym.BatchNorm(y, fix_gamma=False, name=name + "_bn2")
        if proj:
            x = mx.sym.Convolution(x, num_filter=c, kernel=(1, 1), stride=(stride, stride), no_bias=True,
                                   name=name + "_sc")
            x = mx.sym.BatchNorm(x, fix_gamma=False, name=name + "_scbn")
        return mx.sym.Activation(y + x, act_type="relu")
    x = mx.sym.Convolution(mx.sym.Variable("data"), num_filter=widths[0], kernel=(3, 3), pad=(1, 1), no_bias=True,
                           name="conv0")
    x = mx.sym.Activation(mx.sym.BatchNorm(x, fix_gamma=False, name="bn0"), act_type="relu")
    for s, c in enumerate(widths):
        for u in range(2):
            x = unit(x, c, 2 if s > 0 and u == 0 else 1, f"stage{s + 1}_unit{u + 1}", proj=u == 0 and s > 0)
    x = mx.sym.Pooling(x, global_pool=True, pool_type="avg", kernel=(1, 1), name="pool")
    x = mx.sym.FullyConnected(mx.sym.Flatten(x), num_hidden=classes, name="fc")
    return mx.sym.SoftmaxOutput(x, name="softmax")


def random_params(sym, shapes, seed=0, dtype="float32"):
    """arg:/aux: NDArrays scaled so activations stay O(1) (host-side test data)."""
    rng = np.random.default_rng(seed)
    arg_shapes, _, aux_shapes = sym.infer_shape(**shapes)
    params = {}
    for n, s in zip(sym.list_arguments(), arg_shapes):
        if n in shapes or n.endswith("label"):
            continue
        scale = 1.0 / np.sqrt(np.prod(s[1:])) if len(s) > 1 else 0.1
        params["arg:" + n] = mx.nd.array(rng.standard_normal(s) * scale, dtype=dtype)
    for n, s in zip(sym.list_auxiliary_states(), aux_shapes):
        v = rng.uniform(0.5, 1.5, s) if n.endswith("var") else rng.standard_normal(s) * 0.1
        params["aux:" + n] = mx.nd.array(v, dtype=dtype)
    return params


# -- helpers -----------------------------------------------------------------------------------------------
def make(outdir, cflags=STRICT, **variables):
    cmd = ["make", "-s", f"CFLAGS={cflags}"] + [f"{k}={v}" for k, v in variables.items()]
    r = subprocess.run(cmd, cwd=outdir, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{' '.join(cmd)} failed in {outdir}:\n{r.stdout}\n{r.stderr[-4000:]}"
    assert "warning" not in r.stderr, r.stderr


def run_binary(outdir, name, inputs, *args, env=None, check=True):
    """Write each input (records, *shape) as raw bytes, run ./name, parse one line per output."""
    paths = []
    for k, a in enumerate(inputs):
        p = Path(outdir) / f"in{k}.raw"
        np.ascontiguousarray(a).tofile(p)
        paths.append(str(p))
    r = subprocess.run([f"./{name}", *args, *paths], cwd=outdir, capture_output=True, text=True, timeout=600,
                       env=env)
    if check:
        assert r.returncode == 0, f"./{name} failed ({r.returncode}):\n{r.stderr[-4000:]}"
    return r


def parse_outputs(stdout, n_outputs):
    lines = stdout.strip().splitlines()
    rows = [np.array([float(v) for v in line.split()]) for line in lines]
    return [np.stack(rows[j::n_outputs]) for j in range(n_outputs)]


def executor_outputs(sym, params, shapes, records, dtype="float32"):
    """The Python executor's outputs for each record (float64 copies)."""
    ex = sym.simple_bind(mx.cpu(), grad_req="null", type_dict={k: dtype for k in sym.list_arguments()}, **shapes)
    args = {k.split(":", 1)[1]: v for k, v in params.items() if k.startswith("arg:")}
    aux = {k.split(":", 1)[1]: v for k, v in params.items() if k.startswith("aux:")}
    ex.copy_params_from(args, aux)
    names = list(shapes)
    outs = []
    for r in range(len(records[0])):
        res = ex.forward(**{n: records[k][r] for k, n in enumerate(names)})
        outs.append([o.asnumpy().astype(np.float64).ravel() for o in res])
    return [np.stack([o[j] for o in outs]) for j in range(len(outs[0]))]


def assert_close(got, ref, rtol=RTOL):
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    assert got.shape == ref.shape
    err = np.abs(got - ref) / np.maximum(np.abs(ref), 1e-3 * np.abs(ref).max())
    assert err.max() <= rtol, f"max relative error {err.max():.3g} > {rtol}"


def records_for(shapes, n, seed=1, dtype="float32"):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n, *s)).astype(dtype) for s in shapes.values()]


def check_against_executor(sym, shapes, outdir, name, n_records=3, dtype="float32", bare=False, **make_vars):
    """bare: pass the parameters without their arg:/aux: prefixes (compile_bundle sorts them by name)."""
    params = random_params(sym, shapes, dtype=dtype)
    given = {k.split(":", 1)[1]: v for k, v in params.items()} if bare else params
    compile_bundle(sym, given, shapes, outdir, name=name, dtype=dtype)
    make(outdir, **make_vars)
    recs = records_for(shapes, n_records, dtype=dtype)
    got = parse_outputs(run_binary(outdir, name, recs).stdout, len(sym.list_outputs()))
    ref = executor_outputs(sym, params, shapes, recs, dtype=dtype)
    for g, r in zip(got, ref):
        assert_close(g, r)
    return params, recs


LENET_SHAPES = {"data": (1, 1, 28, 28)}
LENET = lenet()  # one symbol: its automatic layer names are the parameter names


@pytest.fixture(scope="module")
def lenet_bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("lenet")
    params, recs = check_against_executor(LENET, LENET_SHAPES, out, "lenet", n_records=4)
    return out, params, recs


# -- same answers ----------------------------------------------------------------------------------------
def test_lenet_matches_executor_and_files(lenet_bundle):
    out, _, _ = lenet_bundle
    names = sorted(p.name for p in out.iterdir())
    for f in ("lenet.h", "lenet.c", "lenet.weights", "main.c", "Makefile", "README.md", "lenet", "liblenet.a"):
        assert f in names
    header = (out / "lenet.h").read_text()
    for macro in ("LENET_INPUT0_BYTES 3136", "LENET_OUTPUT0_SIZE 10", "LENET_ARENA_BYTES", "LENET_MEMORY_BYTES",
                  "LENET_WEIGHTS_BYTES", "LENET_INPUT0_SHAPE { 1, 1, 28, 28 }"):
        assert macro in header
    assert (out / "lenet.weights").stat().st_size == int(header.split("LENET_WEIGHTS_FILE_BYTES ")[1].split()[0])


def test_same_program_as_the_executor(tmp_path):
    """The bundle's kernels and schedule are the program the executor's JIT compiles (same passes,
    same code generation): the same program name, which hashes every kernel and step."""
    sym, shapes = resnet18_like(widths=(4, 8, 8, 8)), {"data": (1, 3, 8, 8)}
    params = random_params(sym, shapes)
    b = compile_bundle(sym, params, shapes, tmp_path, name="same")
    ex = sym.simple_bind(mx.cpu(), grad_req="null", **shapes)
    jit = ex._inference_program()[0]
    assert b.info["program"] == jit.gp.program.name and b.arena_bytes == jit.gp.arena_bytes
    body = (tmp_path / "same.c").read_text()
    for kernel in [e for e in jit.gp.program.entries if not e.startswith("mx_graph_")]:
        assert f"int {kernel}(" in body


def test_lenet_without_openmp(lenet_bundle, tmp_path):
    out, params, recs = lenet_bundle
    shutil.copytree(out, tmp_path / "b")
    subprocess.run(["make", "-s", "clean"], cwd=tmp_path / "b", check=True)
    make(tmp_path / "b", OPENMP="")
    got = parse_outputs(run_binary(tmp_path / "b", "lenet", recs).stdout, 1)[0]
    assert_close(got, executor_outputs(LENET, params, LENET_SHAPES, recs)[0])


def test_mlp_float64(tmp_path):
    check_against_executor(mlp(), {"data": (3, 20)}, tmp_path, "mlp64", dtype="float64")


@settings(max_examples=2, deadline=None)
@given(batch=st.integers(1, 5), hidden=st.lists(st.integers(1, 40), min_size=1, max_size=3),
       features=st.integers(1, 30))
def test_mlp_matches_executor(tmp_path_factory, batch, hidden, features):
    out = tmp_path_factory.mktemp("mlp")
    check_against_executor(mlp(tuple(hidden)), {"data": (batch, features)}, out, "mlp", n_records=2)


def test_resnet18_like_matches_executor(tmp_path):
    check_against_executor(resnet18_like(), {"data": (2, 3, 16, 16)}, tmp_path, "resnet", n_records=2, bare=True)


def test_embedded_weights(lenet_bundle, tmp_path):
    _, params, recs = lenet_bundle
    compile_bundle(LENET, params, LENET_SHAPES, tmp_path, name="lenet", embed_weights=True)
    assert not (tmp_path / "lenet.weights").exists()
    assert "LENET_EMBEDDED_WEIGHTS 1" in (tmp_path / "lenet.h").read_text()
    make(tmp_path)
    got = parse_outputs(run_binary(tmp_path, "lenet", recs).stdout, 1)[0]
    assert_close(got, executor_outputs(LENET, params, LENET_SHAPES, recs)[0])
    # a target without files or OpenMP: the library part still compiles cleanly
    r = subprocess.run(["cc", *STRICT.split(), "-DLENET_NO_STDIO", "-c", "lenet.c", "-o", "nofiles.o"], cwd=tmp_path,
                       capture_output=True, text=True)
    assert r.returncode == 0 and not r.stderr, r.stderr
    symbols = subprocess.run(["nm", "nofiles.o"], cwd=tmp_path, capture_output=True, text=True).stdout
    assert "lenet_create_from_buffer" in symbols and " T lenet_create\n" not in symbols and "fopen" not in symbols


# -- memory safety and bad weights -------------------------------------------------------------------------
HARNESS = r"""
#define _POSIX_C_SOURCE 200112L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lenet.h"

static unsigned char memory_a[LENET_MEMORY_BYTES + 3], memory_b[LENET_MEMORY_BYTES];
static const char *weights_path;
static float x[LENET_INPUT0_SIZE], ya[LENET_OUTPUT0_SIZE];

/* a context per thread, run at the same time as the others: the same answers */
static void *worker(void *arg) {
  lenet_ctx *c;
  float y[LENET_OUTPUT0_SIZE];
  int i;
  (void)arg;
  if (lenet_create(&c, weights_path, NULL, 0, NULL, 0) != LENET_OK) return (void *)1;
  for (i = 0; i < 20; i++) {
    if (lenet_set_input(c, 0, x, sizeof x) || lenet_run(c) || lenet_get_output(c, 0, y, sizeof y) ||
        memcmp(y, ya, sizeof y) != 0) {
      lenet_destroy(c);
      return (void *)1;
    }
  }
  lenet_destroy(c);
  return NULL;
}

int main(int argc, char **argv) {
  lenet_ctx *a = NULL, *b = NULL, *c = NULL;
  char err[LENET_ERROR_BYTES];
  static float yb[LENET_OUTPUT0_SIZE];
  pthread_t threads[3];
  void *status;
  size_t i;
  int rc;
  FILE *f;
  unsigned char *w;
  long n;
  if (argc != 2) return 2;
  /* memory too small: an error, not a crash */
  rc = lenet_create(&a, argv[1], memory_a, LENET_MEMORY_BYTES - 1, err, sizeof err);
  printf("small %d %s\n", rc, err);
  if (rc != LENET_ERR_MEMORY || a != NULL) return 3;
  /* caller memory at an odd address, and a second context on malloc'ed memory */
  if (lenet_create(&a, argv[1], memory_a + 3, LENET_MEMORY_BYTES, err, sizeof err) != LENET_OK) return 4;
  if (lenet_create(&b, argv[1], NULL, 0, err, sizeof err) != LENET_OK) return 5;
  for (i = 0; i < LENET_INPUT0_SIZE; i++) x[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
  if (lenet_set_input(a, 0, x, sizeof x) || lenet_set_input(b, 0, x, sizeof x)) return 6;
  if (lenet_run(a) || lenet_run(b) || lenet_get_output(a, 0, ya, sizeof ya) || lenet_get_output(b, 0, yb, sizeof yb))
    return 7;
  if (memcmp(ya, yb, sizeof ya) != 0) return 8;
  weights_path = argv[1];
  for (i = 0; i < 3; i++)
    if (pthread_create(&threads[i], NULL, worker, NULL) != 0) return 15;
  for (i = 0; i < 3; i++)
    if (pthread_join(threads[i], &status) != 0 || status != NULL) return 16;
  /* wrong sizes and indices */
  rc = lenet_set_input(a, 0, x, sizeof x - 4);
  printf("bytes %d %s\n", rc, lenet_last_error(a));
  if (rc != LENET_ERR_ARGUMENT) return 9;
  rc = lenet_get_output(a, 1, ya, sizeof ya);
  printf("index %d %s\n", rc, lenet_last_error(a));
  if (rc != LENET_ERR_INDEX || lenet_input(a, -1) != NULL || lenet_output(a, 5) != NULL) return 10;
  /* the weights from memory, whole and truncated */
  f = fopen(argv[1], "rb");
  if (f == NULL) return 11;
  w = (unsigned char *)malloc(LENET_WEIGHTS_FILE_BYTES);
  n = (long)fread(w, 1, LENET_WEIGHTS_FILE_BYTES, f);
  fclose(f);
  if (n != LENET_WEIGHTS_FILE_BYTES) return 12;
  if (lenet_create_from_buffer(&c, w, (size_t)n, memory_b, sizeof memory_b, err, sizeof err) != LENET_OK) return 13;
  lenet_destroy(c);
  rc = lenet_create_from_buffer(&c, w, (size_t)n - 1, memory_b, sizeof memory_b, err, sizeof err);
  printf("truncated %d %s\n", rc, err);
  if (rc != LENET_ERR_FORMAT || c != NULL) return 14;
  free(w);
  lenet_destroy(a);
  lenet_destroy(b);
  lenet_destroy(NULL);
  printf("ok %s\n", lenet_strerror(LENET_ERR_CHECKSUM));
  return 0;
}
"""


@pytest.fixture(scope="module")
def sanitized_lenet(lenet_bundle, tmp_path_factory):
    out, params, recs = lenet_bundle
    d = tmp_path_factory.mktemp("lenet_asan")
    compile_bundle(LENET, params, LENET_SHAPES, d, name="lenet")
    (d / "harness.c").write_text(HARNESS)
    make(d, cflags=SANITIZE, OPENMP="")
    r = subprocess.run(["cc", *SANITIZE.split(), "-pthread", "-o", "harness", "harness.c", "liblenet.a", "-lm"], cwd=d,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return d, params, recs


SAN_ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0", UBSAN_OPTIONS="print_stacktrace=1")


def test_sanitized_run_matches(sanitized_lenet):
    d, params, recs = sanitized_lenet
    r = run_binary(d, "lenet", recs, env=SAN_ENV)
    assert "runtime error" not in r.stderr and "AddressSanitizer" not in r.stderr, r.stderr
    assert_close(parse_outputs(r.stdout, 1)[0], executor_outputs(LENET, params, LENET_SHAPES, recs)[0])


def test_sanitized_api_harness(sanitized_lenet):
    d, _, _ = sanitized_lenet
    r = subprocess.run(["./harness", "lenet.weights"], cwd=d, capture_output=True, text=True, env=SAN_ENV)
    assert r.returncode == 0, f"harness exit {r.returncode}\n{r.stdout}\n{r.stderr[-3000:]}"
    assert "runtime error" not in r.stderr and "Sanitizer" not in r.stderr, r.stderr
    assert "LENET_MEMORY_BYTES" in r.stdout and "takes 3136 bytes, got 3132" in r.stdout
    assert "index 1, the model has 1 outputs" in r.stdout and "truncated" in r.stdout


def _corrupt(blob: bytes, how: str) -> bytes:
    b = bytearray(blob)
    if how == "magic":
        b[0:8] = b"NOTMXCC\0"
    elif how == "version":
        b[8:12] = struct.pack("<I", 7)
    elif how == "truncated":
        del b[len(b) // 2:]
    elif how == "header":
        del b[20:]
    elif how == "longer":
        b += b"\0"
    elif how == "checksum":
        b[-5] ^= 0x40
    elif how == "model":
        b[32] ^= 1
    elif how == "entry":
        b[HEADER.size + 8] ^= 4
    elif how == "empty":
        b = bytearray()
    return bytes(b)


@pytest.mark.parametrize("how,message", [
    ("magic", "not an mxcc weights file"), ("version", "version 7"), ("truncated", "truncated"),
    ("header", "no complete"), ("longer", "longer than"), ("checksum", "checksum mismatch"),
    ("model", "another model"), ("entry", "weights entry 0"), ("empty", "truncated"), ("missing", "cannot open"),
])
def test_bad_weights_are_refused(sanitized_lenet, how, message):
    d, _, recs = sanitized_lenet
    bad = d / f"bad-{how}.weights"
    if how != "missing":
        bad.write_bytes(_corrupt((d / "lenet.weights").read_bytes(), how))
    r = run_binary(d, "lenet", recs, "-w", bad.name, env=SAN_ENV, check=False)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert message in r.stderr, r.stderr
    assert "Sanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr


def test_weights_file_format(lenet_bundle):
    out, params, _ = lenet_bundle
    blob = (out / "lenet.weights").read_bytes()
    magic, version, count, nbytes, crc, _, _ = HEADER.unpack_from(blob)
    assert magic == MAGIC and version == 1 and count == len(params)
    start = len(blob) - nbytes
    assert start % 64 == 0 and zlib.crc32(blob[start:]) == crc
    first = struct.unpack_from("<QQ", blob, HEADER.size)
    w = np.frombuffer(blob[start + first[0]:start + first[0] + first[1]], np.float32)
    np.testing.assert_array_equal(w, params["arg:convolution0_weight"].asnumpy().ravel())


# -- accuracy on real data ---------------------------------------------------------------------------------
def test_lenet_bundle_mnist_accuracy_equals_python(tmp_path):
    """The seed's LeNet, trained briefly on MNIST, classifies the 2,000-image evaluation split with the
    same accuracy (and the same probabilities within 1e-5) as a bundle (batch 100) and in Python."""
    from datasets import mnist_split

    files = mnist_split(tmp_path)
    mx.random.seed(42)
    train = mx.io.MNISTIter(image=files["train"][0], label=files["train"][1], data_shape=(1, 28, 28),
                            batch_size=100, shuffle=True, seed=1, num_parts=2, part_index=0)  # half: quick
    test = mx.io.MNISTIter(image=files["eval"][0], label=files["eval"][1], data_shape=(1, 28, 28), batch_size=100)
    mod = mx.mod.Module(symbol=LENET, context=mx.cpu())
    mod.fit(train, optimizer="sgd", optimizer_params={"learning_rate": 0.05, "momentum": 0.9},
            initializer=mx.init.Xavier(magnitude=2.24), num_epoch=1)
    ref = mod.predict(test).asnumpy()
    test.reset()
    batches = [(b.data[0].asnumpy(), b.label[0].asnumpy()) for b in test]
    x, y = np.stack([b[0] for b in batches]), np.concatenate([b[1] for b in batches])
    arg, aux = mod.get_params()
    params = {**{"arg:" + k: v for k, v in arg.items()}, **{"aux:" + k: v for k, v in aux.items()}}
    compile_bundle(LENET, params, {"data": (100, 1, 28, 28)}, tmp_path / "b", name="lenet")
    make(tmp_path / "b")
    probs = parse_outputs(run_binary(tmp_path / "b", "lenet", [x]).stdout, 1)[0].reshape(-1, 10)
    assert_close(probs, ref)
    bundle_acc, python_acc = (probs.argmax(1) == y).mean(), (ref.argmax(1) == y).mean()
    assert bundle_acc == python_acc and bundle_acc > 0.8, (bundle_acc, python_acc)


# -- errors ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["9lenet", "le-net", "", "int", "main", "mx_net", "a" * 65, "lé"])
def test_bad_names(name):
    with pytest.raises(ValueError, match="bundle name"):
        check_name(name)


def test_compile_errors(tmp_path):
    sym = lenet()
    params = random_params(sym, LENET_SHAPES)
    with pytest.raises(ValueError, match="not an argument"):
        compile_bundle(sym, params, {"image": (1, 1, 28, 28)}, tmp_path)
    with pytest.raises(ValueError, match="dtype"):
        compile_bundle(sym, params, LENET_SHAPES, tmp_path, dtype="float16")
    bias, last = sym.list_arguments()[2], sym.list_arguments()[-3]  # first conv's bias, last FC's weight
    with pytest.raises(ValueError, match=f"no value for argument '{bias}'"):
        compile_bundle(sym, {k: v for k, v in params.items() if k != "arg:" + bias}, LENET_SHAPES, tmp_path)
    with pytest.raises(ValueError, match="shape"):
        compile_bundle(sym, params, {"data": (1, 0, 28, 28)}, tmp_path)
    wrong = dict(params, **{"arg:" + last: mx.nd.zeros((10, 7))})
    with pytest.raises(ValueError, match=f"'{last}' has shape \\(10, 7\\)"):
        compile_bundle(sym, wrong, LENET_SHAPES, tmp_path)
    with pytest.raises(ValueError, match="target"):
        compile_bundle(sym, params, LENET_SHAPES, tmp_path, target="cuda")
    assert not any(tmp_path.iterdir())


def test_export_bundle_from_hybridized_block(tmp_path):
    """export_bundle (HybridBlock.export_bundle): a hybridized Gluon block, exported the MXNet way and
    compiled; the bundle answers like the block."""
    from mxcc.bundle import export_bundle
    from mxcc.gluon import nn

    net = nn.HybridSequential()
    net.add(nn.Conv2D(4, kernel_size=3, activation="relu"), nn.MaxPool2D(), nn.Flatten(), nn.Dense(5))
    net.initialize()
    net.hybridize()
    x = np.random.default_rng(2).standard_normal((2, 2, 1, 8, 8)).astype(np.float32)
    ref = np.stack([net(mx.nd.array(x[i])).asnumpy().ravel() for i in range(2)])
    b = net.export_bundle(tmp_path, (2, 1, 8, 8), name="gnet")
    assert [p.name for p in b.inputs] == ["data"] and b.outputs[0].shape == (2, 5)
    make(tmp_path)
    assert_close(parse_outputs(run_binary(tmp_path, "gnet", [x]).stdout, 1)[0], ref)
    with pytest.raises(TypeError, match="export"):
        export_bundle(object(), tmp_path, (1, 1, 8, 8))


def test_main_rejects_bad_input_files(sanitized_lenet):
    d, _, recs = sanitized_lenet
    (d / "short.raw").write_bytes(recs[0].tobytes()[:-4])
    for args, message in ((["short.raw"], "whole number of 3136-byte records"), (["absent.raw"], "cannot read"),
                          ([], "usage"), (["-t", "0", "short.raw"], "usage"), (["-x", "short.raw"], "usage")):
        r = subprocess.run(["./lenet", *args], cwd=d, capture_output=True, text=True, env=SAN_ENV)
        assert r.returncode in (1, 2) and message in r.stderr, (args, r.returncode, r.stderr)
        assert "Sanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr
