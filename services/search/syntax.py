"""What a person types in the search box, read into terms: pure and total.

The search used to hand ``q`` to Elasticsearch's ``simple_query_string``,
whose operators got in the way of what people type: ``+`` is its AND, so
``C++`` was searched as ``c``; an emoji was a word of its own that nothing
matched, so ``trump 🚀`` found nothing. This parser reads the syntax the UI
documents, and nothing else:

* ``word``: every word must match (in any field, any analysed form);
* ``"exact phrase"``, ``"a phrase"~3`` (words up to 3 positions apart);
* ``-word``, ``-"a phrase"``: excluded;
* ``a | b``: either (binds tighter than the implicit AND: ``x a | b`` is
  ``x AND (a OR b)``);
* ``pre*``: a word starting so; ``word~`` / ``word~1``: up to 2 (or 1)
  typos;
* ``author:kuperinsky``, ``author:"Amy Kuperinsky"``, ``source:nytimes``,
  ``title:keyboard``: one field only (negatable: ``-source:nypost.com``).

Anything else is text: an unknown ``field:``, parentheses, ``+``, ``&``,
``#``. A word without a letter or a digit (emoji, ``&``, ``—``) is dropped,
so symbols never empty a query. ``\\`` makes the next character plain text.
Unbalanced quotes read as spaces. Parsing never fails and is linear in the
length of ``q`` (which the API caps).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Kind = Literal["word", "phrase", "prefix", "fuzzy"]
Field = Literal["all", "title", "author", "source"]

# Field prefixes people may type, and the field each one searches.
FIELD_PREFIXES: dict[str, Field] = {
    "author": "author",
    "by": "author",
    "source": "source",
    "site": "source",
    "title": "title",
}
MAX_FUZZINESS = 2
MAX_SLOP = 10
# Characters that end a word (the quote starts a phrase, `|` is OR;
# parentheses have no meaning here and simply separate words).
_BREAKS = frozenset(' \t\n\r\f\v"|()')


@dataclass(frozen=True)
class Term:
    """One thing to match: a word, a phrase, a prefix or a fuzzy word, in
    every text field or in one."""

    text: str
    kind: Kind = "word"
    field: Field = "all"
    negated: bool = False
    fuzziness: int = 0  # fuzzy words: 1 or 2
    slop: int = 0  # phrases


@dataclass(frozen=True)
class ParsedQuery:
    """AND of OR-groups of terms, minus the excluded terms."""

    groups: tuple[tuple[Term, ...], ...] = ()
    excluded: tuple[Term, ...] = ()
    # A word started with `*` (`*news`): refused by the limits.
    leading_wildcard: bool = False

    @property
    def empty(self) -> bool:
        return not self.groups and not self.excluded

    @property
    def terms(self) -> tuple[Term, ...]:
        return (*(t for group in self.groups for t in group), *self.excluded)

    @property
    def last_word(self) -> Term | None:
        """The word being typed: the last term, if it is a plain word alone
        in its group (the search also matches it as a prefix)."""
        if not self.groups or len(self.groups[-1]) != 1:
            return None
        term = self.groups[-1][0]
        return term if term.kind == "word" and term.field in ("all", "title") else None

    def words(self) -> list[str]:
        """The plain words (no phrase, field, prefix or fuzzy operator), in order."""
        return [t.text for g in self.groups for t in g if t.kind == "word" and t.field == "all"]


def searchable(text: str) -> bool:
    """Has a letter or a digit: anything else analyses to nothing."""
    return any(ch.isalnum() for ch in text)


@dataclass
class _Token:
    text: str
    quoted: bool = False
    slop: int = 0
    negated: bool = False
    field: Field = "all"
    or_before: bool = False
    escaped: frozenset[int] = frozenset()  # positions of escaped characters


def _read_number(q: str, i: int) -> tuple[int | None, int]:
    """Digits at q[i:], as an int (None if there are none), and the index after."""
    start = i
    while i < len(q) and q[i].isdigit() and i - start < 3:
        i += 1
    while i < len(q) and q[i].isdigit():  # more digits than any sane slop: ignored
        i += 1
    return (int(q[start : min(i, start + 3)]) if i > start else None), i


def _read_word(q: str, i: int) -> tuple[str, frozenset[int], int]:
    """A word from q[i:] up to a break; escaped characters are kept as text
    and remembered (an escaped `*` or `~` is no operator)."""
    chars: list[str] = []
    escaped: set[int] = set()
    while i < len(q) and q[i] not in _BREAKS:
        if q[i] == "\\" and i + 1 < len(q):
            escaped.add(len(chars))
            chars.append(q[i + 1])
            i += 2
            continue
        chars.append(q[i])
        i += 1
    return "".join(chars), frozenset(escaped), i


def _field_prefix(q: str, i: int) -> tuple[Field, int]:
    """A known `field:` at q[i:] followed by a value: the field and where
    the value starts; else ("all", i)."""
    colon = q.find(":", i, i + 8)
    if colon <= i:
        return "all", i
    name = q[i:colon].lower()
    field = FIELD_PREFIXES.get(name)
    after = colon + 1
    if field is None or after >= len(q) or (q[after] in _BREAKS and q[after] != '"'):
        return "all", i
    return field, after


def _phrase_end(q: str, i: int) -> int:
    """Index of the quote closing the phrase opened at q[i], or -1."""
    return q.find('"', i + 1)


def _tokens(q: str) -> list[_Token]:
    tokens: list[_Token] = []
    or_next = False
    i = 0
    while i < len(q):
        ch = q[i]
        if ch == "|":
            or_next = bool(tokens)
            i += 1
            continue
        if ch in _BREAKS and ch != '"':
            i += 1
            continue
        negated = False
        if ch == "-" and i + 1 < len(q) and q[i + 1] not in _BREAKS - {'"'}:
            negated, i = True, i + 1
        field, i = _field_prefix(q, i)
        if i < len(q) and q[i] == '"' and (end := _phrase_end(q, i)) > 0:
            token = _Token(q[i + 1 : end], quoted=True)
            i = end + 1
            if i < len(q) and q[i] == "~":
                slop, i = _read_number(q, i + 1)
                token.slop = min(slop or 0, MAX_SLOP)
        elif i < len(q) and q[i] == '"':
            i += 1  # an unbalanced quote reads as a space
            continue
        else:
            text, escaped, i = _read_word(q, i)
            token = _Token(text, escaped=escaped)
        token.negated, token.field, token.or_before = negated, field, or_next
        or_next = False
        tokens.append(token)
    return tokens


def _term(token: _Token) -> tuple[Term | None, bool]:
    """The term of a token (None when it searches nothing), and whether it
    was a word starting with a wildcard."""
    base = Term(text=token.text, field=token.field, negated=token.negated)
    if token.quoted:
        if not searchable(token.text):
            return None, False
        return replace(base, kind="phrase", slop=token.slop), False
    text = token.text
    plain = [k for k, ch in enumerate(text) if ch in "*~" and k not in token.escaped]
    if plain and text[plain[0]] == "~":
        stem = text[: plain[0]]
        number, _ = _read_number(text, plain[0] + 1)
        if stem.startswith("*") and 0 not in token.escaped:
            return None, True
        if not searchable(stem):
            return None, False
        fuzziness = MAX_FUZZINESS if number is None else min(number, MAX_FUZZINESS)
        kind: Kind = "fuzzy" if fuzziness else "word"
        return replace(base, text=stem, kind=kind, fuzziness=fuzziness), False
    if plain and plain[0] == 0:
        return None, True  # `*news`, `*`
    if plain and text.endswith("*") and len(text) - 1 in plain:
        stem = text.rstrip("*")
        return (replace(base, text=stem, kind="prefix") if searchable(stem) else None), False
    if not searchable(text):
        return None, False
    return base, False


def parse(q: str) -> ParsedQuery:
    """The terms of `q` (see the module doc); never raises."""
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    leading = False
    for token in _tokens(q):
        term, wildcard = _term(token)
        leading = leading or wildcard
        if term is None:
            continue
        if term.negated:
            excluded.append(term)
        elif token.or_before and groups:
            groups[-1].append(term)
        else:
            groups.append([term])
    return ParsedQuery(
        groups=tuple(tuple(g) for g in groups),
        excluded=tuple(excluded),
        leading_wildcard=leading,
    )


def render(term: Term) -> str:
    """A term written back in the search syntax (for "Did you mean")."""
    text = f'"{term.text}"' if term.kind == "phrase" or " " in term.text else term.text
    if term.kind == "phrase" and term.slop:
        text += f"~{term.slop}"
    elif term.kind == "prefix":
        text += "*"
    elif term.kind == "fuzzy":
        text += f"~{term.fuzziness}"
    prefix = "" if term.field == "all" else f"{term.field}:"
    return f"{'-' if term.negated else ''}{prefix}{text}"
