"""`make demo`, last step: the LeNet that digits_lenet.py trained, compiled ahead of time into a
standalone C bundle (`mxcc compile`), built with `make`, and run without Python on the held-out
digits; its accuracy is printed beside Python's.

    python examples/digits_bundle.py [--prefix digits_lenet] [--epoch 12] [--outdir build/digits_bundle]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from sklearn.datasets import load_digits

import mxcc as mx


def held_out():
    """The same split as digits_lenet.py: images scaled to [0, 1], the digits after the first 1,500."""
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    order = np.random.default_rng(0).permutation(len(images))[1500:]
    return images[order], digits.target[order]


def mxcc_command():
    script = os.path.join(os.path.dirname(sys.executable), "mxcc")
    return [script] if os.path.exists(script) else [sys.executable, "-m", "mxcc"]


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--prefix", default="digits_lenet")
    p.add_argument("--epoch", type=int, default=12)
    p.add_argument("--outdir", default=os.path.join("build", "digits_bundle"))  # build/ is git-ignored
    args = p.parse_args()
    x, y = held_out()

    # Python: the checkpoint loaded into a Module
    sym, arg, aux = mx.model.load_checkpoint(args.prefix, args.epoch)
    mod = mx.mod.Module(sym, context=mx.cpu())
    mod.bind(data_shapes=[("data", (len(x), 1, 8, 8))], for_training=False)
    mod.set_params(arg, aux)
    python_pred = mod.predict(mx.io.NDArrayIter(x, batch_size=len(x))).asnumpy().argmax(1)

    # the bundle: mxcc compile, make, run the program on the raw digits (one record per digit)
    cmd = mxcc_command() + ["compile", f"{args.prefix}-symbol.json", f"{args.prefix}-{args.epoch:04d}.params",
                            "--shape", "data=1,1,8,8", "--name", "digits", "-o", args.outdir]
    print("$", " ".join(cmd))
    subprocess.run(cmd, check=True)
    make = ["make", "-s", "-C", args.outdir]
    print("$", " ".join(make))
    subprocess.run(make, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "digits.raw")
        x.tofile(raw)  # numpy writes the bytes the C program reads
        run = [os.path.join(args.outdir, "digits"), "-w", os.path.join(args.outdir, "digits.weights"), raw]
        print("$", " ".join(run[:-1]), "held_out_digits.raw")
        out = subprocess.run(run, check=True, capture_output=True, text=True).stdout
    probs = [[float(v) for v in line.split()] for line in out.splitlines() if line.strip()]
    bundle_pred = np.asarray(probs).argmax(1)
    one = os.path.join(args.outdir, "one_digit.raw")
    x[:1].tofile(one)
    bench = subprocess.run([run[0], "-w", run[2], "-q", "-t", "2000", one], capture_output=True, text=True)
    latency = bench.stdout.split()[1] if bench.returncode == 0 and bench.stdout.startswith("median_us") else "?"
    bundle_acc, python_acc = (bundle_pred == y).mean(), (python_pred == y).mean()
    print(f"\nheld-out accuracy on {len(y)} digits: bundle (C, no Python) {bundle_acc * 100:.2f}%, "
          f"Python {python_acc * 100:.2f}%; predictions agree on {(bundle_pred == python_pred).sum()}/{len(y)}; "
          f"bundle latency {latency} us per digit")
    if bundle_acc != python_acc:
        sys.exit("the bundle's accuracy differs from Python's")
    return bundle_acc


if __name__ == "__main__":
    if shutil.which("make") is None:
        sys.exit("digits_bundle.py needs make and a C compiler to build the bundle")
    main()
