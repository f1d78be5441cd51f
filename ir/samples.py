"""A valid example signature for every op: input types and attributes it accepts.

Used by the registry walk in the tests (every op lowers and compiles) and by
tools/gen_ops_doc.py (which kernel family each op lowers to). Most ops are served by
a generic guess; the table lists those that need particular inputs.
"""
from __future__ import annotations

from .registry import Lowering
from .types import TensorType

F = "float32"
I = "int64"
_GEOM = {"shape": (2, 4), "strides": (0, 1), "offset": 0, "idx_strides": (1, 0), "axes": (0,)}

# Inputs ((shape, dtype) per input) and attributes for ops the generic guess below cannot satisfy.
SAMPLES = {
    "pick": [([((2, 3), F), ((2,), "int32")], {})],
    "take": [([((3, 4), F), ((2,), I)], {})],
    "scatter_nd": [([((3,), F), ((2, 3), I)], {"shape": (4, 5)})],
    "_scatter_set_nd": [([((4, 5), F), ((3,), F), ((2, 3), I)], {"shape": (4, 5)})],
    "gather_nd": [([((4, 5), F), ((2, 3), I)], {})],
    "_index_get": [([((3, 4), F), ((1, 2), I)], _GEOM)],
    "_index_set": [([((3, 4), F), ((1,), F), ((1, 2), I)], _GEOM)],
    "batch_dot": [([((2, 3, 4), F), ((2, 4, 5), F)], {})],
    "dot": [([((2, 3), F), ((3, 4), F)], {})],
    "matmul": [([((2, 3), F), ((2, 3, 4), F)], {})],
    "Reshape": [([((2, 3), F)], {"shape": (3, 2)})],
    "broadcast_to": [([((1, 3), F)], {"shape": (2, 3)})],
    "_slice_assign": [([((4, 5), F), ((2, 5), F)], {"begin": (0,), "end": (2,)})],
    "Pad": [([((1, 1, 2, 3), F)], {"mode": "constant", "pad_width": (0, 0, 0, 0, 1, 1, 1, 1)})],
    "one_hot": [([((4,), "int32")], {"depth": 3})],
    "Cast": [([((2, 3), F)], {"dtype": "int32"})],
    "clip": [([((2, 3), F)], {"a_min": -1.0, "a_max": 1.0})],
    "_full": [([], {"shape": (2, 3), "value": 2.0})],
    "_arange": [([], {"start": 0.0, "stop": 5.0})],
    "_linspace": [([], {"start": 0.0, "stop": 1.0, "num": 5})],
    "_eye": [([], {"N": 3})],
    "where": [([((2, 3), F), ((2, 3), F), ((2, 3), F)], {})],
    "_fused_elementwise": [([((2, 3), F), ((3,), F)], {"members": '[["exp", {}, ["i0"]], '
                           '["broadcast_mul", {}, ["t0", "i1"]], ["_plus_scalar", {"scalar": 2.0}, ["t1"]]]',
                           "outputs": (0, 2)})],
    "_fused_epilogue": [([((4, 6), F), ((5, 6), F), ((5,), F)], {"anchor": '["FullyConnected", {"num_hidden": 5}]',
                         "members": '[["Activation", {"act_type": "relu"}, ["a"]]]', "outputs": (0,)})],
    "_fused_reduce": [([((2, 3), F), ((2, 3), F)], {"reducer": '["sum", {"axis": [1]}]',
                       "members": '[["elemwise_mul", {}, ["i0", "i1"]]]'})],
    "_random_randint": [([], {"low": 0, "high": 10, "shape": (2, 3)})],
    # FFT, sorting and sequence ops (ir/ops/fft.py, sorting.py, sequence.py)
    "_fft": [([((2, 5, 2), F)], {"n": 5})],
    "topk": [([((2, 3), F)], {"k": 2, "ret_typ": "value"})],
    "_topk_scatter": [([((2, 2), F), ((2, 2), I)], {"shape": (2, 3), "axis": -1})],
    "_contrib_boolean_mask": [([((3, 2), F), ((3,), F)], {"_size": 3})],
    "_backward_boolean_mask": [([((3, 2), F), ((3,), F)], {"shape": (3, 2)})],
    "_histogram": [([((2, 3), F)], {"bin_cnt": 4, "range": (0.0, 1.0)})],
    "SequenceMask": [([((4, 3, 2), F), ((3,), "int32")], {"use_sequence_length": True, "value": -1.0})],
    "SequenceLast": [([((4, 3, 2), F), ((3,), "int32")], {"use_sequence_length": True})],
    "SequenceReverse": [([((4, 3, 2), F), ((3,), "int32")], {"use_sequence_length": True})],
    "_backward_SequenceLast": [([((3, 2), F), ((3,), "int32")], {"use_sequence_length": True, "shape": (4, 3, 2)})],
    "diag": [([((3, 4), F)], {"k": 1})],
    "_backward_diag": [([((2,), F)], {"shape": (2, 3)})],
    # shape ops whose defaults do nothing (a gradient check of them would check little)
    "SwapAxis": [([((2, 3, 4), F)], {"dim1": 0, "dim2": 2})],
    "squeeze": [([((2, 1, 3), F)], {})],
    "broadcast_like": [([((1, 3), F), ((2, 3), F)], {})],
    "tile": [([((2, 3), F)], {"reps": (2, 1, 2)})],
    "repeat": [([((2, 3), F)], {"repeats": 2, "axis": 1})],
    "slice": [([((3, 4), F)], {"begin": (1, None), "end": (3, None), "step": (1, 2)})],
    "slice_like": [([((3, 4), F), ((2, 3), F)], {})],
    "reshape_like": [([((2, 3), F), ((3, 2), F)], {})],
    "CTCLoss": [([((4, 2, 3), F), ((2, 2), "int32")], {})],  # labels 0/1: padding and class 1
    "_slice_assign_scalar": [([((4, 5), F)], {"begin": (1,), "end": (3,), "scalar": 2.0})],
    "SliceChannel": [([((2, 4), F)], {"num_outputs": 2})],
    # backward ops (gradient rules build them)
    "_backward_sum": [([((3,), F)], {"shape": (2, 3), "axis": (0,)})],
    "_backward_mean": [([((3,), F)], {"shape": (2, 3), "axis": (0,)})],
    "_backward_nansum": [([((3,), F), ((2, 3), F)], {"axis": (0,)})],
    "_backward_prod": [([((3,), F), ((2, 3), F), ((3,), F)], {"axis": (0,)})],
    "_backward_nanprod": [([((3,), F), ((2, 3), F), ((3,), F)], {"axis": (0,)})],
    "_backward_max": [([((3,), F), ((2, 3), F), ((3,), F)], {"axis": (0,)})],
    "_backward_min": [([((3,), F), ((2, 3), F), ((3,), F)], {"axis": (0,)})],
    "_backward_norm": [([((1,), F), ((2, 3), F), ((1,), F)], {})],
    "_sum_view": [([((2, 6), F)], {"shape": (2, 2, 3), "axis": (1,)})],
    "_backward_slice": [([((2, 5), F)], {"shape": (4, 5), "begin": (1,), "end": (3,)})],
    "_backward_take": [([((2, 4), F), ((2,), I)], {"shape": (3, 4)})],
    "_backward_pick": [([((2,), F), ((2,), I)], {"shape": (2, 3)})],
    "_backward_gather_nd": [([((3, 5), F), ((1, 3), I)], {"shape": (4, 5)})],
    "_backward_index_get": [([((2, 4), F), ((1, 2), I)], {"data_shape": (3, 4), **_GEOM})],
    # neural-network layers (ir/ops/nn_*.py): parameters shaped by the data
    "FullyConnected": [([((2, 3), F), ((4, 3), F), ((4,), F)], {"num_hidden": 4})],
    "Embedding": [([((2, 3), I), ((5, 4), F)], {"input_dim": 5, "output_dim": 4})],
    "LeakyReLU": [([((2, 3, 4), F), ((3,), F)], {"act_type": "prelu"})],
    "_backward_prelu_data": [([((2, 3, 4), F), ((2, 3, 4), F), ((3,), F)], {})],
    "SoftmaxOutput": [([((2, 3), F), ((2,), F)], {})],
    "_backward_SoftmaxOutput": [([((2, 3), F), ((2,), F)], {})],
    "SVMOutput": [([((2, 3), F), ((2,), F)], {})],
    "_backward_SVMOutput": [([((2, 3), F), ((2,), F)], {})],
    "BatchNorm": [([((2, 3, 4), F)] + [((3,), F)] * 4, {"fix_gamma": False})],
    "_backward_BatchNorm": [([((2, 3, 4), F)] * 2 + [((3,), F)] * 3, {"fix_gamma": False})],
    "_backward_LayerNorm": [([((2, 3), F)] * 2 + [((3,), F), ((2, 1), F), ((2, 1), F)], {})],
    "InstanceNorm": [([((2, 3, 4), F), ((3,), F), ((3,), F)], {})],
    "_backward_InstanceNorm": [([((2, 3, 4), F)] * 2 + [((3,), F), ((2, 3), F), ((2, 3), F)], {})],
    # linear algebra (ir/ops/linalg.py): batches of matrices, non-default flags for the gradient checks
    "_linalg_gemm": [([((2, 3, 4), F), ((2, 5, 4), F), ((2, 3, 5), F)], {"transpose_b": True, "alpha": 0.5,
                                                                          "beta": 2.0})],
    "_linalg_gemm2": [([((2, 4, 3), F), ((2, 4, 5), F)], {"transpose_a": True, "alpha": 2.0})],
    "_linalg_potrf": [([((2, 3, 3), F)], {})],
    "_linalg_potri": [([((2, 3, 3), F)], {})],
    "_linalg_trmm": [([((2, 3, 3), F), ((2, 4, 3), F)], {"rightside": True, "transpose": True, "alpha": 2.0})],
    "_linalg_trsm": [([((2, 3, 3), F), ((2, 3, 4), F)], {"lower": False, "alpha": 0.5})],
    "_linalg_syrk": [([((2, 3, 4), F)], {"transpose": True, "alpha": 0.5})],
    "_linalg_gelqf": [([((2, 3, 5), F)], {})],
    "_linalg_syevd": [([((2, 3, 3), F)], {})],
    "_linalg_inverse": [([((2, 3, 3), F)], {})],
    "_linalg_det": [([((2, 3, 3), F)], {})],
    "_linalg_logdet": [([((2, 3, 3), F)], {})],
    "_linalg_slogdet": [([((2, 3, 3), F)], {})],
    "_linalg_sumlogdiag": [([((2, 3, 3), F)], {})],
    "_linalg_extractdiag": [([((2, 4, 4), F)], {"offset": 1})],
    "_linalg_makediag": [([((2, 3), F)], {"offset": -1})],
    "_linalg_extracttrian": [([((2, 4, 4), F)], {"offset": -1})],
    "_linalg_maketrian": [([((2, 6), F)], {"lower": False})],
    "_linalg_matutil": [([((2, 3, 3), F)], {"mode": 2})],
    "_backward_linalg_det": [([((2, 3, 3), F), ((2,), F)], {})],
    "_backward_linalg_syevd": [([((2, 3, 3), F), ((2, 3), F), ((2, 3), F)], {})],
    # convolution and pooling (ir/ops/conv.py, pool.py): groups, strides, pads, dilation
    "Convolution": [([((1, 4, 5, 6), F), ((4, 2, 3, 2), F), ((4,), F)],
                     {"kernel": (3, 2), "stride": (2, 1), "pad": (1, 1), "dilate": (1, 2), "num_filter": 4,
                      "num_group": 2})],
    "Deconvolution": [([((1, 4, 3, 3), F), ((4, 3, 3, 3), F), ((6,), F)],
                       {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1), "adj": (1, 0), "num_filter": 6,
                        "num_group": 2, "no_bias": False})],
    "_backward_Convolution_weight": [([((1, 4, 3, 6), F), ((1, 4, 5, 6), F)],
                                      {"kernel": (3, 2), "stride": (2, 1), "pad": (1, 1), "dilate": (1, 2),
                                       "num_group": 2})],
    "Pooling": [([((2, 3, 5, 6), F)], {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1),
                                       "pooling_convention": "full"})],
    "_backward_Pooling": [([((2, 3, 3, 4), F), ((2, 3, 5, 6), F), ((2, 3, 3, 4), F)],
                           {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1), "pooling_convention": "full"})],
    # image ops (ir/ops/image.py): resize has no default size
    "_image_resize": [([((4, 6, 3), F)], {"size": (3, 2)})],
    "_image_random_contrast": [([((4, 5, 3), F)], {"min_factor": 0.5, "max_factor": 1.5})],
    "_image_random_saturation": [([((4, 5, 3), F)], {"min_factor": 0.5, "max_factor": 1.5})],
    "_image_random_hue": [([((4, 5, 3), F)], {"min_factor": 0.9, "max_factor": 1.1})],
    "_image_random_color_jitter": [([((4, 5, 3), F)], {"brightness": 0.1, "contrast": 0.1, "saturation": 0.1,
                                                       "hue": 0.1})],
    "_image_adjust_lighting": [([((4, 5, 3), F)], {"alpha": (0.1, 0.1, 0.1)})],
    "_image_random_lighting": [([((4, 5, 3), F)], {})],
    # the fused RNN (ir/ops/rnn.py): a bidirectional GRU; the backward reads the forward's workspace
    # (208 bytes: its inference layout for these sizes)
    "RNN": [([((2, 2, 3), F), ((84,), F), ((2, 2, 2), F)],
             {"state_size": 2, "num_layers": 1, "bidirectional": True, "mode": "gru", "state_outputs": True})],
    "_backward_RNN": [([((2, 2, 3), F), ((84,), F), ((2, 2, 2), F), ((208,), "uint8"), ((2, 2, 4), F),
                        ((2, 2, 2), F)],
                       {"state_size": 2, "num_layers": 1, "bidirectional": True, "mode": "gru",
                        "state_outputs": True})],
    "_rnn_pack_params": [([((2, 2, 3), F), ((2, 3), F), ((2, 2), F), ((2,), F), ((2,), F)],
                          {"state_size": 2, "num_layers": 1, "mode": "rnn_tanh"})],
}

# a value for each required attribute kind, when an op has no sample
_FILL = {"int": 1, "float": 0.5, "bool": False, "shape": (2, 3), "axes": (0,), "axis": 0, "dtype": "float32",
         "str": "", "floats": (1.0,), "optints": (0,)}
_SHAPES = [(2, 3), (2, 3, 4), (4,), (2, 3, 4, 5), (1, 3, 4, 4)]


def guesses(op):
    yield from SAMPLES.get(op.name, [])
    n = 2 if op.variadic else len(op.inputs)
    attrs = {k: (sorted(a.choices)[0] if a.kind == "enum" and a.choices else _FILL[a.kind])
             for k, a in op.attrs.items() if a.required}
    for s in _SHAPES:
        yield [(s, F)] * n, attrs


def find_sample(op):
    """((in_types, parsed attrs, out_types, Lowering), []) for the first valid guess, or (None, errors)."""
    errors = []
    for ins, attrs in guesses(op):
        in_types = [TensorType(s, d) for s, d in ins]
        try:
            parsed = op.parse_attrs(attrs)
            out_types = op.infer_types(in_types, parsed)
        except (ValueError, TypeError) as e:
            errors.append(f"{[str(t) for t in in_types]} {attrs}: {e}")
            continue
        low: Lowering = op.lower(in_types, out_types, parsed)
        return (in_types, parsed, out_types, low), errors
    return None, errors
