"""The `mxcc` command (also `python -m mxcc`).

    mxcc compile PREFIX-symbol.json PREFIX-NNNN.params --shape data=1,1,28,28 -o OUTDIR

writes a standalone C inference bundle (mxcc.compile_bundle). Wrong arguments exit with
status 2 and one line saying what was wrong; a model that cannot be compiled exits with 1.
"""
from __future__ import annotations

import argparse
import os
import re
import sys

EPILOG = """\
The bundle (OUTDIR/): NAME.h (the C API, shapes, dtypes and memory sizes as constants), NAME.c
(the kernels and schedule mxcc generates for the model, strict C99 + optional OpenMP),
NAME.weights (or NAME_weights.c with --embed-weights), main.c, a Makefile and a README.md.
Build it with `make -C OUTDIR` (a C99 compiler and libm are enough) and run
`OUTDIR/NAME input.raw`.

example:
  mxcc compile lenet-symbol.json lenet-0010.params --shape data=1,1,28,28 --name lenet -o lenet_bundle
"""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a wrong argument in one line (and exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _UsageError(Exception):
    pass


def _parse_shape(text: str) -> tuple[str, tuple]:
    m = re.fullmatch(r"\s*([^=\s]+)\s*=\s*\(?\s*([0-9][0-9,\s]*?)\s*,?\s*\)?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"--shape {text!r}: expected NAME=D1,D2,... such as data=1,1,28,28")
    dims = [d for d in re.split(r"[,\s]+", m.group(2)) if d]
    shape = tuple(int(d) for d in dims)
    if not shape or any(d <= 0 for d in shape):
        raise argparse.ArgumentTypeError(f"--shape {text!r}: dimensions must be positive integers")
    return m.group(1), shape


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = _Parser(prog="mxcc", description="mxcc: an MXNet 1.x compatible deep-learning framework built as a "
                "compiler. Use it as a library (import mxcc as mx) or, with this command, compile a trained "
                "model ahead of time into a standalone C inference bundle.",
                formatter_class=argparse.RawDescriptionHelpFormatter,
                epilog="commands:\n  compile   a checkpoint (symbol JSON + .params) -> a C inference bundle\n\n"
                       "Run `mxcc compile --help` for its options.")
    p.add_argument("--version", action="version", version=f"mxcc {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    c = sub.add_parser("compile", help="compile a checkpoint into a standalone C inference bundle",
                       description="Compile a trained model (MXNet checkpoint files: PREFIX-symbol.json and "
                       "PREFIX-NNNN.params) ahead of time into a standalone C inference bundle: the same passes "
                       "and code generation as the JIT, no Python needed to build or run it.",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    c.add_argument("symbol", metavar="SYMBOL_JSON", help="the network: PREFIX-symbol.json (mx.sym save / "
                   "Module.save_checkpoint / HybridBlock.export)")
    c.add_argument("params", metavar="PARAMS", help="the trained parameters: PREFIX-NNNN.params (arg:/aux: names)")
    c.add_argument("--shape", action="append", type=_parse_shape, required=True, metavar="NAME=D1,D2,...",
                   help="an input and its shape including the batch size, e.g. data=1,1,28,28; repeat for "
                        "several inputs (their order is the bundle's input order)")
    c.add_argument("--dtype", default="float32", choices=("float32", "float64"),
                   help="dtype of the inputs, the weights and the computation (default: float32)")
    c.add_argument("--name", default=None, help="the bundle's name: a C identifier used for NAME.h, NAME.c and the "
                   "API prefix NAME_create/NAME_run/... (default: the checkpoint prefix when it is one, else "
                   "'model')")
    c.add_argument("--target", default="c", choices=("c",), help="code generation target (default: c)")
    c.add_argument("--embed-weights", action="store_true",
                   help="compile the weights into NAME_weights.c (a byte array) instead of NAME.weights")
    c.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="directory to write the bundle into "
                   "(created if missing; files of the same names are replaced)")
    return p


def _default_name(symbol_path: str) -> str:
    base = os.path.basename(symbol_path)
    base = base[:-len("-symbol.json")] if base.endswith("-symbol.json") else os.path.splitext(base)[0]
    base = re.sub(r"[^A-Za-z0-9_]", "_", base)
    from .codegen.bundle import check_name
    try:
        return check_name(base)
    except ValueError:
        return "model"


def _compile(args) -> int:
    from .bundle import compile_bundle
    from .codegen.bundle import check_name

    for what, path in (("symbol file", args.symbol), ("params file", args.params)):
        if not os.path.isfile(path):
            raise _UsageError(f"{what} {path!r} does not exist")
    shapes = {}
    for n, s in args.shape:
        if n in shapes:
            raise _UsageError(f"--shape {n} is given twice")
        shapes[n] = s
    name = args.name if args.name is not None else _default_name(args.symbol)
    try:
        check_name(name)
    except ValueError as e:
        raise _UsageError(f"--name: {e}") from None
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        raise _UsageError(f"-o {args.output!r} exists and is not a directory")
    from .ir.errors import MXNetError
    from .ndarray import load as nd_load
    from .symbol import load as sym_load

    try:  # a file that is not what its position says is a wrong argument too
        symbol = sym_load(args.symbol)
    except (MXNetError, ValueError, OSError) as e:
        raise _UsageError(f"SYMBOL_JSON: {' '.join(str(e).split())}") from None
    try:
        params = nd_load(args.params)
    except (MXNetError, ValueError, OSError) as e:
        raise _UsageError(f"PARAMS: {' '.join(str(e).split())}") from None
    try:
        b = compile_bundle(symbol, params, shapes, args.output, dtype=args.dtype, name=name,
                           target=args.target, embed_weights=args.embed_weights)
    except (ValueError, TypeError) as e:  # the arguments do not fit the model
        raise _UsageError(" ".join(str(e).split())) from None
    ins = ", ".join(f"{p.name} {p.dtype}{list(p.shape)}" for p in b.inputs)
    outs = ", ".join(f"{p.name} {p.dtype}{list(p.shape)}" for p in b.outputs)
    print(f"mxcc: wrote bundle '{name}' to {args.output}: {', '.join(sorted(b.files))}")
    print(f"  inputs: {ins}; outputs: {outs}")
    print(f"  weights {b.weights_bytes} bytes, arena {b.arena_bytes} bytes (naive {b.info['naive_arena_bytes']}), "
          f"one context {b.memory_bytes} bytes; {b.info['nodes']} nodes")
    print(f"  build: make -C {args.output}    run: {os.path.join(args.output, name)} input.raw")
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        sys.stderr.write("mxcc: error: a command is required: compile (see mxcc --help)\n")
        return 2
    from .ir.errors import MXNetError

    try:
        return _compile(args)
    except _UsageError as e:
        sys.stderr.write(f"mxcc {args.command}: error: {e}\n")
        return 2
    except (MXNetError, OSError) as e:  # the model or the files cannot be compiled or written
        sys.stderr.write(f"mxcc {args.command}: {' '.join(str(e).split())}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
