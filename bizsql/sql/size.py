"""How big a value an expression can build from the statement's own text, bounded before it runs.

PostgreSQL folds constant expressions while it plans, so ``replace(repeat('x', 10000), 'x',
repeat('y', 10000))`` is a 100 MB literal in the plan before any row is read, and ``EXPLAIN`` hands it
back whole. The guard bounds what the text alone can build: literals count their length, ``repeat``
multiplies, ``replace``/``regexp_replace`` multiply by the replacement, ``lpad``/``rpad`` are their
length, ``format`` adds its widths, and anything else adds up its parts; a column or any other value
from the data counts as 1 (what data holds is cut by the result caps instead).
"""

from __future__ import annotations

import re

import sqlglot.expressions as exp

from bizsql.sql import policy
from bizsql.sql.scope import function_name
from bizsql.sql.verdict import Kind, Refused

SIZE_CHECKED = frozenset({*policy.LENGTH_LIMITED, "replace", "regexp_replace", "format", "overlay", "concat"})
"""Functions whose result the guard sizes (each also sizes what it contains)."""
_FORMAT_SPEC = re.compile(r"%(?:\d+\$)?-?(\*(?:\d+\$)?|\d+)?[sIL%]")


def args_of(func: exp.Expr) -> list[exp.Expr]:
    """A call's arguments in order, whatever sqlglot names them."""
    values: list[exp.Expr] = []
    for key in func.arg_types:
        value = func.args.get(key)
        if isinstance(value, list):
            values.extend(v for v in value if isinstance(v, exp.Expr))
        elif isinstance(value, exp.Expr):
            values.append(value)
    return values


def check_size(func: exp.Func, name: str, sql: str, kind: Kind) -> None:
    """Refuse a call whose result the statement's text can make longer than the limit."""
    limit = policy.MAX_GENERATED_LENGTH
    if name in policy.LENGTH_LIMITED:
        count = length_arg(func, name)
        if count is None:
            raise Refused(f"{name}() needs a whole-number literal length (at most {limit:,})", kind)
        if count > limit:
            raise Refused(f"{name}() length {count:,} is over {limit:,}", kind)
    size = generated_size(func, sql, kind)
    if size > limit:
        raise Refused(
            f"{name}() would build {size:,} characters (nested calls multiply), over {limit:,}", kind
        )


def check_concatenation(node: exp.Expr, sql: str, kind: Kind) -> None:
    """``a || b || ...`` of generated parts adds up like concat()."""
    size = generated_size(node, sql, kind)
    if size > policy.MAX_GENERATED_LENGTH:
        raise Refused(
            f"the concatenation would build {size:,} characters, over {policy.MAX_GENERATED_LENGTH:,}", kind
        )


def length_arg(func: exp.Expr, name: str) -> int | None:
    args = args_of(func)
    index = policy.LENGTH_LIMITED[name]
    size = args[index] if len(args) > index else None
    if isinstance(size, exp.Literal) and not size.is_string and size.this.isdigit():
        return int(size.this)
    return None


def generated_size(node: exp.Expr, sql: str, kind: Kind = "read") -> int:
    """The most characters ``node`` can hold, as far as the statement's own text decides it."""
    if isinstance(node, exp.Literal):
        return max(len(str(node.this)), 1)
    name = function_name(node, sql) if isinstance(node, exp.Func) else None
    args = args_of(node) if name else []
    if name in policy.LENGTH_LIMITED:
        count = length_arg(node, name) or 0
        if name != "repeat":
            return count  # lpad/rpad cut or pad to exactly ``count`` characters
        return count * (generated_size(args[0], sql, kind) if args else 1)
    if name in ("replace", "regexp_replace") and len(args) >= 3:
        return generated_size(args[0], sql, kind) * max(generated_size(args[2], sql, kind), 1)
    if name == "format":
        return _format_size(args, sql, kind)
    children = list(node.iter_expressions())
    return max(sum(generated_size(child, sql, kind) for child in children), 1) if children else 1


def _format_size(args: list[exp.Expr], sql: str, kind: Kind) -> int:
    """format()'s widths pad to any size (``format('%100000000s', '')``): the format must be a literal,
    and its widths count, while ``*`` (a width taken from an argument) is refused."""
    template = args[0] if args else None
    if not (isinstance(template, exp.Literal) and template.is_string):
        raise Refused("format() needs a literal format string", kind)
    widths = 0
    for match in _FORMAT_SPEC.finditer(template.this):
        width = match.group(1) or ""
        if width.startswith("*"):
            raise Refused("format() widths taken from an argument (*) are not allowed", kind)
        widths += int(width or 0)
    return len(template.this) + widths + sum(generated_size(a, sql, kind) for a in args[1:])
