"""The SQL guard: one statement, read-only unless writes are allowed, judged on sqlglot's tokens and AST.

Three layers, all over what PostgreSQL itself would see. Tokens first: one statement, the statement kind,
forbidden keywords outside string literals and quoted names (comments included), and no ``U&"..."``
names that PostgreSQL decodes but a tokenizer reads as other words. Then the AST: no data-modifying CTE,
no ``SELECT INTO`` or row locks, only allowed functions and casts. Then names, resolved by scope as
PostgreSQL resolves them (``sql.scope``): CTEs only where they are in scope, only the business's own
relations and real columns, and a write only to a table the writer role may change. The policy itself
(which functions, schemas and keywords) is data in ``sql.policy``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import sqlglot.expressions as exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ParseError, TokenError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.tokens import Token, TokenType

from bizsql.sql import policy
from bizsql.sql.catalog import Catalog
from bizsql.sql.explain import explain_body
from bizsql.sql.scope import function_name, resolve
from bizsql.sql.size import SIZE_CHECKED, args_of, check_concatenation, check_size
from bizsql.sql.verdict import Kind, Refused, Verdict

__all__ = ["Judgement", "Kind", "Verdict", "check_sql", "judge_sql"]

_DIALECT = Postgres()
_QUOTED_OR_LITERAL = frozenset(
    {
        TokenType.STRING, TokenType.NATIONAL_STRING, TokenType.BYTE_STRING, TokenType.HEREDOC_STRING,
        TokenType.RAW_STRING, TokenType.UNICODE_STRING, TokenType.BIT_STRING, TokenType.HEX_STRING,
        TokenType.IDENTIFIER, TokenType.NUMBER,
    }
)  # fmt: skip
_WRITE_NODES = exp.Insert | exp.Update | exp.Delete
_UNICODE_NAME = 'names written as U&"..." are not allowed; write the name itself'


@dataclass(frozen=True)
class Judgement:
    """The verdict, with what the executor needs to run an allowed statement the right way."""

    verdict: Verdict
    verb: str = ""
    """The statement's first word: ``EXPLAIN`` runs differently from a query."""
    statement: str = ""
    """The query that runs (and is priced): the explained statement for ``EXPLAIN``, else the SQL."""
    tree: exp.Expr | None = None
    """The parsed statement, identifiers normalised as PostgreSQL folds them."""


def check_sql(
    sql: str,
    *,
    allow_writes: bool = False,
    schemas: Collection[str] = policy.READ_ONLY_SCHEMAS,
    catalog: Catalog | None = None,
) -> Verdict:
    """Decide whether ``sql`` may run as one read (or, with ``allow_writes``, one INSERT/UPDATE/DELETE).

    With ``catalog``, every relation and qualified column must really exist in the business, and a write
    must target a table the writer role may change; the executor always passes one.
    """
    return judge_sql(sql, allow_writes=allow_writes, schemas=schemas, catalog=catalog).verdict


def judge_sql(
    sql: str,
    *,
    allow_writes: bool = False,
    schemas: Collection[str] = policy.READ_ONLY_SCHEMAS,
    catalog: Catalog | None = None,
) -> Judgement:
    """The verdict, the statement's first word, the statement to run and its tree."""
    try:
        return _check(sql, allow_writes, frozenset(s.lower() for s in schemas), catalog)
    except Refused as refused:
        verdict = Verdict(
            allowed=False, kind=refused.kind, reason=refused.reason, tables=refused.tables,
            retryable=refused.retryable,
        )  # fmt: skip
        return Judgement(verdict)


def _check(sql: str, allow_writes: bool, schemas: frozenset[str], catalog: Catalog | None) -> Judgement:
    if "\x00" in sql:
        raise Refused("the statement contains a NUL character")
    if not sql.strip():
        raise Refused("the statement is empty")
    try:
        tokens = _DIALECT.tokenize(sql)
    except TokenError as exc:
        raise Refused(f"could not parse the SQL: {_first_line(exc)}") from None
    if not tokens:
        raise Refused("the statement is empty (only comments)")
    statement = _single_statement(tokens)
    first = _first_word(statement)
    if first == "EXPLAIN":
        _scan_keywords(tokens, "read")
        return _check_explain(statement, schemas, catalog)
    kind = _start_kind(first)
    _scan_keywords(tokens, kind)
    if kind == "unknown":
        reason = policy.STATEMENT_REASONS.get(first, f"{first or 'this statement'} is not allowed")
        raise Refused(f"{reason}; only SELECT queries may run")
    try:
        trees = _DIALECT.parser().parse(tokens, sql)
    except ParseError as exc:
        raise Refused(f"could not parse the SQL: {_parse_error(exc)}", kind) from None
    roots = [t for t in trees if t is not None and not isinstance(t, exp.Semicolon)]
    if len(roots) != 1:
        raise Refused("only one statement per request", kind)
    root = normalize_identifiers(roots[0], dialect=_DIALECT)
    kind, tables = _check_tree(root, sql, kind, allow_writes, schemas, catalog)
    verdict = Verdict(allowed=True, kind=kind, reason=f"allowed: a {kind} statement", tables=tables)
    return Judgement(verdict, first, sql[statement[0].start : statement[-1].end + 1], root)


def _single_statement(tokens: list[Token]) -> list[Token]:
    """The tokens of the one statement; empty statements (stray semicolons) do not count."""
    statements: list[list[Token]] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            statements.append([])
        else:
            statements[-1].append(token)
    real = [s for s in statements if s]
    if len(real) != 1:
        raise Refused("only one statement per request" if real else "the statement is empty")
    return real[0]


def _first_word(statement: list[Token]) -> str:
    for token in statement:
        if token.token_type != TokenType.L_PAREN:
            return token.text.upper()
    return ""


def _scan_keywords(tokens: list[Token], kind: Kind) -> None:
    """Forbidden words outside literals and quoted names, and in comments, where they have no business."""
    for index, token in enumerate(tokens):
        word = token.text.upper()
        if token.token_type not in _QUOTED_OR_LITERAL and word in policy.FORBIDDEN_KEYWORDS:
            raise Refused(f"{word} is not allowed", kind)
        if (
            word.lower() in policy.TOKEN_BLOCKED_FUNCTIONS
            and index + 1 < len(tokens)
            and tokens[index + 1].token_type == TokenType.L_PAREN
        ):
            raise Refused(policy.function_refusal(word.lower()) or f"{word.lower()}() is not allowed", kind)
        if token.token_type == TokenType.COMMAND and token is not tokens[0] and not _upsert(tokens, index):
            raise Refused(f"{word} is not allowed inside a query", kind)
        if _unicode_name(tokens, index):
            raise Refused(_UNICODE_NAME, kind)
        for comment in token.comments:
            found = policy.FORBIDDEN_IN_COMMENT.search(comment)
            if found:
                raise Refused(f"{found.group(1).upper()} is not allowed, even in a comment", kind)


def _upsert(tokens: list[Token], index: int) -> bool:
    """``ON CONFLICT (...) DO UPDATE | DO NOTHING``: the one place DO is not a statement of its own."""
    following = tokens[index + 1].text.upper() if index + 1 < len(tokens) else ""
    return tokens[index].text.upper() == "DO" and following in ("UPDATE", "NOTHING")


def _unicode_name(tokens: list[Token], index: int) -> bool:
    """``U&"\\0078min"`` is the name ``xmin`` to PostgreSQL, but ``U & "\\0078min"`` to the tokenizer."""
    if index + 2 >= len(tokens) or tokens[index].text.upper() != "U":
        return False
    amp, name = tokens[index + 1], tokens[index + 2]
    return (
        amp.token_type == TokenType.AMP
        and amp.start == tokens[index].end + 1
        and name.start == amp.end + 1
        and name.token_type == TokenType.IDENTIFIER
    )


def _start_kind(first: str) -> Kind:
    if first in policy.WRITE_STARTS:
        return "write"
    return "read" if first in policy.READ_STARTS else "unknown"


def _check_explain(statement: list[Token], schemas: frozenset[str], catalog: Catalog | None) -> Judgement:
    """EXPLAIN shows a plan without running it; the explained query is judged (and priced) as a read."""
    rest = statement[1].text if len(statement) == 2 and statement[0].token_type == TokenType.COMMAND else ""
    try:
        tokens = _DIALECT.tokenize(rest) if rest else []
    except TokenError as exc:
        raise Refused(f"could not parse the SQL: {_first_line(exc)}", "read") from None
    if any(_unicode_name(tokens, index) for index in range(len(tokens))):
        raise Refused(_UNICODE_NAME, "read")
    body = explain_body(tokens)
    _scan_keywords(tokens, "read")
    inner = rest[tokens[body].start :]
    judged = _check(inner, False, schemas, catalog)
    if judged.verb == "EXPLAIN":
        raise Refused("EXPLAIN of an EXPLAIN is not allowed", "read")
    if judged.verdict.kind != "read":
        raise Refused("EXPLAIN is allowed only for read queries", "read", judged.verdict.tables)
    return Judgement(judged.verdict, "EXPLAIN", inner, judged.tree)


def _check_tree(
    root: exp.Expr, sql: str, kind: Kind, allow_writes: bool, schemas: frozenset[str], catalog: Catalog | None
) -> tuple[Kind, list[str]]:
    if isinstance(root, _WRITE_NODES):
        kind = "write"
    elif isinstance(_unwrap(root), exp.Select | exp.SetOperation | exp.Values):
        kind = "read"
    else:
        raise Refused(f"{root.key.upper()} is not allowed; only SELECT queries may run")
    for node in root.walk():
        role = _role(type(node))
        if role:
            _check_node(node, role, root, sql, kind)
    if kind == "write":
        _check_write(root, allow_writes)
    names = resolve(root, sql, kind=kind, catalog=catalog, schemas=schemas)
    return kind, sorted(set(names.tables))


def _unwrap(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Subquery | exp.Paren) and isinstance(node.this, exp.Expr):
        node = node.this
    return node


_ROLES: dict[type, str] = {}


def _role(cls: type) -> str:
    """What the guard must look at in a node of this class ("" for most: identifiers, literals...)."""
    known = _ROLES.get(cls)
    if known is None:
        known = _ROLES[cls] = _classify_node(cls)
    return known


def _classify_node(cls: type) -> str:
    for role, classes in (
        ("write", _WRITE_NODES | exp.Merge), ("into", exp.Into), ("lock", exp.Lock), ("command", exp.Command),
        ("function", exp.Func), ("type", exp.DataType | exp.ObjectIdentifier), ("column", exp.Column),
        ("dot", exp.Dot), ("var", exp.Var), ("concat", exp.DPipe),
    ):  # fmt: skip
        if issubclass(cls, classes):
            return role
    return ""


def _check_node(node: exp.Expr, role: str, root: exp.Expr, sql: str, kind: Kind) -> None:
    if role == "write" and node is not root:
        raise Refused("data-modifying statements inside a query (e.g. in a CTE) are not allowed", kind)
    if role == "into":
        raise Refused("SELECT ... INTO creates a table and is not allowed", kind)
    if role == "lock":
        raise Refused("row locks (FOR UPDATE / FOR SHARE) are not allowed", kind)
    if role == "command":
        raise Refused(f"{str(node.this).upper()} is not allowed inside a query", kind)
    if role == "function":
        _check_function(node, sql, kind)  # type: ignore[arg-type]
    elif role == "type":
        why = policy.type_refusal(_type_name(node))
        if why:
            raise Refused(why, kind)
    elif role == "concat" and not isinstance(node.parent, exp.DPipe):  # the whole chain, once
        check_concatenation(node, sql, kind)
    elif _names_the_session(node, role):
        raise Refused(f"{node.name.lower()} reveals the database session and is not allowed", kind)
    elif role == "dot" and not isinstance(node.expression, exp.Func | exp.Star):
        raise Refused(
            f"field selection ({node.sql('postgres')}) is not allowed: on a row, .name calls the function "
            "name() (attribute notation)",
            kind,
        )


def _type_name(node: exp.Expr) -> str:
    if isinstance(node, exp.ObjectIdentifier):
        return node.name
    kind = node.args.get("kind")
    if node.this == exp.DataType.Type.USERDEFINED and kind is not None:
        return str(kind.name if isinstance(kind, exp.Expr) else kind)
    return str(getattr(node.this, "value", node.this))


def _names_the_session(node: exp.Expr, role: str) -> bool:
    """A bare ``user`` (or another session word) as a column, or where sqlglot reads a keyword (the unit
    of ``date_part(user, ...)``, which PostgreSQL evaluates and names in its error)."""
    if role == "column":
        return not node.args.get("table") and _session_word(node.this)
    return role == "var" and node.name.lower() in policy.SESSION_IDENTIFIERS


def _session_word(ident: object) -> bool:
    """An unquoted bare word such as ``user`` that PostgreSQL evaluates as a session function."""
    return (
        isinstance(ident, exp.Identifier)
        and not ident.quoted
        and ident.name.lower() in policy.SESSION_IDENTIFIERS
    )


def _check_function(func: exp.Func, sql: str, kind: Kind) -> None:
    if isinstance(func.parent, exp.Dot) and func.parent.expression is func:
        raise Refused("schema-qualified function calls are not allowed", kind)
    name = function_name(func, sql)
    if name is None:
        if type(func).__name__ in policy.BLOCKED_SYNTAX_CLASSES:
            raise Refused(f"{func.sql('postgres').lower()} reveals the database session", kind)
        return
    if name == "current_setting":
        setting = _first_string_arg(func)
        if setting in policy.SAFE_SETTINGS:
            return
        raise Refused(f"current_setting({setting or '...'}) is not allowed: only "
                      f"{', '.join(sorted(policy.SAFE_SETTINGS))} may be read", kind)  # fmt: skip
    why = policy.function_refusal(name)
    if why:
        raise Refused(why, kind)
    if name in SIZE_CHECKED:
        check_size(func, name, sql, kind)


def _first_string_arg(func: exp.Func) -> str | None:
    args = args_of(func)
    if args and isinstance(args[0], exp.Literal) and args[0].is_string:
        return args[0].this.lower()
    return None


def _check_write(root: exp.Expr, allow_writes: bool) -> None:
    verb = root.key.upper()
    if not allow_writes:
        raise Refused(f"{verb} is a write, and writes are not allowed here", "write")
    if isinstance(root, exp.Update | exp.Delete):
        where = root.args.get("where")
        if where is None:
            raise Refused(f"{verb} needs a WHERE clause", "write")
        if not any(True for _ in where.find_all(exp.Column)):
            raise Refused(f"the WHERE clause of {verb} must test a column", "write")


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _parse_error(exc: ParseError) -> str:
    if exc.errors:
        error = exc.errors[0]
        where = f" (line {error.get('line')}, column {error.get('col')})" if error.get("line") else ""
        return f"{error.get('description')}{where}"
    return _first_line(exc)
