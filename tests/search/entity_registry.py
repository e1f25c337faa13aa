"""The entity registry of the search tests: a few entities of the fixture
corpus (tests/search/corpus.py) written to Redis as the entities stage
writes them (``RedisStore``), so names come from the registry for these and
from the documents for the rest.

* Donald Trump has a registry name unlike the one indexed ("Donald J.
  Trump"): what the API shows for him proves the registry was read.
* A lone "Trump" was merged into him: its id redirects to his.
* The United States (Q30) carries its Wikidata id.
"""

from __future__ import annotations

from collections import Counter

from services.entities.registry import EntityRecord, entity_id
from services.entities.registry_redis import RedisStore
from tests.search.corpus import gazetteer_id

TRUMP = gazetteer_id("Donald Trump")
TRUMP_NAME = "Donald J. Trump"
LONE_TRUMP = entity_id("trump")
US = "Q30"


def seed_registry(redis_url: str, namespace: str) -> None:
    store = RedisStore.from_url(redis_url, namespace)
    try:
        with store.batch():
            trump = EntityRecord(
                id=TRUMP,
                names=Counter({"Donald Trump": 9, "President Trump": 2}),
                type_votes=Counter({"people": 9}),
                aliases={"donald trump", "president trump"},
                articles=9,
                fixed_name=TRUMP_NAME,
            )
            lone = EntityRecord(
                id=LONE_TRUMP,
                names=Counter({"Trump": 5}),
                type_votes=Counter({"people": 5}),
                aliases={"trump"},
                articles=5,
            )
            us = EntityRecord(
                id=US,
                names=Counter({"United States": 13, "U.S.": 8}),
                type_votes=Counter({"places": 13}),
                articles=13,
                fixed_name="United States",
                fixed_type="places",
                external_id=US,
            )
            for record in (trump, lone, us):
                store.save(record)
            store.merge(lone, trump)
    finally:
        store.client.close()
