"""Which subscriptions could match an article: a presearcher, pure logic.

Elasticsearch here has no percolator, and running every saved query against
every batch does not scale (``_msearch`` of 10,000 queries restricted to one
article took ~20 s on the test machine, see docs in the bench). So the
matcher works like Lucene's Monitor: each subscription is reduced to
*requirements*, groups of keys of which an article must hold at least one
to possibly match, e.g. ``q="election results"`` needs one of the indexed
forms of "election" **and** one of those of "results"; a ``people`` filter
needs one of its names. Subscriptions are indexed by one group (the
anchor); an article's keys (the terms Elasticsearch indexed for it, and its
facet values) find the subscriptions anchored on them, whose other groups
are then checked. Only the survivors are run, by Elasticsearch, restricted
to the article: Elasticsearch stays the one judge of what matches, so a
subscription means exactly what the same search on ``/v1/search`` means.

The requirements must never be stronger than the query, or a match is
lost. They are derived conservatively from ``simple_query_string``'s rules
(default operator AND, as the search uses it):

* a plain word is needed (one of its analysed forms, in any field); a word
  that analyses to nothing is ignored, as Elasticsearch ignores it;
* a negated word (``-word``), a prefix (``word*``) or a fuzzy word
  (``word~``) gives no requirement (skipping a word only weakens them);
* the words of a phrase are needed like plain words;
* with ``|`` (OR) and no negation, one group holds the forms of every word:
  a formula of AND/OR over words is false when none of its words is there;
* escapes and parentheses: no requirement from the text at all.

Facet filters (OR within a facet, AND across facets) and the entity filter
are exact key groups. Subscriptions without any requirement are run for
every batch (counted in the metrics: their number drives the cost).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SEP = "\x1f"
_PHRASE = re.compile(r'(?P<neg>-?)"(?P<text>[^"]*)"(?:~\d*)?')
Groups = tuple[frozenset[str], ...]


@dataclass(frozen=True)
class TextNeeds:
    """What the words of a query require: every word of ``all_of`` (AND),
    or at least one word of ``any_of`` (an OR query)."""

    all_of: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()


def _plain(part: str) -> str | None:
    """A word as simple_query_string would search it, or None when it gives
    no requirement (negated, prefix, fuzzy, empty)."""
    if not part or part.startswith("-") or "*" in part or "~" in part:
        return None
    return part


def text_needs(q: str) -> TextNeeds:
    """The words any article matching `q` must contain (see the module doc)."""
    if not q or "\\" in q or "(" in q or ")" in q or q.count('"') % 2:
        return TextNeeds()
    phrases = list(_PHRASE.finditer(q))
    rest = _PHRASE.sub(" ", q)
    negated = any(p.group("neg") for p in phrases)
    words: list[str] = []
    for p in phrases:
        if not p.group("neg"):
            words.extend(p.group("text").split())
    skipped = False
    for token in rest.replace("|", " ").split():
        # `+` is AND (and ends a word, "c++" is "c"); a part after it may be negated.
        for part in token.split("+"):
            word = _plain(part)
            if word is None:
                negated = negated or part.startswith("-")
                skipped = skipped or bool(part)
            else:
                words.append(word)
    if "|" in rest:
        # A negated or expanding word in an OR can match articles without any
        # of the plain words: no requirement then.
        return TextNeeds() if negated or skipped else TextNeeds(any_of=tuple(words))
    return TextNeeds(all_of=tuple(words))


Atom = tuple[str, str]  # (field, text): "one of the forms of text in field"


def _fields(body: dict[str, Any]) -> list[str] | None:
    fields = [str(f).split("^")[0] for f in body.get("fields", [])]
    return None if not fields or any("*" in f for f in fields) else fields


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _field_value(body: Any) -> tuple[str, Any] | None:
    items = [(k, v) for k, v in body.items() if k != "boost"] if isinstance(body, dict) else []
    return items[0] if len(items) == 1 else None


def _bool(body: dict[str, Any]) -> list[frozenset[Atom]]:
    musts = _list(body.get("must")) + _list(body.get("filter"))
    groups = [g for clause in musts for g in query_needs(clause)]
    should = _list(body.get("should"))
    msm = str(body.get("minimum_should_match", "")).strip()
    required = (msm.isdigit() and int(msm) >= 1) or (not msm and not musts)
    if should and required:
        alternatives = [query_needs(clause) for clause in should]
        if all(alternatives):  # OR of ANDs: one group of each branch, united
            groups.append(frozenset().union(*(min(a, key=len) for a in alternatives)))
    return groups


def _multi_match(body: dict[str, Any]) -> list[frozenset[Atom]]:
    fields = _fields(body)
    if fields is None or "fuzziness" in body or "prefix" in str(body.get("type", "")):
        return []
    return [frozenset((f, str(body.get("query", ""))) for f in fields)]


def _match(body: dict[str, Any]) -> list[frozenset[Atom]]:
    found = _field_value(body)
    if found is None:
        return []
    field, value = found
    if isinstance(value, dict):
        if "fuzziness" in value:
            return []
        value = value.get("query", "")
    return [frozenset({(field, str(value))})]


def _terms(body: dict[str, Any]) -> list[frozenset[Atom]]:
    found = _field_value(body)
    if found is None or not isinstance(found[1], list):
        return []
    return [frozenset((found[0], str(v)) for v in found[1])]


def _term(body: dict[str, Any]) -> list[frozenset[Atom]]:
    found = _field_value(body)
    if found is None:
        return []
    value = found[1].get("value") if isinstance(found[1], dict) else found[1]
    return [frozenset({(found[0], str(value))})]


def _simple_query_string(body: dict[str, Any]) -> list[frozenset[Atom]]:
    fields = _fields(body)
    if fields is None:
        return []
    suffix = str(body.get("quote_field_suffix") or "")
    searched = fields + [f + suffix for f in fields if suffix]
    needs = text_needs(str(body.get("query", "")))
    groups = [frozenset((f, w) for f in searched) for w in needs.all_of]
    if needs.any_of:
        groups.append(frozenset((f, w) for f in searched for w in needs.any_of))
    return groups


_NEEDS: dict[str, Callable[[dict[str, Any]], list[frozenset[Atom]]]] = {
    "bool": _bool,
    "multi_match": _multi_match,
    "match": _match,
    "match_phrase": _match,
    "term": _term,
    "terms": _terms,
    "simple_query_string": _simple_query_string,
    "constant_score": lambda body: query_needs(body.get("filter")),
}


def query_needs(node: Any) -> list[frozenset[Atom]]:
    """What any document matching this Elasticsearch query must hold: groups
    (AND) of atoms (OR), each atom "a form of this text in this field".
    Derived from the query the search builder made, whatever its shape:
    a clause this does not know, a negation, a range, a fuzzy or prefix
    match gives no requirement (which only weakens them)."""
    if not isinstance(node, dict) or len(node) != 1:
        return []
    kind, body = next(iter(node.items()))
    handler = _NEEDS.get(kind)
    return handler(body) if handler is not None and isinstance(body, dict) else []


def atoms_of(needs: Iterable[Sequence[frozenset[Atom]]]) -> set[Atom]:
    return {atom for groups in needs for group in groups for atom in group}


def requirements(needs: Sequence[frozenset[Atom]], forms: Mapping[Atom, frozenset[str]]) -> Groups:
    """Key groups from the atoms' analysed forms (the field's own analysis,
    Elasticsearch's ``_analyze``). An atom without forms cannot be required
    (a text that analyses to nothing matches all, or nothing); a group left
    without keys is dropped."""
    groups = []
    for group in needs:
        keys = frozenset(key(f, t) for f, text in group for t in forms.get((f, text), ()))
        if keys and all(forms.get(atom) for atom in group):
            groups.append(keys)
    return tuple(groups)


def key(field: str, token: str) -> str:
    return f"{field}{SEP}{token}"


def _anchor(groups: Groups) -> frozenset[str]:
    """The group to index a subscription by: the fewest keys, then the
    longest shortest key (long words are rarer): fewer false candidates."""
    return min(groups, key=lambda g: (len(g), -min(len(k) for k in g)))


@dataclass
class Presearcher:
    """Subscriptions indexed by their anchor keys; kept up to date one
    subscription at a time (a change reindexes that one, not all)."""

    groups: dict[str, Groups] = field(default_factory=dict)
    by_key: dict[str, set[str]] = field(default_factory=dict)
    always: set[str] = field(default_factory=set)

    @classmethod
    def build(cls, required: Mapping[str, Groups]) -> Presearcher:
        index = cls()
        for sid, groups in required.items():
            index.add(sid, groups)
        return index

    def add(self, sid: str, groups: Groups) -> None:
        """Index (or reindex) one subscription by its requirements."""
        self.remove(sid)
        if not groups:
            self.always.add(sid)
            return
        self.groups[sid] = groups
        for key in _anchor(groups):
            self.by_key.setdefault(key, set()).add(sid)

    def remove(self, sid: str) -> None:
        self.always.discard(sid)
        groups = self.groups.pop(sid, None)
        for key in _anchor(groups) if groups else ():
            bucket = self.by_key.get(key)
            if bucket is not None:
                bucket.discard(sid)
                if not bucket:
                    del self.by_key[key]

    def candidates(self, keys: frozenset[str]) -> list[str]:
        """Subscriptions an article with these keys may match."""
        seen: set[str] = set()
        for key in keys & self.by_key.keys():
            seen.update(self.by_key[key])
        found = [sid for sid in seen if all(g & keys for g in self.groups[sid])]
        return sorted(found) + sorted(self.always)

    def __len__(self) -> int:
        return len(self.groups) + len(self.always)


def document_keys(terms: Mapping[str, Iterable[str]]) -> frozenset[str]:
    """An article's keys: the terms Elasticsearch indexed, field by field."""
    return frozenset(key(field, t) for field, tokens in terms.items() for t in tokens)
