"""EXPLAIN's options, read strictly: plain words from a short list, and ANALYZE only when it is off.

PostgreSQL accepts an option name as any identifier, quoted or ``U&"..."`` escaped, so reading names
loosely lets ``EXPLAIN (U&"\\0041NALYZE")`` run the statement. Here an option is a plain word on the list
(or a quoted name is refused), and each value must be one PostgreSQL reads the same way we do.
"""

from __future__ import annotations

from sqlglot.tokens import Token, TokenType

from bizsql.sql.verdict import Refused

BOOLEAN_VALUES = frozenset({"TRUE", "FALSE", "ON", "OFF", "1", "0"})
OFF_VALUES = frozenset({"FALSE", "OFF", "0"})
OPTIONS = {
    "VERBOSE": BOOLEAN_VALUES,
    "COSTS": BOOLEAN_VALUES,
    "SETTINGS": BOOLEAN_VALUES,
    "BUFFERS": BOOLEAN_VALUES,
    "SUMMARY": BOOLEAN_VALUES,
    "MEMORY": BOOLEAN_VALUES,
    "FORMAT": frozenset({"TEXT", "JSON", "YAML", "XML"}),
    "ANALYZE": OFF_VALUES,
    "ANALYSE": OFF_VALUES,
}
"""Each option EXPLAIN may take and the values it may have; an option with no value means TRUE."""
_ANALYZE_RUNS = "EXPLAIN ANALYZE runs the statement and is not allowed"


def explain_body(tokens: list[Token]) -> int:
    """Index of the first token of the explained statement, after checking every option before it."""
    if tokens and tokens[0].token_type == TokenType.L_PAREN:
        index = _options(tokens)
    else:
        index = 0
        while index < len(tokens) and tokens[index].text.upper() in {"ANALYZE", "ANALYSE", "VERBOSE"}:
            if tokens[index].text.upper() != "VERBOSE":
                raise Refused(_ANALYZE_RUNS, "read")
            index += 1
    if index >= len(tokens):
        raise Refused("EXPLAIN needs a query to explain", "read")
    return index


def _options(tokens: list[Token]) -> int:
    """Check ``(name [value], ...)`` and return the index just after its closing parenthesis."""
    index = 1
    while True:
        name = _option_name(tokens, index)
        allowed = OPTIONS[name]
        index += 1
        value = tokens[index] if index < len(tokens) else None
        if value is not None and value.token_type not in (TokenType.COMMA, TokenType.R_PAREN):
            if value.text.upper() not in allowed:
                _refuse_value(name, value.text)
            index += 1
        elif not allowed & {"TRUE"}:  # a bare ANALYZE means ANALYZE TRUE
            _refuse_value(name, "")
        end = tokens[index] if index < len(tokens) else None
        if end is None:
            raise Refused("EXPLAIN's option list is not closed", "read")
        if end.token_type == TokenType.R_PAREN:
            return index + 1
        if end.token_type != TokenType.COMMA:
            raise Refused(f"EXPLAIN options are separated by commas, not {end.text!r}", "read")
        index += 1


def _option_name(tokens: list[Token], index: int) -> str:
    token = tokens[index] if index < len(tokens) else None
    if token is None or token.token_type == TokenType.R_PAREN:
        raise Refused("EXPLAIN's option list names no option", "read")
    if token.token_type in (TokenType.IDENTIFIER, TokenType.STRING) or not token.text.isidentifier():
        raise Refused("EXPLAIN options must be written as plain words", "read")
    name = token.text.upper()
    if name not in OPTIONS:
        raise Refused(f"the EXPLAIN option {name} is not allowed; use {', '.join(sorted(OPTIONS))}", "read")
    return name


def _refuse_value(name: str, value: str) -> None:
    if name in ("ANALYZE", "ANALYSE"):
        raise Refused(_ANALYZE_RUNS, "read")
    raise Refused(f"EXPLAIN {name} {value} is not allowed", "read")
