"""A small PromQL tokenizer: enough to find the metrics and selectors a query names.

Dashboards and alert rules must only name metrics the service exports. Parsing PromQL
fully is not needed for that: a metric name is an identifier that is not a keyword,
not a function call, not inside ``{...}`` or ``[...]``, and not in a label list after
``by``/``without``/``on``/``ignoring``/``group_left``/``group_right``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Grafana's variables, replaced before a query is sent to Prometheus.
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")

_TOKEN = re.compile(
    r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
  | (?P<number>(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)[a-zA-Z]*(?:\d+[a-zA-Z]+)*)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<variable>\$\{\w+(?::\w+)?\}|\$\w+)
  | (?P<op>==|!=|>=|<=|=~|!~|[-+*/%^<>=(){}\[\],@:])
    """,
    re.VERBOSE,
)

AGGREGATIONS = frozenset({
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile", "limitk", "limit_ratio",
})
KEYWORDS = AGGREGATIONS | frozenset({
    "and", "or", "unless", "atan2", "by", "without", "on", "ignoring", "group_left",
    "group_right", "offset", "bool", "inf", "nan",
})
# Keywords followed by a parenthesised list of label names (not metrics).
_LABEL_LISTS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})

HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


class PromQLError(ValueError):
    """The text is not tokenizable PromQL."""


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # string, number, ident, variable (Grafana's $x), op
    text: str
    start: int
    end: int


def substitute(expr: str, variables: dict[str, str]) -> str:
    """Replace Grafana variables (``$x``, ``${x}``, ``${x:fmt}``) from ``variables``.

    An unknown variable raises ``KeyError``, so a query cannot silently keep a ``$``.
    """

    def repl(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return variables[name]

    return _VARIABLE.sub(repl, expr)


def tokenize(expr: str) -> list[Token]:
    """Split ``expr`` into tokens (whitespace and comments dropped)."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(expr):
        match = _TOKEN.match(expr, pos)
        if match is None:
            raise PromQLError(f"unexpected character {expr[pos]!r} at {pos} in {expr!r}")
        kind = match.lastgroup
        assert kind is not None
        if kind != "space":
            tokens.append(Token(kind, match.group(), match.start(), match.end()))
        pos = match.end()
    return tokens


def _skip_group(tokens: list[Token], i: int, open_: str, close: str) -> int:
    """Index just past the bracket group that starts at ``tokens[i]`` (== ``open_``)."""
    depth = 0
    for j in range(i, len(tokens)):
        if tokens[j].text == open_:
            depth += 1
        elif tokens[j].text == close:
            depth -= 1
            if depth == 0:
                return j + 1
    raise PromQLError(f"unbalanced {open_!r}")


def selectors(expr: str) -> list[str]:
    """Every vector selector in ``expr`` as text: the metric name plus its ``{...}`` matchers.

    Range brackets and offsets are dropped, so each result is an instant-vector query.
    """
    tokens = tokenize(expr)
    found: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok.text in ("{", "["):
            # A bare {...} selector (no metric name) or a range: not a metric name.
            i = _skip_group(tokens, i, tok.text, "}" if tok.text == "{" else "]")
            continue
        if tok.kind != "ident":
            i += 1
            continue
        if tok.text in _LABEL_LISTS and nxt is not None and nxt.text == "(":
            i = _skip_group(tokens, i + 1, "(", ")")
            continue
        if tok.text in KEYWORDS or (nxt is not None and nxt.text == "("):
            i += 1
            continue
        # A metric name, maybe with matchers.
        if nxt is not None and nxt.text == "{":
            end = _skip_group(tokens, i + 1, "{", "}")
            found.append(expr[tok.start:tokens[end - 1].end])
            i = end
        else:
            found.append(tok.text)
            i += 1
    return found


def metric_names(expr: str) -> set[str]:
    """The metric names ``expr`` selects (as written, suffixes kept)."""
    return {re.split(r"[{\s]", s, maxsplit=1)[0] for s in selectors(expr)}


def base_name(name: str, histograms: frozenset[str] | set[str]) -> str:
    """``name`` with a ``_bucket``/``_sum``/``_count`` suffix removed if its base is a histogram."""
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in histograms:
            return name[: -len(suffix)]
    return name
