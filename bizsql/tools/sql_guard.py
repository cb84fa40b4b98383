"""The SQL guard: one statement, read-only unless writes are allowed, judged on sqlglot's tokens and AST.

Two layers, both over what PostgreSQL itself would see. Tokens first: one statement, the statement kind,
and forbidden keywords outside string literals and quoted names (comments included). Then the AST: no
data-modifying CTE, no ``SELECT INTO`` or row locks, only allowed functions and casts, only the business's
own schema. The policy itself (which functions, schemas and keywords) is data in ``sql_policy``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Literal

import sqlglot.expressions as exp
from pydantic import BaseModel
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from bizsql.tools import sql_policy as policy

Kind = Literal["read", "write", "unknown"]
_DIALECT = Postgres()
_QUOTED_OR_LITERAL = frozenset(
    {
        TokenType.STRING, TokenType.NATIONAL_STRING, TokenType.BYTE_STRING, TokenType.HEREDOC_STRING,
        TokenType.RAW_STRING, TokenType.UNICODE_STRING, TokenType.BIT_STRING, TokenType.HEX_STRING,
        TokenType.IDENTIFIER, TokenType.NUMBER,
    }
)  # fmt: skip
_WRITE_NODES = exp.Insert | exp.Update | exp.Delete


class Verdict(BaseModel):
    """What the guard decided, and why, in words a user can act on."""

    allowed: bool
    kind: Kind
    reason: str
    tables: list[str]


class _Refused(Exception):
    def __init__(self, reason: str, kind: Kind = "unknown", tables: Iterable[str] = ()) -> None:
        super().__init__(reason)
        self.reason, self.kind, self.tables = reason, kind, list(tables)


def check_sql(
    sql: str, *, allow_writes: bool = False, schemas: Collection[str] = policy.READ_ONLY_SCHEMAS
) -> Verdict:
    """Decide whether ``sql`` may run as one read (or, with ``allow_writes``, one INSERT/UPDATE/DELETE)."""
    return judge_sql(sql, allow_writes=allow_writes, schemas=schemas)[0]


def judge_sql(
    sql: str, *, allow_writes: bool = False, schemas: Collection[str] = policy.READ_ONLY_SCHEMAS
) -> tuple[Verdict, str]:
    """The verdict and the statement's first word (``EXPLAIN`` runs differently from a query)."""
    try:
        kind, tables, verb = _check(sql, allow_writes, frozenset(s.lower() for s in schemas))
    except _Refused as refused:
        verdict = Verdict(allowed=False, kind=refused.kind, reason=refused.reason, tables=refused.tables)
        return verdict, ""
    return Verdict(allowed=True, kind=kind, reason=f"allowed: a {kind} statement", tables=tables), verb


def _check(sql: str, allow_writes: bool, schemas: frozenset[str]) -> tuple[Kind, list[str], str]:
    if "\x00" in sql:
        raise _Refused("the statement contains a NUL character")
    if not sql.strip():
        raise _Refused("the statement is empty")
    try:
        tokens = _DIALECT.tokenize(sql)
    except TokenError as exc:
        raise _Refused(f"could not parse the SQL: {_first_line(exc)}") from None
    if not tokens:
        raise _Refused("the statement is empty (only comments)")
    statement = _single_statement(tokens)
    first = _first_word(statement)
    if first == "EXPLAIN":
        _scan_keywords(tokens, "read")
        return _check_explain(statement, schemas)
    kind = _start_kind(first)
    _scan_keywords(tokens, kind)
    if kind == "unknown":
        reason = policy.STATEMENT_REASONS.get(first, f"{first or 'this statement'} is not allowed")
        raise _Refused(f"{reason}; only SELECT queries may run")
    try:
        trees = _DIALECT.parser().parse(tokens, sql)
    except ParseError as exc:
        raise _Refused(f"could not parse the SQL: {_parse_error(exc)}", kind) from None
    roots = [t for t in trees if t is not None and not isinstance(t, exp.Semicolon)]
    if len(roots) != 1:
        raise _Refused("only one statement per request", kind)
    return (*_check_tree(roots[0], sql, kind, allow_writes, schemas), first)


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
        raise _Refused("only one statement per request" if real else "the statement is empty")
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
            raise _Refused(f"{word} is not allowed", kind)
        if (
            word.lower() in policy.TOKEN_BLOCKED_FUNCTIONS
            and index + 1 < len(tokens)
            and tokens[index + 1].token_type == TokenType.L_PAREN
        ):
            raise _Refused(policy.function_refusal(word.lower()) or f"{word.lower()}() is not allowed", kind)
        if token.token_type == TokenType.COMMAND and token is not tokens[0]:
            raise _Refused(f"{word} is not allowed inside a query", kind)
        for comment in token.comments:
            found = policy.FORBIDDEN_IN_COMMENT.search(comment)
            if found:
                raise _Refused(f"{found.group(1).upper()} is not allowed, even in a comment", kind)


def _start_kind(first: str) -> Kind:
    if first in policy.WRITE_STARTS:
        return "write"
    return "read" if first in policy.READ_STARTS else "unknown"


def _check_explain(statement: list[Token], schemas: frozenset[str]) -> tuple[Kind, list[str], str]:
    """EXPLAIN shows a plan without running it; ANALYZE would run it, so it is refused."""
    rest = statement[1].text if len(statement) == 2 and statement[0].token_type == TokenType.COMMAND else ""
    try:
        tokens = _DIALECT.tokenize(rest) if rest else []
    except TokenError as exc:
        raise _Refused(f"could not parse the SQL: {_first_line(exc)}", "read") from None
    body = _explain_body(tokens)
    if body is None:
        raise _Refused("EXPLAIN needs a query to explain", "read")
    inner = rest[tokens[body].start :] if body < len(tokens) else ""
    kind, tables, _ = _check(inner, False, schemas)
    if kind != "read":
        raise _Refused("EXPLAIN is allowed only for read queries", "read", tables)
    return "read", tables, "EXPLAIN"


def _explain_body(tokens: list[Token]) -> int | None:
    """Index of the first token of the explained statement, after refusing ANALYZE in any spelling."""
    index = 0
    if tokens and tokens[0].token_type == TokenType.L_PAREN:
        depth = 0
        for index, token in enumerate(tokens):
            depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(token.token_type, 0)
            if token.text.upper() in _ANALYZE and not _option_off(tokens, index):
                raise _Refused("EXPLAIN ANALYZE runs the statement and is not allowed", "read")
            if depth == 0:
                return index + 1
        return None
    while index < len(tokens) and tokens[index].text.upper() in {*_ANALYZE, "VERBOSE"}:
        if tokens[index].text.upper() != "VERBOSE":
            raise _Refused("EXPLAIN ANALYZE runs the statement and is not allowed", "read")
        index += 1
    return index if index < len(tokens) else None


_ANALYZE = frozenset({"ANALYZE", "ANALYSE"})


def _option_off(tokens: list[Token], index: int) -> bool:
    following = tokens[index + 1].text.upper() if index + 1 < len(tokens) else ""
    return following in {"FALSE", "OFF", "0", "NO"}


def _check_tree(
    root: exp.Expr, sql: str, kind: Kind, allow_writes: bool, schemas: frozenset[str]
) -> tuple[Kind, list[str]]:
    if isinstance(root, _WRITE_NODES):
        kind = "write"
    elif isinstance(_unwrap(root), exp.Select | exp.SetOperation | exp.Values):
        kind = "read"
    else:
        raise _Refused(f"{root.key.upper()} is not allowed; only SELECT queries may run")
    walk = _Walk(root, sql, kind, schemas)
    for node in root.walk():
        role = _role(type(node))
        if role:
            walk.check(node, role)
    if kind == "write":
        _check_write(root, allow_writes, walk.tables)
    return kind, sorted(set(walk.tables))


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
        ("table", exp.Table), ("function", exp.Func), ("type", exp.DataType | exp.ObjectIdentifier),
        ("column", exp.Column),
    ):  # fmt: skip
        if issubclass(cls, classes):
            return role
    return ""


class _Walk:
    """One pass over the AST: the statement's context, and the tables it reads or writes."""

    def __init__(self, root: exp.Expr, sql: str, kind: Kind, schemas: frozenset[str]) -> None:
        self.root, self.sql, self.kind, self.schemas = root, sql, kind, schemas
        self.tables: list[str] = []
        self._ctes: set[str] | None = None

    @property
    def ctes(self) -> set[str]:
        if self._ctes is None:
            self._ctes = {cte.alias_or_name.lower() for cte in self.root.find_all(exp.CTE)}
        return self._ctes

    def check(self, node: exp.Expr, role: str) -> None:
        kind = self.kind
        if role == "write" and node is not self.root:
            raise _Refused("data-modifying statements inside a query (e.g. in a CTE) are not allowed", kind)
        if role == "into":
            raise _Refused("SELECT ... INTO creates a table and is not allowed", kind)
        if role == "lock":
            raise _Refused("row locks (FOR UPDATE / FOR SHARE) are not allowed", kind)
        if role == "command":
            raise _Refused(f"{str(node.this).upper()} is not allowed inside a query", kind)
        if role == "table":
            _check_table(node, self)  # type: ignore[arg-type]
        elif role == "function":
            _check_function(node, self.sql, kind)  # type: ignore[arg-type]
        elif role == "type":
            why = policy.type_refusal(_type_name(node))
            if why:
                raise _Refused(why, kind)
        elif role == "column" and not node.args.get("table") and _session_word(node.this):
            raise _Refused(f"{node.name.lower()} reveals the database session and is not allowed", kind)


def _type_name(node: exp.Expr) -> str:
    if isinstance(node, exp.ObjectIdentifier):
        return node.name
    kind = node.args.get("kind")
    if node.this == exp.DataType.Type.USERDEFINED and kind is not None:
        return str(kind.name if isinstance(kind, exp.Expr) else kind)
    return str(getattr(node.this, "value", node.this))


def _session_word(ident: object) -> bool:
    """An unquoted bare word such as ``user`` that PostgreSQL evaluates as a session function."""
    return (
        isinstance(ident, exp.Identifier)
        and not ident.quoted
        and ident.name.lower() in policy.SESSION_IDENTIFIERS
    )


def _check_table(table: exp.Table, walk: _Walk) -> None:
    if not isinstance(table.this, exp.Identifier):
        return  # a table function such as generate_series(...): checked as a function
    name, schema, kind = table.name.lower(), table.db.lower(), walk.kind
    if table.catalog:
        raise _Refused(f"{table.catalog}.{schema}.{name}: other databases are not reachable", kind)
    if not schema and name in walk.ctes:
        return
    if schema == "information_schema":
        if name not in policy.SAFE_INFORMATION_SCHEMA:
            raise _Refused(f"information_schema.{name} is not allowed", kind)
    elif schema.startswith("pg_") or (not schema and name.startswith("pg_")):
        raise _Refused(f"the system catalog ({schema or 'pg_catalog'}.{name}) is not allowed", kind)
    elif schema and schema not in walk.schemas:
        raise _Refused(f"schema {schema} is not allowed; only {', '.join(sorted(walk.schemas))}", kind)
    walk.tables.append(f"{schema}.{name}" if schema else name)


def _check_function(func: exp.Func, sql: str, kind: Kind) -> None:
    if isinstance(func.parent, exp.Dot) and func.parent.expression is func:
        raise _Refused("schema-qualified function calls are not allowed", kind)
    name = _function_name(func, sql)
    if name is None:
        if type(func).__name__ in policy.BLOCKED_SYNTAX_CLASSES:
            raise _Refused(f"{func.sql('postgres').lower()} reveals the database session", kind)
        return
    if name == "current_setting":
        setting = _first_string_arg(func)
        if setting in policy.SAFE_SETTINGS:
            return
        raise _Refused(f"current_setting({setting or '...'}) is not allowed: only "
                       f"{', '.join(sorted(policy.SAFE_SETTINGS))} may be read", kind)  # fmt: skip
    why = policy.function_refusal(name)
    if why:
        raise _Refused(why, kind)
    if name in policy.LENGTH_LIMITED:
        _check_length(func, name, kind)


def _function_name(func: exp.Func, sql: str) -> str | None:
    """The name as written: sqlglot records where each named call starts, even when it types the node."""
    if isinstance(func, exp.Anonymous):
        return func.name.lower()
    start, end = func.meta.get("start"), func.meta.get("end")
    if start is None or end is None:
        return None  # keyword syntax (EXTRACT, CAST, CURRENT_DATE, operators)
    return sql[start : end + 1].strip('"').lower()


def _args(func: exp.Func) -> list[exp.Expr]:
    values: list[exp.Expr] = []
    for key in func.arg_types:
        value = func.args.get(key)
        if isinstance(value, list):
            values.extend(v for v in value if isinstance(v, exp.Expr))
        elif isinstance(value, exp.Expr):
            values.append(value)
    return values


def _first_string_arg(func: exp.Func) -> str | None:
    args = _args(func)
    if args and isinstance(args[0], exp.Literal) and args[0].is_string:
        return args[0].this.lower()
    return None


def _check_length(func: exp.Func, name: str, kind: Kind) -> None:
    args = _args(func)
    index = policy.LENGTH_LIMITED[name]
    size = args[index] if len(args) > index else None
    if not (isinstance(size, exp.Literal) and not size.is_string and size.this.isdigit()):
        raise _Refused(f"{name}() needs a whole-number literal length (at most "
                       f"{policy.MAX_GENERATED_LENGTH:,})", kind)  # fmt: skip
    if int(size.this) > policy.MAX_GENERATED_LENGTH:
        raise _Refused(f"{name}() length {int(size.this):,} is over {policy.MAX_GENERATED_LENGTH:,}", kind)


def _check_write(root: exp.Expr, allow_writes: bool, tables: list[str]) -> None:
    verb = root.key.upper()
    if not allow_writes:
        raise _Refused(f"{verb} is a write, and writes are not allowed here", "write", tables)
    if isinstance(root, exp.Update | exp.Delete):
        where = root.args.get("where")
        if where is None:
            raise _Refused(f"{verb} needs a WHERE clause", "write", tables)
        if not any(True for _ in where.find_all(exp.Column)):
            raise _Refused(f"the WHERE clause of {verb} must test a column", "write", tables)


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _parse_error(exc: ParseError) -> str:
    if exc.errors:
        error = exc.errors[0]
        where = f" (line {error.get('line')}, column {error.get('col')})" if error.get("line") else ""
        return f"{error.get('description')}{where}"
    return _first_line(exc)
