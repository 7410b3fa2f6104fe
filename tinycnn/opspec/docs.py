"""Render the op table of docs/ops.md from the specs: ``python -m tinycnn.opspec.docs`` rewrites
the generated part of docs/ops.md (between the BEGIN/END markers); tests check it is current."""
from __future__ import annotations

import sys
from pathlib import Path

from tinycnn.opspec import TABLE

BEGIN, END = "<!-- BEGIN GENERATED OP TABLE -->", "<!-- END GENERATED OP TABLE -->"
DOC = Path(__file__).resolve().parents[2] / "docs" / "ops.md"


def _operands(ops):
    return "; ".join(f"{o.name}{'*' if o.repeat else ''}{'?' if o.optional else ''}: {'/'.join(o.dtypes)}"
                     for o in ops)


def _attr(a):
    rng = f" [{a.lo:g}, {a.hi:g}]" if a.lo is not None else ""
    ch = "{" + ",".join(a.choices) + "}" if a.choices else ""
    return f"{a.name}{'?' if a.optional else ''} {a.kind}{a.count or ''}{rng}{ch}"


def _param(p):
    return f"{p.name}{'?' if p.optional else ''} {p.kind}[{','.join(map(str, p.shape))}]"


def _short(ref):
    return ref.split(":")[1] if ref else "-"


def table() -> str:
    rows = ["| op | variant | inputs | output | shape rule | attributes | prepared params | host / device binder "
            "| reference | cost | checks |", "|" + "---|" * 11]
    for (op, variant), s in sorted(TABLE.specs.items()):
        host, device = _short(s.kernel.host), _short(s.kernel.device) if s.kernel.device else "same"
        binder = "- (float reference)" if s.kernel.host is None else f"{host} / {device}"
        rows.append(f"| {op} | {variant or '(int8)'} | {_operands(s.inputs)} | {_operands(s.outputs)} | {s.shape} "
                    f"| {', '.join(map(_attr, s.attrs)) or '-'} | {', '.join(map(_param, s.params)) or '-'} "
                    f"| {binder} | {s.reference.split(':')[0].rsplit('.', 1)[1]}.{_short(s.reference)} | {s.cost} "
                    f"| {', '.join(s.checks) or '-'} |")
    rows.append("")
    rows += [f"- {op}: import-only ({why}); a blob holding it is refused." for op, why in TABLE.import_only.items()]
    return "\n".join(rows)


def render(text: str) -> str:
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


if __name__ == "__main__":
    DOC.write_text(render(DOC.read_text()))
    sys.stdout.write(f"wrote {DOC}\n")
