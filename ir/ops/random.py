"""Random sampling: _random_* (scalar parameters, a shape attr), _sample_* (NDArray parameters), _shuffle.

Every op lowers to the `random` kernel family: a counter-based generator
(Philox-4x32-10) whose key is the seed and whose counter is (element block, call
number). The seed and the call counter are not attributes: the kernel reads them
at run time from the per-target generator state that the family owns and
advances the call counter itself, so reseeding never rebuilds a plan or recompiles,
and every element is a pure function of (seed, call, index) whatever the thread count.
"""
from __future__ import annotations

import math
import struct

from ..attrs import Attr
from ..errors import MXNetError
from ..registry import Lowering, OpDef, ShapeError, register
from ..types import DTYPES, TensorType
from ._shape import fmt

FLOAT_OUT = ("float16", "float32", "float64")
INT_OUT = ("int32", "int64")
INT_RANGE = {"int32": (-(1 << 31), (1 << 31) - 1), "int64": (-(1 << 63), (1 << 63) - 1)}


class RandomParamError(MXNetError, ValueError):
    """A distribution parameter is out of its domain (names the op, the value and the domain)."""


def _common(dtypes):
    return {"shape": Attr("shape", ()), "ctx": Attr("str", ""), "dtype": Attr("dtype", None, choices=dtypes)}


def _out_type(op, attrs, default):
    shape = attrs["shape"]
    if any(d < 0 for d in shape):
        raise ShapeError(f"{op}: negative dimension in shape {fmt(shape)}")
    return TensorType(shape, attrs["dtype"] or default)


def largest_below(value: float, dtype: str) -> float:
    """The largest `dtype` number strictly below `value` rounded to `dtype` (keeps uniform's high open)."""
    code = {"float16": "e", "float32": "f", "float64": "d"}[dtype]
    try:
        v = struct.unpack(code, struct.pack(code, value))[0]
    except OverflowError:
        return value
    if not math.isfinite(v):
        return v
    bits_code = {"e": "H", "f": "I", "d": "Q"}[code]
    bits = struct.unpack(bits_code, struct.pack(code, v))[0]
    if v > 0:
        bits -= 1
    elif v < 0:
        bits += 1
    else:  # below +0 is the smallest negative subnormal
        bits = 1 << (struct.calcsize(code) * 8 - 1) | 1
    return struct.unpack(code, struct.pack(bits_code, bits))[0]


# dist: (scalar attr names with defaults and checks, MXNet alias names, sampler input names)
def _check(op, ok, msg):
    if not ok:
        raise RandomParamError(f"{op}: {msg}")


def _check_uniform(op, a):
    _check(op, a["low"] <= a["high"],
           f"low must be less or equal to high in uniform distribution (low={a['low']}, high={a['high']})")


def _check_normal(op, a):
    _check(op, a["scale"] > 0, f"scale parameter in gaussian has to be positive, got scale={a['scale']}")


def _check_exponential(op, a):
    _check(op, a["lam"] > 0, f"lambda parameter in exponential distribution has to be positive, got lam={a['lam']}")


def _check_gamma(op, a):
    _check(op, a["alpha"] > 0, f"alpha parameter in gamma distribution has to be positive, got alpha={a['alpha']}")
    _check(op, a["beta"] > 0, f"beta parameter in gamma distribution has to be positive, got beta={a['beta']}")


def _check_poisson(op, a):
    _check(op, a["lam"] >= 0, f"lambda parameter in poisson distribution has to be non-negative, got lam={a['lam']}")


def _check_negbin(op, a):
    _check(op, a["k"] >= 0, f"k parameter in negative binomial distribution has to be non-negative, got k={a['k']}")
    _check(op, 0 < a["p"] <= 1, f"p parameter in negative binomial distribution has to be in (0, 1], got p={a['p']}")


def _check_gnegbin(op, a):
    _check(op, a["mu"] >= 0, f"mu parameter in generalized negative binomial distribution has to be non-negative, "
                             f"got mu={a['mu']}")
    _check(op, a["alpha"] >= 0, f"alpha parameter in generalized negative binomial distribution has to be "
                                f"non-negative, got alpha={a['alpha']}")


DISTS = {
    "uniform": ({"low": Attr("float", 0.0), "high": Attr("float", 1.0)}, _check_uniform, ("uniform", "random_uniform")),
    "normal": ({"loc": Attr("float", 0.0), "scale": Attr("float", 1.0)}, _check_normal, ("normal", "random_normal")),
    "exponential": ({"lam": Attr("float", 1.0)}, _check_exponential, ("random_exponential",)),
    "gamma": ({"alpha": Attr("float", 1.0), "beta": Attr("float", 1.0)}, _check_gamma, ("random_gamma",)),
    "poisson": ({"lam": Attr("float", 1.0)}, _check_poisson, ("random_poisson",)),
    "negative_binomial": ({"k": Attr("int", 1), "p": Attr("float", 1.0)}, _check_negbin,
                          ("random_negative_binomial",)),
    "generalized_negative_binomial": ({"mu": Attr("float", 1.0), "alpha": Attr("float", 1.0)}, _check_gnegbin,
                                      ("random_generalized_negative_binomial",)),
}
# the kernel family's name for each distribution
KERNEL_DIST = {"uniform": "uniform", "normal": "normal", "exponential": "exponential", "gamma": "gamma",
               "poisson": "poisson", "negative_binomial": "negbin", "generalized_negative_binomial": "gnegbin"}
# inputs of _sample_<dist> (MXNet names them after the parameters)
SAMPLE_INPUTS = {"uniform": ("low", "high"), "normal": ("mu", "sigma"), "exponential": ("lam",),
                 "gamma": ("alpha", "beta"), "poisson": ("lam",), "negative_binomial": ("k", "p"),
                 "generalized_negative_binomial": ("mu", "alpha")}


def random_lowering(dist, out_type, scalars=(), ints=(0, 0)) -> Lowering:
    """A fill of `out_type` with samples of `dist`; the seed and call counter come from the family's state."""
    return Lowering("random", {"mode": "fill", "dist": dist, "dtype": out_type.dtype},
                    {"n": out_type.size, "scalars": tuple(float(s) for s in scalars), "ints": tuple(ints)})


def _register_random(dist):
    pattrs, check, aliases = DISTS[dist]
    name = f"_random_{dist}"

    def infer(in_types, attrs):
        check(name, attrs)
        return [_out_type(name, attrs, "float32")]

    def lower(in_types, out_types, attrs):
        ps = [attrs[k] for k in pattrs]
        if dist == "uniform":
            low, high = ps
            ps = [low, high, largest_below(high, out_types[0].dtype) if high > low else high]
        return random_lowering(KERNEL_DIST[dist], out_types[0], ps)

    register(OpDef(name, (), infer, lower, attrs=dict(pattrs, **_common(FLOAT_OUT)), aliases=aliases,
                   differentiable=False,
                   doc=f"Samples of the {dist.replace('_', ' ')} distribution, of shape `shape`."))


def _register_sample(dist):
    name = f"_sample_{dist}"
    inputs = SAMPLE_INPUTS[dist]

    def infer(in_types, attrs):
        first = in_types[0]
        for nm, t in zip(inputs[1:], in_types[1:]):
            if t.shape != first.shape:
                raise ShapeError(f"{name}: parameter '{nm}' has shape {fmt(t.shape)}, expected the shape "
                                 f"{fmt(first.shape)} of '{inputs[0]}'")
            if t.dtype != first.dtype:
                raise TypeError(f"{name}: parameter '{nm}' has dtype {t.dtype}, expected the dtype {first.dtype} "
                                f"of '{inputs[0]}'")
        if any(d < 0 for d in attrs["shape"]):
            raise ShapeError(f"{name}: negative dimension in shape {fmt(attrs['shape'])}")
        return [TensorType(tuple(first.shape) + tuple(attrs["shape"]), attrs["dtype"] or "float32")]

    def lower(in_types, out_types, attrs):
        per = math.prod(attrs["shape"])
        return Lowering("random", {"mode": "sample", "dist": KERNEL_DIST[dist], "dtype": out_types[0].dtype,
                                   "in_dtype": in_types[0].dtype, "nparams": len(inputs)},
                        {"n": out_types[0].size, "per": per})

    register(OpDef(name, inputs, infer, lower, attrs={"shape": Attr("shape", ()),
                                                      "dtype": Attr("dtype", None, choices=FLOAT_OUT)},
                   aliases=(f"sample_{dist}",), differentiable=False,
                   doc=f"Samples of {dist.replace('_', ' ')} distributions with parameters given as arrays: "
                       f"output shape is the parameters' shape + `shape`."))


for _d in DISTS:
    _register_random(_d)
    _register_sample(_d)


def _infer_randint(in_types, attrs):
    op = "_random_randint"
    low, high = attrs["low"], attrs["high"]
    dtype = attrs["dtype"] or "int32"
    _check(op, low < high, f"low must be less than high (the range [low, high) is empty), got low={low}, high={high}")
    lo, hi = INT_RANGE[dtype]
    _check(op, lo <= low and high - 1 <= hi,
           f"[low, high) = [{low}, {high}) does not fit dtype {dtype} (range [{lo}, {hi}])")
    return [_out_type(op, attrs, "int32")]


def _lower_randint(in_types, out_types, attrs):
    return random_lowering("randint", out_types[0], ints=(attrs["low"], attrs["high"] - 1))


register(OpDef("_random_randint", (), _infer_randint, _lower_randint, aliases=("random_randint",),
               attrs=dict({"low": Attr("int"), "high": Attr("int")}, **_common(INT_OUT)), differentiable=False,
               doc="Uniformly distributed integers in [low, high), of shape `shape`."))


def _infer_shuffle(in_types, attrs):
    return [TensorType(in_types[0].shape, in_types[0].dtype)]


def _lower_shuffle(in_types, out_types, attrs):
    shape = in_types[0].shape
    rows = shape[0] if shape else 1
    row = math.prod(shape[1:]) if shape else 1
    return Lowering("random", {"mode": "shuffle"},
                    {"rows": rows, "row_bytes": row * DTYPES[in_types[0].dtype].itemsize})


register(OpDef("_shuffle", ("data",), _infer_shuffle, _lower_shuffle, aliases=("shuffle",), differentiable=False,
               doc="The rows of data (its first axis) in a random order; each row keeps its contents."))


MULTINOMIAL_OUT = ("float16", "float32", "float64", "int32", "uint8")


def _infer_multinomial(in_types, attrs):
    data = in_types[0]
    if len(data.shape) < 1 or data.shape[-1] < 1:
        raise ShapeError(f"_sample_multinomial: data must have a last axis of at least one outcome, "
                         f"got shape {fmt(data.shape)}")
    if not DTYPES[data.dtype].is_float:
        raise TypeError(f"_sample_multinomial: data holds probabilities and must be a float type, got {data.dtype}")
    if any(d < 0 for d in attrs["shape"]):
        raise ShapeError(f"_sample_multinomial: negative dimension in shape {fmt(attrs['shape'])}")
    shape = tuple(data.shape[:-1]) + tuple(attrs["shape"])
    outs = [TensorType(shape, attrs["dtype"])]
    if attrs["get_prob"]:
        outs.append(TensorType(shape, data.dtype))
    return outs


def _lower_multinomial(in_types, out_types, attrs):
    k = in_types[0].shape[-1]
    return Lowering("random", {"mode": "multinomial", "dtype": out_types[0].dtype, "in_dtype": in_types[0].dtype,
                               "get_prob": bool(attrs["get_prob"])},
                    {"rows": in_types[0].size // k, "k": k, "per": math.prod(attrs["shape"])})


register(OpDef("_sample_multinomial", ("data",), _infer_multinomial, _lower_multinomial,
               aliases=("sample_multinomial",), differentiable=False,
               num_outputs=lambda attrs: 2 if attrs["get_prob"] else 1,
               attrs={"shape": Attr("shape", ()), "get_prob": Attr("bool", False),
                      "dtype": Attr("dtype", "int32", choices=MULTINOMIAL_OUT)},
               doc="Draws `shape` outcomes from each distribution over data's last axis (probabilities, "
                   "scaled by their sum); with get_prob also returns each outcome's log probability."))
