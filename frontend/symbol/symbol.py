"""mx.sym.Symbol: MXNet 1.x's symbolic API over SymNode graphs."""
from __future__ import annotations

import copy
import numbers

from .. import attribute
from .. import name as _name
from ..ir.errors import MXNetError
from .graph import SymNode, aux_variable_ids, get_op, topo_nodes


class Symbol:
    __slots__ = ("_outputs", "__weakref__")

    def __init__(self, outputs):
        self._outputs = list(outputs)  # [(SymNode, index)]

    # -- naming and listing ---------------------------------------------------------------------
    @property
    def name(self):
        if len(self._outputs) != 1:
            return None
        return self._outputs[0][0].name

    def _nodes(self):
        return topo_nodes(self._outputs)

    def list_arguments(self) -> list[str]:
        nodes = self._nodes()
        aux = aux_variable_ids(nodes)
        return [n.name for n in nodes if n.is_variable and n.id not in aux]

    def list_auxiliary_states(self) -> list[str]:
        nodes = self._nodes()
        aux = aux_variable_ids(nodes)
        return [n.name for n in nodes if n.is_variable and n.id in aux]

    def list_inputs(self) -> list[str]:
        return [n.name for n in self._nodes() if n.is_variable]

    def list_outputs(self) -> list[str]:
        return [node.output_name(k) for node, k in self._outputs]

    def get_internals(self) -> "Symbol":
        outs = []
        for n in self._nodes():
            outs.extend((n, k) for k in range(n.num_visible() if n.op is not None else 1))
        return Symbol(outs)

    def get_children(self):
        ins = [e for node, _ in self._outputs for e in node.inputs]
        return Symbol(ins) if ins else None

    def __len__(self):
        return len(self._outputs)

    def __iter__(self):
        return (Symbol([e]) for e in self._outputs)

    def __getitem__(self, index):
        if isinstance(index, str):
            names = self.list_outputs()
            if index not in names:
                raise ValueError(f"cannot find output '{index}' in {names}")
            index = names.index(index)
        if not isinstance(index, int):
            raise TypeError(f"Symbol index must be an int or an output name, got {type(index).__name__}")
        if not -len(self._outputs) <= index < len(self._outputs):
            raise IndexError(f"output index {index} out of range for {len(self._outputs)} outputs")
        return Symbol([self._outputs[index]])

    def __repr__(self):
        if len(self._outputs) == 1:
            return f"<Symbol {self.name}>"
        return f"<Symbol group [{', '.join(self.list_outputs())}]>"

    # -- attributes -----------------------------------------------------------------------------------
    def attr(self, key: str):
        if len(self._outputs) != 1:
            return None
        node = self._outputs[0][0]
        if key in node.user_attrs:
            return node.user_attrs[key]
        v = node.user_attrs.get(f"__{key}__")
        if v is not None:
            return v
        if key in node.attrs:
            from ..ir.attrs import attr_to_string
            return attr_to_string(node.attrs[key]) if not isinstance(node.attrs[key], str) else node.attrs[key]
        return None

    def list_attr(self, recursive=False) -> dict:
        if recursive:
            raise DeprecationWarning("list_attr(recursive=True) is deprecated; use attr_dict()")
        node = self._outputs[0][0]
        out = {k: _str(v) for k, v in node.attrs.items()}
        out.update(node.user_attrs)
        return out

    def attr_dict(self) -> dict:
        out = {}
        for n in self._nodes():
            d = {k: _str(v) for k, v in n.attrs.items()}
            d.update(n.user_attrs)
            if d:
                out[n.name] = d
        return out

    def _set_attr(self, **kwargs):
        for node, _ in self._outputs:
            for k, v in kwargs.items():
                if not isinstance(v, str):
                    raise ValueError(f"attribute values must be strings, got {k}={v!r}")
                node.user_attrs[k] = v

    # -- composition -----------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        s = self.__copy__()
        s._compose(*args, **kwargs)
        return s

    def _compose(self, *args, name=None, **kwargs):
        """Replace this symbol's free variables by other symbols (positional: list_arguments order)."""
        if args and kwargs:
            raise TypeError("compose only accepts positional or keyword arguments, not both")
        arg_names = self.list_arguments()
        if args:
            if len(args) > len(arg_names):
                raise TypeError(f"compose: {len(args)} arguments for {len(arg_names)} inputs {arg_names}")
            kwargs = dict(zip(arg_names, args))
        for k, v in kwargs.items():
            if not isinstance(v, Symbol) or len(v) != 1:
                raise TypeError(f"compose: argument '{k}' must be a single-output Symbol")
        repl = {k: v._outputs[0] for k, v in kwargs.items()}
        for node in self._nodes():
            node.inputs = [repl.get(c.name, (c, i)) if c.is_variable else (c, i) for c, i in node.inputs]
        self._outputs = [repl.get(n.name, (n, i)) if n.is_variable else (n, i) for n, i in self._outputs]
        if name is not None and len(self._outputs) == 1:
            self._outputs[0][0].name = name

    def __copy__(self):
        mapping = {}
        for n in self._nodes():
            mapping[n.id] = SymNode(n.op, n.name, n.attrs, [(mapping[c.id], i) for c, i in n.inputs], n.user_attrs)
        return Symbol([(mapping[n.id], i) for n, i in self._outputs])

    def __deepcopy__(self, memo):
        return self.__copy__()

    def copy(self):
        return self.__copy__()

    # -- arithmetic (Symbol operators do not broadcast, as in MXNet 1.x) --------------------------------
    def _binary(self, other, op, scalar_op, reflected=False):
        """`op`/`scalar_op` are MXNet's names (`_Plus`, `_PlusScalar`): nodes are named after them."""
        if isinstance(other, Symbol):
            a, b = (other, self) if reflected else (self, other)
            return create(op, [a, b], {})
        if isinstance(other, numbers.Number):
            return create(scalar_op, [self], {"scalar": float(other)})
        return NotImplemented

    def __add__(self, o):
        return self._binary(o, "_Plus", "_PlusScalar")

    __radd__ = __add__

    def __sub__(self, o):
        return self._binary(o, "_Minus", "_MinusScalar")

    def __rsub__(self, o):
        return self._binary(o, "_Minus", "_RMinusScalar", reflected=True)

    def __mul__(self, o):
        return self._binary(o, "_Mul", "_MulScalar")

    __rmul__ = __mul__

    def __truediv__(self, o):
        return self._binary(o, "_Div", "_DivScalar")

    def __rtruediv__(self, o):
        return self._binary(o, "_Div", "_RDivScalar", reflected=True)

    def __mod__(self, o):
        return self._binary(o, "_Mod", "_ModScalar")

    def __rmod__(self, o):
        return self._binary(o, "_Mod", "_RModScalar", reflected=True)

    def __pow__(self, o):
        return self._binary(o, "_Power", "_PowerScalar")

    def __rpow__(self, o):
        return self._binary(o, "_Power", "_RPowerScalar", reflected=True)

    def __neg__(self):
        return create("negative", [self], {})

    def __eq__(self, o):
        return self._binary(o, "_equal", "_EqualScalar")

    def __ne__(self, o):
        return self._binary(o, "_not_equal", "_NotEqualScalar")

    def __gt__(self, o):
        return self._binary(o, "_greater", "_GreaterScalar")

    def __ge__(self, o):
        return self._binary(o, "_greater_equal", "_GreaterEqualScalar")

    def __lt__(self, o):
        return self._binary(o, "_lesser", "_LesserScalar")

    def __le__(self, o):
        return self._binary(o, "_lesser_equal", "_LesserEqualScalar")

    __hash__ = object.__hash__

    # -- inference, serialisation, binding (in their own modules) --------------------------------------
    def infer_shape(self, *args, **kwargs):
        from .infer import infer_shape
        return infer_shape(self, args, kwargs, partial=False)

    def infer_shape_partial(self, *args, **kwargs):
        from .infer import infer_shape
        return infer_shape(self, args, kwargs, partial=True)

    def infer_type(self, *args, **kwargs):
        from .infer import infer_type
        return infer_type(self, args, kwargs)

    def tojson(self) -> str:
        from .json_io import to_json
        return to_json(self)

    def save(self, fname: str, remove_amp_cast=True):
        from .json_io import save
        save(self, fname)

    def simple_bind(self, ctx=None, grad_req="write", type_dict=None, stype_dict=None, group2ctx=None,
                    shared_arg_names=None, shared_exec=None, shared_buffer=None, **kwargs):
        from ..executor import simple_bind
        return simple_bind(self, ctx, grad_req, type_dict, shared_exec=shared_exec, **kwargs)

    def bind(self, ctx, args, args_grad=None, grad_req="write", aux_states=None, group2ctx=None,
             shared_exec=None):
        from ..executor import bind
        return bind(self, ctx, args, args_grad, grad_req, aux_states)

    def eval(self, ctx=None, **kwargs):
        exe = self.bind(ctx, kwargs)
        return exe.forward()


def _str(v):
    from ..ir.attrs import attr_to_string
    return v if isinstance(v, str) else attr_to_string(v)


def Variable(name, attr=None, shape=None, lr_mult=None, wd_mult=None, dtype=None, init=None, stype=None, **kwargs):
    """A free input of a symbolic graph (data, a weight, a label...)."""
    if not isinstance(name, str):
        raise TypeError(f"Variable: name must be a string, got {type(name).__name__}")
    attrs = attribute.current().get(attr)
    if shape is not None:
        attrs["__shape__"] = str(tuple(shape))
    if lr_mult is not None:
        attrs["__lr_mult__"] = str(lr_mult)
    if wd_mult is not None:
        attrs["__wd_mult__"] = str(wd_mult)
    if dtype is not None:
        from ..ir import dtype_name
        attrs["__dtype__"] = str(_dtype_flag(dtype_name(dtype)))
    if init is not None:
        attrs["__init__"] = init if isinstance(init, str) else init.dumps()
    if stype is not None:
        attrs["__storage_type__"] = str(stype)
    for k, v in kwargs.items():
        if k.startswith("__") and k.endswith("__"):
            attrs[k] = str(v)
        else:
            raise ValueError(f"Variable: attribute {k} must start and end with double underscores")
    return Symbol([(SymNode(None, name, {}, [], attrs), 0)])


var = Variable


def _dtype_flag(dtype: str) -> int:
    from ..ir import DTYPES
    return DTYPES[dtype].flag


def Group(symbols) -> Symbol:
    """One symbol with the outputs of several."""
    outs = []
    for s in symbols:
        if not isinstance(s, Symbol):
            raise TypeError(f"Group: expected Symbols, got {type(s).__name__}")
        outs.extend(s._outputs)
    return Symbol(outs)


def create(op_name: str, inputs, attrs: dict, name=None, attr=None, input_kwargs=None) -> Symbol:
    """A symbol applying op `op_name`: inputs not given become variables `<name>_<input>`."""
    opdef = get_op(op_name)
    attrs = {k: v for k, v in attrs.items() if v is not None}
    hint = op_name.lower()  # the name it was called by: `_Plus` gives `_plus0`, as in MXNet
    node_name = _name.current().get(name, hint)
    user = attribute.current().get(attr)
    if opdef.variadic:
        ins = list(inputs)
        if "num_args" in opdef.attrs:
            attrs["num_args"] = len(ins)
    else:
        probe = SymNode(opdef, node_name, attrs, [])
        try:
            names = probe.input_names()
        except ValueError as e:
            raise MXNetError(str(e)) from None
        given = dict(input_kwargs or {})
        ins = list(inputs)
        if len(ins) > len(names):
            raise TypeError(f"{opdef.name}: {len(ins)} inputs given, it takes {len(names)} ({', '.join(names)})")
        for n in names[len(ins):]:
            if n in given:
                ins.append(given.pop(n))
            else:
                ins.append(Variable(f"{node_name}_{n}"))
        if given:
            raise TypeError(f"{opdef.name}: unknown input(s) {sorted(given)}; inputs are {names}")
    entries = []
    for k, s in enumerate(ins):
        if not isinstance(s, Symbol):
            raise TypeError(f"{opdef.name}: input {k} must be a Symbol, got {type(s).__name__}")
        if len(s) != 1:
            raise ValueError(f"{opdef.name}: input {k} is a group of {len(s)} outputs; select one")
        entries.append(s._outputs[0])
    node = SymNode(opdef, node_name, attrs, entries, user)
    node.parsed  # validate now: a bad attribute names this node
    return Symbol([(node, k) for k in range(node.num_visible())])


def copy_symbol(s: Symbol) -> Symbol:
    return copy.copy(s)
