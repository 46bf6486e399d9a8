"""MLflow's run filter and order-by syntax, answered by the mirror instead of MLflow.

MLflow's own parser (SearchUtils) decides what is valid, so a string means the same
here as in MLflow; each parsed clause then becomes an ORM condition with MLflow's
semantics:

- `metrics.k <op> number` compares the latest value numerically; runs without the
  metric never match, and a NaN value matches only `!=`.
- `params.k` and `tags.k` compare as strings (`=`, `!=`, `LIKE` case-sensitive, `ILIKE`);
  runs without the key never match, `IS NULL` asks that the key be absent.
- `attributes.*`: run_id (also `IN`/`NOT IN`), status, user_id, artifact_uri, run_name
  as strings; start_time/end_time/created as numbers (milliseconds since the epoch).
"""

import re
from dataclasses import dataclass
from functools import lru_cache

import sqlparse
from django.db import connection
from django.db.models import F, FloatField, Lookup, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThan,
    LessThanOrEqual,
)
from mlflow.exceptions import MlflowException
from mlflow.utils.search_utils import SearchUtils
from sqlparse import tokens as T


class FilterError(ValueError):
    """A filter or order-by the portal cannot run; `position` is a 0-based offset."""

    def __init__(self, message: str, position: int = 0):
        super().__init__(message)
        self.message = message
        self.position = position


class NotEqual(Lookup):
    lookup_name = "ne"

    def as_sql(self, compiler, conn):
        lhs, lhs_params = self.process_lhs(compiler, conn)
        rhs, rhs_params = self.process_rhs(compiler, conn)
        return f"{lhs} <> {rhs}", [*lhs_params, *rhs_params]


class Like(Lookup):
    """SQL LIKE with the pattern as written (case-sensitive, as MLflow defines it)."""

    lookup_name = "sql_like"
    case_sensitive = True

    def as_sql(self, compiler, conn):
        lhs, lhs_params = self.process_lhs(compiler, conn)
        rhs, rhs_params = self.process_rhs(compiler, conn)
        params = [*lhs_params, *rhs_params]
        if conn.vendor == "postgresql":
            operator = "LIKE" if self.case_sensitive else "ILIKE"
            return f"{lhs}::text {operator} {rhs}", params
        if self.case_sensitive:
            # SQLite's LIKE ignores case; GLOB does not, with * and ? as wildcards.
            glob = [_like_to_glob(p) if isinstance(p, str) else p for p in rhs_params]
            return f"{lhs} GLOB {rhs}", [*lhs_params, *glob]
        return f"LOWER({lhs}) LIKE LOWER({rhs})", params


class ILike(Like):
    lookup_name = "sql_ilike"
    case_sensitive = False


def _like_to_glob(pattern: str) -> str:
    escaped = "".join(f"[{c}]" if c in "*?[" else c for c in pattern)
    return escaped.replace("%", "*").replace("_", "?")


NUMERIC_LOOKUPS = {
    "=": Exact,
    "!=": NotEqual,
    ">": GreaterThan,
    ">=": GreaterThanOrEqual,
    "<": LessThan,
    "<=": LessThanOrEqual,
}
STRING_LOOKUPS = {"=": Exact, "!=": NotEqual, "LIKE": Like, "ILIKE": ILike}
STRING_ATTRIBUTES = {
    "run_id": "run_id",
    "status": "status",
    "user_id": "user_id",
    "artifact_uri": "artifact_uri",
    "run_name": "name",
}
NUMERIC_ATTRIBUTES = {"start_time": "start_time", "end_time": "end_time"}


@dataclass(frozen=True)
class Clause:
    kind: str  # metric, parameter, tag, attribute, dataset
    key: str
    comparator: str
    value: object
    position: int


def parse_filter(text: str) -> list[Clause]:
    """Parse with MLflow's parser; on error, point at the first clause that fails."""
    text = text or ""
    if not text.strip():
        return []
    return list(_parse_filter(text))


@lru_cache(maxsize=512)
def _parse_filter(text: str) -> tuple[Clause, ...]:
    # Parsing is pure and costs a few milliseconds (sqlparse); users page through the
    # same filter many times.
    try:
        parsed = SearchUtils.parse_search_filter(text)
    except MlflowException as exc:
        raise FilterError(exc.message, _error_position(text, exc.message)) from None

    spans = _clause_spans(text)
    clauses = []
    for index, clause in enumerate(parsed):
        position = spans[index] if index < len(spans) else 0
        parsed_clause = Clause(
            kind=clause["type"],
            key=SearchUtils.translate_key_alias(clause["key"]) or clause["key"],
            comparator=clause["comparator"].upper(),
            value=clause["value"],
            position=position,
        )
        try:
            _check_comparator(parsed_clause)
        except FilterError as exc:
            exc.position = _locate(text, clause["comparator"], exc.position)
            raise
        clauses.append(parsed_clause)
    return tuple(clauses)


def _check_comparator(clause: Clause) -> None:
    """MLflow checks comparators per key type only when it runs the query; so do we, here."""
    kind, key, comparator = clause.kind, clause.key, clause.comparator
    try:
        valid = (
            SearchUtils.is_metric(kind, comparator)
            or SearchUtils.is_param(kind, comparator)
            or SearchUtils.is_tag(kind, comparator)
            or SearchUtils.is_string_attribute(kind, key, comparator)
            or SearchUtils.is_numeric_attribute(kind, key, comparator)
            or SearchUtils.is_dataset(kind, comparator)
        )
    except MlflowException as exc:
        raise FilterError(exc.message, clause.position) from None
    if not valid:
        raise FilterError(f"Invalid comparator '{comparator}' for {kind} '{key}'.", clause.position)


def _top_level_tokens(text: str):
    """(offset, token) for the statement's tokens, with IN (...) lists left grouped."""
    statement = sqlparse.parse(text)[0]
    offset = 0
    for token in statement.tokens:
        yield offset, token
        offset += len(str(token))


def _clause_spans(text: str) -> list[int]:
    """Start offsets of the AND-separated clauses."""
    starts, expecting = [], True
    for offset, token in _top_level_tokens(text):
        if token.is_whitespace:
            continue
        if token.match(T.Keyword, ["AND"]):
            expecting = True
            continue
        if expecting:
            starts.append(offset)
            expecting = False
    return starts


# MLflow names the offending token in quotes ("Found 'high'", "Invalid attribute key
# 'color'"); the first quoted word of its message is looked for inside the failing clause.
QUOTED_TOKEN = re.compile(r"'([^'{}\[\]]+)'")


def _locate(text: str, token: str, start: int) -> int:
    """Offset of `token` in `text` at or after `start` (case-insensitive), else `start`."""
    found = text.lower().find(token.lower(), start) if token else -1
    return found if found >= 0 else start


def _error_position(text: str, message: str = "") -> int:
    """Offset of the offending token in the first AND-separated clause MLflow refuses on
    its own: the token MLflow quotes when it is found there, else the clause (else 0)."""
    clause_start = _failing_clause_start(text)
    quoted = QUOTED_TOKEN.search(message)
    if quoted is None:
        return clause_start
    token = quoted.group(1)
    quoted_at = _locate(text, f"'{token}'", clause_start)
    return quoted_at if quoted_at != clause_start else _locate(text, token, clause_start)


def _failing_clause_start(text: str) -> int:
    """Offset of the first AND-separated clause MLflow refuses on its own (else 0)."""
    try:
        spans = _clause_spans(text)
    except Exception:
        return 0
    bounds = [*spans, len(text)]
    for start, end in zip(bounds, bounds[1:], strict=False):
        piece = text[start:end].rstrip()
        if piece.upper().endswith(" AND"):
            piece = piece[:-4]
        try:
            SearchUtils.parse_search_filter(piece)
        except MlflowException:
            return start + _offending_offset(piece)
        except Exception:
            return start
    return 0


def _offending_offset(piece: str) -> int:
    """Inside one refused clause, the first token after a bare OR/NOT, if any."""
    for offset, token in _top_level_tokens(piece):
        if token.match(T.Keyword, ["OR", "NOT"]):
            return offset
    return 0


def _json_text(field: str, key: str):
    return KeyTextTransform(key, field)


def _clause_condition(clause: Clause):
    if clause.kind == "metric":
        return _metric_condition(clause)
    if clause.kind in ("parameter", "tag"):
        return _key_value_condition("params" if clause.kind == "parameter" else "tags", clause)
    if clause.kind == "attribute":
        return _attribute_condition(clause)
    raise FilterError(f"Filtering on {clause.kind}s is not supported here.", clause.position)


def _metric_condition(clause: Clause):
    value = float(clause.value)
    number = Cast(_json_text("metrics", clause.key), FloatField())
    condition = Q(NUMERIC_LOOKUPS[clause.comparator](number, value))
    if clause.comparator == "!=":
        # A NaN value (stored as JSON null) differs from every number, as in MLflow.
        nan = Q(metrics__has_key=clause.key) & Q(IsNull(_json_text("metrics", clause.key), True))
        condition |= nan
    return condition


def _key_value_condition(field: str, clause: Clause):
    if clause.comparator == "IS NULL":
        return ~Q(**{f"{field}__has_key": clause.key})
    if clause.comparator == "IS NOT NULL":
        return Q(**{f"{field}__has_key": clause.key})
    if clause.comparator == "=" and connection.vendor == "postgresql":
        # Containment (@>) is what the GIN index on the column answers.
        return Q(**{f"{field}__contains": {clause.key: clause.value}})
    return Q(STRING_LOOKUPS[clause.comparator](_json_text(field, clause.key), clause.value))


def _attribute_condition(clause: Clause):
    if clause.key in NUMERIC_ATTRIBUTES:
        column = F(NUMERIC_ATTRIBUTES[clause.key])
        return Q(NUMERIC_LOOKUPS[clause.comparator](column, clause.value))
    column = F(STRING_ATTRIBUTES[clause.key])
    if clause.comparator == "IN":
        return Q(In(column, list(clause.value)))
    if clause.comparator == "NOT IN":
        return ~Q(In(column, list(clause.value)))
    return Q(STRING_LOOKUPS[clause.comparator](column, clause.value))


def filter_runs(runs: QuerySet, text: str) -> QuerySet:
    """Narrow `runs` to those matching the MLflow filter string `text`."""
    for clause in parse_filter(text):
        runs = runs.filter(_clause_condition(clause))
    return runs


DEFAULT_ORDER = ["-start_time", "run_id"]


def order_expressions(order_by: list[str] | None) -> list:
    """ORM ordering for MLflow order-by strings (`metrics.f1 DESC`, `attributes.start_time`).

    Runs missing the sort key come last either way, as in MLflow.
    """
    expressions = []
    for item in order_by or []:
        if not item.strip():
            continue
        try:
            kind, key, ascending = SearchUtils.parse_order_by_for_search_runs(item)
        except MlflowException as exc:
            raise FilterError(exc.message, 0) from None
        expression = _order_target(kind, SearchUtils.translate_key_alias(key) or key)
        ordered = expression.asc(nulls_last=True) if ascending else expression.desc(nulls_last=True)
        expressions.append(ordered)
    if not expressions:
        return [F("start_time").desc(nulls_last=True), F("run_id").asc()]
    return [*expressions, F("start_time").desc(nulls_last=True), F("run_id").asc()]


def _order_target(kind: str, key: str):
    if kind == "metric":
        return Cast(_json_text("metrics", key), FloatField())
    if kind in ("parameter", "tag"):
        return _json_text("params" if kind == "parameter" else "tags", key)
    columns = {**STRING_ATTRIBUTES, **NUMERIC_ATTRIBUTES}
    if key not in columns:
        raise FilterError(f"Cannot order by attribute {key!r}.", 0)
    return F(columns[key])
