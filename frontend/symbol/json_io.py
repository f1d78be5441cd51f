"""MXNet 1.x symbol JSON: nodes, arg_nodes, node_row_ptr, heads, attrs.

Loading validates everything before building a symbol: structure, known op names,
input references, and every op attribute through the op's typed schema; an error
names the node. Attribute values stay data: nothing from the file reaches generated
source except through the ops' validated attributes.
"""
from __future__ import annotations

import json
import os

from ..ir import registry
from ..ir.attrs import attr_to_string
from ..ir.errors import MXNetError
from ..runtime.files import atomic_write_bytes
from .graph import SymNode, topo_nodes
from .symbol import Symbol

MXNET_VERSION = 10901  # files say they come from MXNet 1.9.1's format


def _user_attr(key: str) -> bool:
    return key.startswith("__") and key.endswith("__")


def to_json(sym: Symbol) -> str:
    nodes = topo_nodes(sym._outputs)
    index = {n.id: i for i, n in enumerate(nodes)}
    out_nodes, arg_nodes, row_ptr = [], [], [0]
    for i, n in enumerate(nodes):
        entry = {"op": "null" if n.is_variable else n.op.name, "name": n.name}
        attrs = {k: (v if isinstance(v, str) else attr_to_string(v)) for k, v in n.attrs.items() if k != "_train"}
        attrs.update(n.user_attrs)
        if attrs:
            entry["attrs"] = attrs
        entry["inputs"] = [[index[c.id], k, 0] for c, k in n.inputs]
        out_nodes.append(entry)
        if n.is_variable:
            arg_nodes.append(i)
        row_ptr.append(row_ptr[-1] + n.num_outputs())
    doc = {"nodes": out_nodes, "arg_nodes": arg_nodes, "node_row_ptr": row_ptr,
           "heads": [[index[n.id], k, 0] for n, k in sym._outputs],
           "attrs": {"mxnet_version": ["int", MXNET_VERSION]}}
    return json.dumps(doc, indent=2)


def save(sym: Symbol, fname: str) -> None:
    atomic_write_bytes(fname, to_json(sym).encode())


class SymbolJSONError(MXNetError, ValueError):
    pass


def load_json(json_str: str, source: str = "<json>") -> Symbol:
    try:
        doc = json.loads(json_str)
    except (ValueError, TypeError) as e:
        raise SymbolJSONError(f"{source}: not valid JSON: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list) or not isinstance(doc.get("heads"), list):
        raise SymbolJSONError(f"{source}: not an MXNet symbol file (expected an object with 'nodes' and 'heads')")
    built: list[SymNode] = []
    for i, nd in enumerate(doc["nodes"]):
        if not isinstance(nd, dict) or not isinstance(nd.get("op"), str) or not isinstance(nd.get("name"), str):
            raise SymbolJSONError(f"{source}: node {i} needs string fields 'op' and 'name'")
        name = nd["name"]
        where = f"{source}: node {i} ('{name}')"
        raw = {}
        for key in ("param", "attr", "attrs"):  # older files use param/attr
            part = nd.get(key) or {}
            if not isinstance(part, dict):
                raise SymbolJSONError(f"{where}: '{key}' must be an object")
            raw.update(part)
        for k, v in raw.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise SymbolJSONError(f"{where}: attribute {k!r} must map a string to a string, got {v!r}")
        inputs = nd.get("inputs", [])
        if not isinstance(inputs, list):
            raise SymbolJSONError(f"{where}: 'inputs' must be a list")
        ins = []
        for e in inputs:
            if not (isinstance(e, list) and 2 <= len(e) <= 3 and all(isinstance(x, int) for x in e)):
                raise SymbolJSONError(f"{where}: bad input entry {e!r} (expected [node, output, version])")
            src, k = e[0], e[1]
            if not 0 <= src < i:
                raise SymbolJSONError(f"{where}: input refers to node {src}, which is not an earlier node")
            if not 0 <= k < built[src].num_outputs():
                raise SymbolJSONError(f"{where}: input refers to output {k} of node '{built[src].name}', "
                                      f"which has {built[src].num_outputs()}")
            ins.append((built[src], k))
        if nd["op"] == "null":
            if ins:
                raise SymbolJSONError(f"{where}: a variable cannot have inputs")
            built.append(SymNode(None, name, {}, [], raw))
            continue
        try:
            opdef = registry.get(nd["op"])
        except KeyError:
            raise SymbolJSONError(f"{where}: unknown operator '{nd['op']}'") from None
        params = {k: v for k, v in raw.items() if not _user_attr(k) and k in opdef.attrs}
        user = {k: v for k, v in raw.items() if _user_attr(k)}
        unknown = sorted(k for k in raw if not _user_attr(k) and k not in opdef.attrs)
        if unknown:
            raise SymbolJSONError(f"{where}: operator {opdef.name} has no attribute(s) {unknown}; "
                                  f"it takes {sorted(opdef.attrs)}")
        node = SymNode(opdef, name, params, ins, user)
        try:
            node.parsed
            expect = None if opdef.variadic else len(node.input_names())
        except ValueError as e:
            raise SymbolJSONError(f"{where}: {e}") from None
        if expect is not None and len(ins) != expect:
            raise SymbolJSONError(f"{where}: {opdef.name} takes {expect} inputs {node.input_names()}, "
                                  f"the file gives {len(ins)}")
        built.append(node)
    heads = []
    for h in doc["heads"]:
        if not (isinstance(h, list) and len(h) >= 2 and all(isinstance(x, int) for x in h)
                and 0 <= h[0] < len(built) and 0 <= h[1] < built[h[0]].num_outputs()):
            raise SymbolJSONError(f"{source}: bad head entry {h!r}")
        heads.append((built[h[0]], h[1]))
    if not heads:
        raise SymbolJSONError(f"{source}: the symbol has no outputs ('heads' is empty)")
    return Symbol(heads)


def load(fname: str) -> Symbol:
    if not os.path.exists(fname):
        raise FileNotFoundError(f"symbol file not found: {fname}")
    with open(fname, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SymbolJSONError(f"{fname}: not a symbol JSON file (not UTF-8 text)") from None
    return load_json(text, fname)
