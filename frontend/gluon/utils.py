"""Gluon utilities (MXNet 1.x): splitting batches over contexts, global-norm clipping, file checks,
and Block.summary's table. mxcc never downloads: `download` only accepts files already present."""
from __future__ import annotations

import hashlib
import math
import os
import warnings
from collections import OrderedDict

from .. import ndarray as nd
from ..ir.errors import MXNetError
from ..ndarray import NDArray


def split_data(data, num_slice, batch_axis=0, even_split=True):
    """Split `data` into `num_slice` slices along `batch_axis`."""
    size = data.shape[batch_axis]
    if even_split and size % num_slice != 0:
        raise ValueError(f"data with shape {data.shape} cannot be evenly split into {num_slice} slices along axis "
                         f"{batch_axis}. Use a batch size that's multiple of {num_slice} or set even_split=False to "
                         "allow uneven partitioning of data.")
    if size < num_slice:
        raise ValueError(f"Too many slices for data with shape {data.shape}. Arguments are num_slice={num_slice} "
                         f"and batch_axis={batch_axis}.")
    if num_slice == 1:
        return [data]
    each, extras = divmod(size, num_slice)
    bounds, start = [], 0
    for i in range(num_slice):
        end = start + each + (1 if i < extras else 0)
        bounds.append((start, end))
        start = end
    return [nd.slice_axis(data, axis=batch_axis, begin=b, end=e) for b, e in bounds]


def split_and_load(data, ctx_list, batch_axis=0, even_split=True):
    """Split `data` along `batch_axis` and load one slice onto each context of `ctx_list`."""
    if not isinstance(data, NDArray):
        data = nd.array(data, ctx=ctx_list[0])
    if len(ctx_list) == 1:
        return [data.as_in_context(ctx_list[0])]
    slices = split_data(data, len(ctx_list), batch_axis, even_split)
    return [s.as_in_context(c) for s, c in zip(slices, ctx_list)]


def clip_global_norm(arrays, max_norm, check_isfinite=True):
    """Rescale `arrays` in place so that the 2-norm of all of them together is at most `max_norm`;
    returns that norm before clipping (a float, or an NDArray when check_isfinite is False)."""
    if not arrays:
        raise ValueError("clip_global_norm: arrays must not be empty")
    ctx = arrays[0].context
    squares = []
    for a in arrays:
        flat = a.reshape((-1,))
        squares.append(nd.dot(flat, flat).as_in_context(ctx))
    total = squares[0]
    for sq in squares[1:]:
        total = total + sq
    total_norm = nd.sqrt(total)
    if check_isfinite and not math.isfinite(float(total_norm.asscalar())):
        warnings.warn(UserWarning("nan or inf is detected. Clipping results will be undefined."), stacklevel=2)
    scale = max_norm / (total_norm + 1e-8)
    scale = nd.min(nd.concat(scale, nd.ones((1,), ctx=ctx, dtype=scale._data.dtype.name), dim=0))
    for a in arrays:
        a *= scale.as_in_context(a.context).astype(a._data.dtype.name)
    if check_isfinite:
        return float(total_norm.asscalar())
    return total_norm


def check_sha1(filename, sha1_hash):
    """Whether the file's SHA-1 equals `sha1_hash`."""
    sha1 = hashlib.sha1()
    with open(filename, "rb") as f:
        while True:
            chunk = f.read(1048576)
            if not chunk:
                break
            sha1.update(chunk)
    return sha1.hexdigest() == sha1_hash


def download(url, path=None, overwrite=False, sha1_hash=None, retries=5, verify_ssl=True):
    """mxcc does not download. Returns the local file `path` (or the url's file name) when it already
    exists and matches `sha1_hash`; otherwise raises MXNetError saying where to put the file."""
    fname = url.split("/")[-1]
    if path is not None:
        path = os.path.expanduser(path)
        fname = os.path.join(path, fname) if os.path.isdir(path) else path
    if fname and os.path.exists(fname) and not overwrite and (not sha1_hash or check_sha1(fname, sha1_hash)):
        return fname
    why = "does not exist" if not os.path.exists(fname) else \
        ("overwrite=True was requested" if overwrite else "its SHA-1 does not match")
    raise MXNetError(f"download: mxcc does not download files ({url}); '{fname}' {why}. Fetch it yourself and "
                     "place it there.")


def _shape_str(args):
    def shapes(a):
        if isinstance(a, (list, tuple)):
            return [shapes(x) for x in a]
        return a.shape if isinstance(a, NDArray) else a

    s = shapes(args)
    if isinstance(s, list):
        return str(s)[1:-1] if len(s) != 1 or not isinstance(s[0], tuple) else str(s[0])
    return str(s)


def block_summary(block, inputs):
    """Print Block.summary's table: each layer's output shape and parameter count."""
    from .block import HybridBlock
    from .nn.sequential import HybridSequential, Sequential

    summary = OrderedDict()
    seen = set()
    hooks = []

    def hook(blk, _, outputs):
        key = f"{blk.__class__.__name__}-{len(summary)}"
        row = summary[key] = {"output_shape": _shape_str(outputs), "n_params": 0, "trainable": 0, "shared": 0}
        for p in blk.params.values():
            n = p.data().size
            row["n_params"] += n
            row["trainable"] += 0 if p.grad_req == "null" else n
            if id(p) in seen:
                row["shared"] += n
            else:
                seen.add(id(p))

    def register(blk):
        if isinstance(blk, HybridBlock) and blk._active:
            raise AssertionError(f'"{blk.name}" must not be hybridized to print summary.')
        if not isinstance(blk, (Sequential, HybridSequential)):
            hooks.append(blk.register_forward_hook(hook))

    summary["Input"] = {"output_shape": _shape_str(list(inputs)), "n_params": 0, "trainable": 0, "shared": 0}
    try:
        block.apply(register)
        block(*inputs)
        fmt = "{:>20}  {:>42} {:>15}"
        lines = ["-" * 80, fmt.format("Layer (type)", "Output Shape", "Param #"), "=" * 80]
        total = trainable = shared = 0
        for name, row in summary.items():
            lines.append(fmt.format(name, str(row["output_shape"]), row["n_params"]))
            total += row["n_params"]
            trainable += row["trainable"]
            shared += row["shared"]
        lines += ["=" * 80, "Parameters in forward computation graph, duplicate included",
                  f"   Total params: {total}", f"   Trainable params: {trainable}",
                  f"   Non-trainable params: {total - trainable}",
                  f"Shared params in forward computation graph: {shared}",
                  f"Unique parameters in model: {total - shared}", "-" * 80]
        print("\n".join(lines))
    finally:
        for h in hooks:
            h.detach()
