"""The sample corpus through cleaning, NER and the stories core, as the pipeline runs it.

Issue 15 was filed because the meth campaign (4 pages), the duvet story (3) and WeWork
(2) came back as separate hits. Here every sample page is cleaned, its entities found,
and all of them streamed in publication order (production's arrival order); each of
the three must be one story holding exactly its pages.
"""

from __future__ import annotations

import gzip
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.cleaning.extract import ExtractionError, clean
from services.entities.extract import extract_entities, shared_pipeline
from services.stories.evaluate import Labelled, cluster
from services.stories.models import ArticleIn

PAGES = Path(__file__).resolve().parents[2] / "samples" / "pages"
RECEIVED = datetime(2019, 12, 1, tzinfo=UTC)

STORIES = {
    "meth": ("156770d676ce7990", "3f65af7b6b98b1c9", "776a1c046798b474", "c13b9c0e04fb28d4"),
    "duvet": ("7bb1ca90354313840", "9eef8162bbb67b0bd", "bd673bd7988144f0a"),
    "wework": ("06e5123e4ef7cfb45", "1ace8c85aaee21b9d"),
}


def _articles() -> list[ArticleIn]:
    pages = sorted(PAGES.glob("*.html.gz"))
    cleaned = []
    for path in pages:
        try:
            result = clean(gzip.decompress(path.read_bytes()).decode("utf-8", "replace"), None)
        except ExtractionError:
            continue
        cleaned.append((path.name.split(".")[0], result))
    found = extract_entities(shared_pipeline(), [r.text for _, r in cleaned])
    articles = []
    for (page_id, result), (_, entities) in zip(cleaned, found, strict=True):
        groups: dict[str, list[str]] = defaultdict(list)
        for entity in entities:
            groups[entity.group].append(entity.canonical)
        articles.append(
            ArticleIn(
                article_id=page_id[:32],
                text=result.text,
                title=result.title,
                language=result.language,
                published_at=result.published_at,
                received_at=RECEIVED,
                source=result.site_name,
                people=tuple(groups["people"]),
                organisations=tuple(groups["organisations"]),
                places=tuple(groups["places"]),
            )
        )
    articles.sort(key=lambda a: (a.published_at or RECEIVED, a.article_id))
    return articles


@pytest.fixture(scope="module")
def story_of() -> dict[str, str]:
    articles = _articles()
    assert len(articles) > 100  # the corpus is there and cleaned
    stories, _ = cluster([Labelled(a, "") for a in articles])
    return stories


def _ids(story_of: dict[str, str], prefixes: tuple[str, ...]) -> list[str]:
    ids = [a for a in story_of if a.startswith(prefixes)]
    assert len(ids) == len(prefixes), f"missing sample pages for {prefixes}"
    return ids


@pytest.mark.parametrize("name", sorted(STORIES))
def test_sample_story_comes_back_as_one_story(story_of: dict[str, str], name: str) -> None:
    members = _ids(story_of, STORIES[name])
    stories = {story_of[a] for a in members}
    assert len(stories) == 1, f"{name} split into {len(stories)} stories"
    (story,) = stories
    others = sorted(a for a, s in story_of.items() if s == story and a not in members)
    assert others == [], f"{name} absorbed unrelated pages {others}"
