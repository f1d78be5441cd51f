"""mxcc.compile_bundle: a model (symbol + parameters) as a standalone C inference bundle.

The model is lowered for inference exactly as Executor.forward(is_train=False) lowers it, goes
through the same pass pipeline (fusion, memory planning) and the same code generation; the
bundle adds a reentrant C API, the weights and a Makefile (codegen/bundle.py). `mxcc compile`
(frontend/cli.py) is this function on checkpoint files.
"""
from __future__ import annotations

import os
import tempfile

from .codegen.bundle import BUNDLE_DTYPES, Bundle, check_name, make_bundle
from .ir.errors import MXNetError
from .ndarray import NDArray
from .ndarray import load as nd_load
from .passes import run_pipeline
from .runtime.files import atomic_write_bytes
from .symbol import Symbol
from .symbol import load as sym_load
from .symbol.infer import lower_symbol


def _load_symbol(symbol) -> Symbol:
    if isinstance(symbol, Symbol):
        return symbol
    if isinstance(symbol, (str, os.PathLike)):
        return sym_load(os.fspath(symbol))
    raise TypeError(f"compile_bundle: symbol must be a Symbol or the path of a -symbol.json file, "
                    f"got {type(symbol).__name__}")


def _load_params(params) -> tuple[dict, dict]:
    """(arg params, aux params) from a .params path or a dict (keys with or without arg:/aux:)."""
    if isinstance(params, (str, os.PathLike)):
        params = nd_load(os.fspath(params))
        if not isinstance(params, dict):
            raise ValueError("compile_bundle: the .params file holds an unnamed list of arrays; "
                             "expected named parameters (arg:NAME / aux:NAME)")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise TypeError(f"compile_bundle: params must be a dict of NDArrays or a .params path, "
                        f"got {type(params).__name__}")
    args, aux = {}, {}
    for key, value in params.items():
        if not isinstance(value, NDArray):
            raise TypeError(f"compile_bundle: parameter {key!r} is a {type(value).__name__}, expected an NDArray")
        kind, _, bare = key.partition(":") if ":" in key else ("", "", key)
        (aux if kind == "aux" else args)[bare] = value
    return args, aux


def _check_shapes(shapes) -> dict:
    if not isinstance(shapes, dict) or not shapes:
        raise ValueError(f"compile_bundle: shapes must be a non-empty dict such as {{'data': (1, 1, 28, 28)}}, "
                         f"got {shapes!r}")
    out = {}
    for k, s in shapes.items():
        try:
            t = tuple(int(d) for d in s)
        except (TypeError, ValueError):
            raise ValueError(f"compile_bundle: shape of {k!r} must be a tuple of ints, got {s!r}") from None
        if not t or any(d <= 0 for d in t):
            raise ValueError(f"compile_bundle: shape of {k!r} must have positive dimensions, got {s!r}")
        out[k] = t
    return out


def compile_bundle(symbol, params, shapes: dict, outdir, dtype: str = "float32", name: str = "model",
                   target: str = "c", embed_weights: bool = False) -> Bundle:
    """Write a standalone C inference bundle for `symbol` with `params` into `outdir`.

    symbol: a Symbol or a PREFIX-symbol.json path; params: a dict (arg:/aux: prefixes optional) or
    a PREFIX-NNNN.params path; shapes: the inputs' shapes, e.g. {"data": (1, 1, 28, 28)} (the batch
    size is part of the shape); dtype: float32 or float64 (inputs and weights). Arguments that are
    neither inputs nor parameters and end in "label" (a loss layer's label) are kept at zero.
    Returns the Bundle (its files, arena/weights/memory bytes)."""
    check_name(name)
    if dtype not in BUNDLE_DTYPES:
        raise ValueError(f"compile_bundle: dtype {dtype!r} is not supported; expected one of {BUNDLE_DTYPES}")
    sym = _load_symbol(symbol)
    args, aux = _load_params(params)
    shapes = _check_shapes(shapes)
    arg_names, aux_names = sym.list_arguments(), sym.list_auxiliary_states()
    for n in [n for n in args if n in aux_names and n not in aux]:  # a bare name (no aux: prefix)
        aux[n] = args.pop(n)
    for k in shapes:
        if k not in arg_names:
            raise ValueError(f"compile_bundle: input {k!r} is not an argument of the symbol; arguments are "
                             f"{arg_names}")
        if k in args:
            raise ValueError(f"compile_bundle: {k!r} is both an input (shapes) and a parameter")
    if target != "c":
        raise ValueError(f"compile_bundle: target {target!r} is not supported; the only bundle target is 'c'")
    missing_aux = [n for n in aux_names if n not in aux]
    if missing_aux:
        raise ValueError(f"compile_bundle: the params lack the auxiliary states {missing_aux}")
    roles, weights, zero_names = [], [], []
    for n in arg_names:
        if n not in shapes and n not in args:
            if not n.endswith("label"):
                raise ValueError(f"compile_bundle: no value for argument {n!r}: it is not in the params and no "
                                 f"shape was given for it (inputs: {sorted(shapes)})")
            zero_names.append(n)
    dtypes = {n: dtype for n in arg_names + aux_names}
    try:  # the parameters' shapes follow from the inputs' (checked against the arrays below)
        low = lower_symbol(sym, shapes, dtypes, train=False)
    except MXNetError:  # a parameter no layer infers: take the array's shape
        known = dict(shapes)
        known.update({n: tuple(args[n].shape) for n in arg_names if n in args})
        known.update({n: tuple(aux[n].shape) for n in aux_names})
        low = lower_symbol(sym, known, dtypes, train=False)
    input_names = list(shapes)
    for v, n in zip(low.graph.inputs, low.arg_names + low.aux_names):
        if n in shapes:
            roles.append(("input", input_names.index(n)))
        elif n in zero_names:
            roles.append(("zero", None))
        else:
            arr = aux[n] if n in aux_names else args[n]
            if tuple(arr.shape) != tuple(v.type.shape):
                raise ValueError(f"compile_bundle: parameter {n!r} has shape {tuple(arr.shape)}, the network "
                                 f"needs {tuple(v.type.shape)} for inputs {shapes}")
            roles.append(("weight", len(weights)))
            weights.append((arr if arr.dtype == dtype else arr.astype(dtype)).asnumpy())
    graph = run_pipeline(low.graph, tag="bundle")
    bundle = make_bundle(name, graph, roles, weights, input_names, sym.list_outputs(),
                         embed_weights=embed_weights, target=target)
    outdir = os.fspath(outdir)
    os.makedirs(outdir, exist_ok=True)
    umask = os.umask(0)
    os.umask(umask)
    for fname, data in bundle.files.items():
        path = os.path.join(outdir, fname)
        atomic_write_bytes(path, data)
        os.chmod(path, 0o666 & ~umask)  # a temporary file's 0600 is not what a user expects of a bundle
    bundle.info["outdir"] = outdir
    return bundle


def export_bundle(block, outdir, shapes, dtype: str = "float32", name: str = "model", target: str = "c",
                  embed_weights: bool = False) -> Bundle:
    """HybridBlock.export_bundle: a hybridized (and once run) block as a C inference bundle.

    The block is exported the MXNet way (`block.export(prefix, 0)`: symbol JSON + params) into a
    temporary directory, then compiled. shapes: {"data": (1, 3, 32, 32)}, or a tuple for the
    single input "data"."""
    if not hasattr(block, "export"):
        raise TypeError(f"export_bundle: {type(block).__name__} has no export(); pass a hybridized HybridBlock")
    if isinstance(shapes, (tuple, list)):
        shapes = {"data": tuple(shapes)}
    with tempfile.TemporaryDirectory(prefix="mxcc-export-") as tmp:
        prefix = os.path.join(tmp, name)
        try:
            block.export(prefix, 0)
        except MXNetError:
            raise
        except Exception as e:  # the block was never hybridized or run: say so
            raise MXNetError(f"export_bundle: {type(block).__name__}.export failed ({e}); hybridize() the block "
                             "and run it once before exporting") from None
        return compile_bundle(f"{prefix}-symbol.json", f"{prefix}-0000.params", shapes, outdir, dtype=dtype,
                              name=name, target=target, embed_weights=embed_weights)
