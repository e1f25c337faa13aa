"""Pure text features of an article for story clustering: terms, weights, sparse vectors.

Why these features
------------------
Two articles report the same event when they share its *specific* words: the place,
the people, the numbers, the date ("Banstead", "Teixeira", "$200 million", "2008"),
not the words of its kind of event ("fire", "store", "firefighters"). TF-IDF captures
that, with three news-specific touches, each measured on the dev set
(``bench/eval_stories.py``):

* **Lead weight.** A news article states its event in the title and first sentences;
  later paragraphs drift into background and quotes. Terms of the title (or, without
  a title, of the first :data:`LEAD_TOKENS` words) count extra.
* **Names.** A capitalised word in mid-sentence is almost always part of a name (a
  cheap stand-in for named entities, for any Latin-script language); such words
  count extra. When the entities stage gives real people/organisations/places they
  are scored separately (see :mod:`services.stories.clustering`), as a bonus.
* **Numbers.** Counts, ages, amounts and years tell two events of one kind apart
  ("killed 12" / "killed 300", "aged 95" / "aged 75", "2008" / "2013") as names
  do; every number counts extra. Years are also compared as facts (an article
  stating only years a story never states scores lower; see
  :mod:`services.stories.scoring`).
* **Sublinear term frequency** (log(1 + tf)): an article repeating a word ten times
  is not ten times more about it.

Inputs are bounded: only the first :data:`MAX_TOKENS` words of a text are read and a
vector keeps its :data:`VECTOR_TERMS` heaviest terms, so a hostile 10 MB "article"
costs no more than a long one.

Vectors are plain ``dict[str, float]`` (sparse, L2-normalised): a story centroid and
an article have a few dozen terms each, where dicts beat any matrix library.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "LEAD_TOKENS",
    "MAX_TOKENS",
    "STOPWORDS",
    "VECTOR_TERMS",
    "Terms",
    "add_scaled",
    "cosine",
    "entity_keys",
    "extract_terms",
    "idf",
    "is_year",
    "normalise",
    "top_terms",
    "weigh",
    "word_tokens",
    "years_of",
]

MAX_TOKENS = 3000  # words read from one text (a long article is ~2,000)
LEAD_TOKENS = 40  # words that stand for the title when there is none
VECTOR_TERMS = 120  # terms kept in an article vector
_MAX_TITLE_CHARS = 1000
MAX_TERM_CHARS = 40  # longer "words" are dropped (URLs glued to text, base64, attacks)

# Words that carry no event: function words of the languages the pipeline sees most,
# plus reporting verbs. IDF would push them down anyway once the window holds enough
# articles; the list matters at start-up, when IDF knows nothing yet.
_STOPWORD_TEXT = """
a about above after again against all also am an and any are as at be because been
before being below between both but by can cannot could did do does doing down
during each few for from further had has have having he her here hers herself him
himself his how i if in into is it its itself just me more most my myself no nor not
now of off on once only or other our ours ourselves out over own same she should so
some such than that the their theirs them themselves then there these they this
those through to too under until up upon very was we were what when where which
while who whom why will with would you your yours yourself yourselves said say says
told according one also like get got may might must us yet still even many much s t
ll re ve d m don doesn didn isn aren wasn weren hasn haven hadn won wouldn shouldn
couldn le la les un une des du de et est en dans que qui pour par sur au aux ce
cette ces il elle ils elles son sa ses leur leurs pas plus ne se avec été être a ont
el los las una unos unas del y es en que por con para su sus se lo al como más der
die das ein eine und ist im in den dem des zu mit von auf für nicht sich auch il lo
gli una di che per con non è da nel della o os um uma do da dos das em no na que
para com não por
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())

_WORD = re.compile(r"\w+", re.UNICODE)
# A capitalised word that follows sentence-ending punctuation (or starts the text) is
# capitalised by grammar, not because it is a name.
_SENTENCE_END = frozenset(".!?:;\"'`«»“”‘’()[]")


def word_tokens(text: str, limit: int = MAX_TOKENS) -> list[str]:
    """Lower-cased word tokens of ``text``, at most ``limit`` of them."""
    out: list[str] = []
    for match in _WORD.finditer(text):
        out.append(match.group().lower())
        if len(out) >= limit:
            break
    return out


def _keep(token: str) -> bool:
    """A token is a candidate term unless it is a function word, a single character,
    only underscores, or longer than :data:`MAX_TERM_CHARS` (no word is; a hostile
    run of letters would otherwise become a Redis key)."""
    return 1 < len(token) <= MAX_TERM_CHARS and token not in STOPWORDS and token.strip("_") != ""


def _names(text: str, limit: int) -> list[str]:
    """Lower-cased capitalised words that do not start a sentence: likely names."""
    out: list[str] = []
    for count, match in enumerate(_WORD.finditer(text)):
        if count >= limit:
            break
        word = match.group()
        if not word[0].isupper() or len(word) < 2:
            continue
        before = text[max(0, match.start() - 3) : match.start()].strip()
        if not before or before[-1] in _SENTENCE_END:
            continue
        lowered = word.lower()
        if _keep(lowered):
            out.append(lowered)
    return out


@dataclass(frozen=True, slots=True)
class Terms:
    """Raw term counts of one article, before IDF: what the DF table counts and what
    :func:`weigh` turns into a vector once IDF is known.

    ``counts`` holds each term's weighted count: body occurrences plus the lead and
    name boosts. Name terms are the same strings as body terms (a name boosts its
    word), so vectors of articles with and without names stay comparable."""

    counts: Mapping[str, float]


def extract_terms(
    text: str,
    title: str | None = None,
    *,
    lead_boost: float = 1.0,
    title_boost: float = 3.0,
    name_boost: float = 1.0,
    number_boost: float = 0.0,
) -> Terms:
    """Weighted term counts of an article (see the module docstring for why).

    Every word of the lead (the first :data:`LEAD_TOKENS` words of the text) counts
    ``lead_boost`` extra and every word of the title ``title_boost`` extra: a headline
    is the densest statement of the event, and the lead stands in when there is none.
    Every number counts ``number_boost`` extra and every likely name ``name_boost``.
    """
    body = word_tokens(text)
    weighted: dict[str, float] = {
        term: float(n) for term, n in Counter(t for t in body if _keep(t)).items()
    }
    boosts = [(body[:LEAD_TOKENS], lead_boost)]
    if title and title.strip():
        boosts.append((word_tokens(title[:_MAX_TITLE_CHARS]), title_boost))
    for words, boost in boosts:
        for term in words:
            if boost and _keep(term):
                weighted[term] = weighted.get(term, 0.0) + boost
    if number_boost:
        for term in body:
            if term in weighted and term.isdigit():
                weighted[term] += number_boost
    if name_boost:
        for term in _names(text, MAX_TOKENS):
            if term in weighted:
                weighted[term] += name_boost
    return Terms(weighted)


def is_year(term: str) -> bool:
    """A term that reads as a year of modern news (1900-2099)."""
    return len(term) == 4 and term[:2] in ("19", "20") and term.isdigit()


def years_of(vector: Mapping[str, float]) -> frozenset[str]:
    """The years among a vector's terms."""
    return frozenset(t for t in vector if is_year(t))


def idf(df: int, n_docs: int) -> float:
    """Smoothed inverse document frequency (as scikit-learn's ``smooth_idf``)."""
    return math.log((1 + n_docs) / (1 + df)) + 1.0


def weigh(
    terms: Terms, doc_freqs: Mapping[str, int], n_docs: int, keep: int = VECTOR_TERMS
) -> dict[str, float]:
    """L2-normalised sublinear TF-IDF vector of ``terms``, its ``keep`` heaviest terms."""
    # log(1 + tf) rather than 1 + log(tf): it also takes the fractional counts of
    # terms present only through a lead or name boost.
    vector = {
        term: math.log1p(count) * idf(doc_freqs.get(term, 0), n_docs)
        for term, count in terms.counts.items()
    }
    return normalise(top_terms(vector, keep))


def top_terms(vector: Mapping[str, float], keep: int) -> dict[str, float]:
    """The ``keep`` heaviest entries; ties broken by the term, so results are stable."""
    if len(vector) <= keep:
        return dict(vector)
    ranked = sorted(vector.items(), key=lambda item: (-item[1], item[0]))
    return dict(ranked[:keep])


def normalise(vector: Mapping[str, float]) -> dict[str, float]:
    """``vector`` scaled to unit length (empty stays empty)."""
    norm = math.sqrt(sum(w * w for w in vector.values()))
    if norm == 0.0:
        return {}
    return {term: w / norm for term, w in vector.items()}


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Dot product of two unit vectors (their cosine), iterating the smaller one."""
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(term, 0.0) for term, w in a.items())


def add_scaled(
    target: dict[str, float], vector: Mapping[str, float], scale: float = 1.0
) -> dict[str, float]:
    """``target += scale * vector`` in place; returns ``target`` for chaining."""
    for term, w in vector.items():
        target[term] = target.get(term, 0.0) + scale * w
    return target


def entity_keys(
    people: Iterable[str], orgs: Iterable[str], places: Iterable[str], limit: int = 60
) -> frozenset[str]:
    """One key per distinct entity, prefixed by its type, at most ``limit`` of them
    (a hostile message may list thousands)."""
    keys: list[str] = []
    for prefix, names in (("p:", people), ("o:", orgs), ("l:", places)):
        for name in names:
            cleaned = " ".join(name.lower().split())[:200]
            if cleaned:
                keys.append(prefix + cleaned)
            if len(keys) >= limit:
                return frozenset(keys)
    return frozenset(keys)
