"""Jinja environment per target: codegen/templates/<target>/*.j2."""
from __future__ import annotations

import functools
from pathlib import Path

import jinja2

TEMPLATE_ROOT = Path(__file__).parent / "templates"


@functools.lru_cache(maxsize=None)
def environment(target: str) -> jinja2.Environment:
    d = TEMPLATE_ROOT / target
    if not d.is_dir():
        raise ValueError(f"unknown code generation target {target!r}; expected one of "
                         f"{sorted(p.name for p in TEMPLATE_ROOT.iterdir() if p.is_dir())}")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(d)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(target: str, template: str, **ctx) -> str:
    return environment(target).get_template(template).render(**ctx)
