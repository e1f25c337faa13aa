"""Entity autocomplete: the pattern and the aggregation behind
``/v1/entities/suggest``. Pure, like ``query``: a prefix in, a body out."""

from __future__ import annotations

from typing import Any

from shared.contracts.index import ENTITY_KEY_SEP


# Characters that mean something in Lucene regular expressions; everything
# that is not a letter, digit or space is escaped to be safe.
def _regex_literal(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch == " " else "\\" + ch for ch in text)


# Keys asked for beyond the suggestions wanted: an entity may have a key per
# name it was indexed under, and keys without an id are skipped.
EXTRA_KEYS = 10


def suggest_pattern(prefix: str) -> str:
    """Lucene regex over `entity_keys` terms ("<lower name>\\x1f<group>\\x1f<Name>\\x1f<id>")
    matching names where a word starts with the prefix: "oba" finds "barack
    obama". The part after the prefix may not cross the first separator, so
    only the lower-cased name is matched, never the group or display form."""
    sep = ENTITY_KEY_SEP
    word_start = f"([^{sep}]*[ \\-'.])?"
    return f"{word_start}{_regex_literal(prefix)}[^{sep}]*{sep}.*"


def normalise_prefix(q: str) -> str:
    """Lower-cased like the stored names, spaces collapsed, control
    characters (the key separator among them) dropped."""
    visible = "".join(ch for ch in q if ch.isprintable())
    return " ".join(visible.lower().split())


def build_suggest_body(prefix: str, size: int) -> dict[str, Any]:
    """Entity names by how many articles mention them: a terms aggregation
    over `entity_keys` (one term per entity per article, so doc_count is the
    article frequency) restricted by the prefix pattern; a few more than
    `size` (see EXTRA_KEYS), which ``results.suggestions_from`` merges by id."""
    return {
        "size": 0,
        "track_total_hits": False,
        "aggs": {
            "entities": {
                "terms": {
                    "field": "entity_keys",
                    "include": suggest_pattern(prefix),
                    "size": size + EXTRA_KEYS,
                    "order": [{"_count": "desc"}, {"_key": "asc"}],
                }
            }
        },
    }
