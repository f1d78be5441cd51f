"""Write docs/OPS.md from the op registry: what is supported, where, and how it lowers.

    .venv/bin/python tools/gen_ops_doc.py          # rewrite docs/OPS.md
    .venv/bin/python tools/gen_ops_doc.py --check  # exit 1 if docs/OPS.md is stale
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jinja2

from mxcc.codegen import families, kernel_name
from mxcc.codegen.templates import TEMPLATE_ROOT
from mxcc.ir import registry
from mxcc.ir.samples import find_sample

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "OPS.md"

def lowering_of(opdef):
    """The op's Lowering for its sample signature (ir/samples.py), or None."""
    found, _ = find_sample(opdef)
    return found[3] if found else None


def renders(lowering, target: str) -> bool:
    """Whether the kernel family has templates for `target` (it renders without error)."""
    if lowering is None:
        return False
    try:
        families.get(lowering.family).render(kernel_name(lowering), lowering.params, target)
        return True
    except jinja2.TemplateNotFound:
        return False


def render() -> str:
    targets = sorted(p.name for p in TEMPLATE_ROOT.iterdir() if p.is_dir())
    lines = [
        "# Operator coverage",
        "",
        "Generated from the op registry by `tools/gen_ops_doc.py`; do not edit by hand.",
        f"Targets with templates: {', '.join(targets)}. An op whose family has no template for a",
        "target is a clear error when a graph is compiled for it.",
        "",
        "| op | aliases | inputs | attributes | mx.nd | NDArray method | family | " + " | ".join(targets) + " |",
        "|---|---|---|---|---|---|---|" + "---|" * len(targets),
    ]
    for op in sorted(registry.all_ops(), key=lambda o: o.name.lstrip("_").lower()):
        low = lowering_of(op)
        fam = low.family if low else "?"
        where = ["yes" if renders(low, t) else "no" for t in targets]
        attrs = ", ".join(f"{k}" + ("" if a.required else f"={a.default!r}") for k, a in op.attrs.items())
        nd = "internal" if op.hidden or op.name.startswith("_") else "yes"
        lines.append(f"| `{op.name}` | {', '.join(op.aliases)} | {', '.join(op.inputs)} | {attrs} | {nd} | "
                     f"{op.nd_method or ''} | {fam} | " + " | ".join(where) + " |")
    lines.append("")
    lines.append(f"{len(registry.all_ops())} ops.")
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--check", action="store_true")
    args = p.parse_args()
    text = render()
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            print("docs/OPS.md is stale: run `make docs`", file=sys.stderr)
            return 1
        return 0
    OUT.parent.mkdir(exist_ok=True)
    tmp = OUT.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(OUT)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
