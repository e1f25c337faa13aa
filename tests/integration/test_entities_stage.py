"""The entities stage with its registry on the real Redis, run by the real engine on
the in-memory broker: a lone "Trump" read before "Donald Trump" is announced on
``identities.merged``; the stage checks that topic at start; the worker's
registry is Redis unless told otherwise; Redis down is a temporary failure."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import pytest
import redis

from services.entities.keys import name_key
from services.entities.pipelines import MODELS, PipelineSet
from services.entities.registry import MemoryStore, entity_id
from services.entities.registry_redis import RedisStore
from services.entities.resolve import Resolver
from services.entities.settings import EntitySettings
from services.entities.stage import ENTITIES, batch_handler, make_store
from shared.contracts.models import CleanArticleV1, DeadLetterV1, EnrichedArticleV1, MergeV1
from shared.contracts.topics import CLEAN, ENRICHED, MERGED
from shared.runtime.dead_letters import MAX_MESSAGE_BYTES
from shared.runtime.memory import MemoryBroker, MemoryStream, memory_engine
from shared.runtime.stage import Item, TemporaryFailure
from tests.conftest import REDIS_URL, new_namespace

# Sentences of the sample corpus (samples/pages, MIT).
LONE = (
    "In each case, President Trump tied himself to the outcome, and Trump said he would "
    "not back down."
)
FULL_1 = "Sondland had a newly revealed summertime phone call with President Donald Trump in July."
FULL_2 = "U.S. President Donald Trump said on Friday he would raise tariffs on Chinese imports."
TRUMP = entity_id(name_key("Donald Trump"))
LONE_ID = entity_id(name_key("Trump"))


@pytest.fixture
def namespace(stack: None) -> Iterator[str]:
    ns = new_namespace()
    yield ns
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{ns}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="module")
def pipelines() -> PipelineSet:
    return PipelineSet({k: v for k, v in MODELS.items() if k == "en"})


def clean(text: str, n: int) -> bytes:
    return (
        CleanArticleV1(
            article_id=f"{n:032x}",
            source="samples",
            text=text,
            language="en",
            word_count=len(text.split()),
            fingerprint="0" * 16,
            input_format="text",
            received_at=datetime.now(UTC),
        )
        .model_dump_json()
        .encode()
    )


def test_a_merge_goes_to_identities_merged_keyed_by_the_old_id(
    namespace: str, pipelines: PipelineSet
) -> None:
    settings = EntitySettings(namespace=namespace, redis_url=REDIS_URL)
    store = make_store(settings)
    assert isinstance(store, RedisStore)  # the worker's default
    broker = MemoryBroker()
    source = CLEAN.full_name(namespace)
    for n, text in enumerate([LONE, FULL_1, FULL_2]):
        broker.produce(source, f"{n:032x}".encode(), clean(text, n))
    engine = memory_engine(
        ENTITIES, settings, broker, handler=batch_handler(pipelines, Resolver(store), settings)
    )
    asyncio.run(MemoryStream(engine, broker, source, "g", 1).run_until_idle())

    assert broker.messages(CLEAN.full_dlq(namespace) or "") == []
    (record,) = broker.messages(MERGED.full_name(namespace))
    merge = MergeV1.model_validate(orjson.loads(record.value))
    assert (record.key, merge.kind, merge.old_id, merge.new_id, merge.name) == (
        LONE_ID.encode(),
        "entity",
        LONE_ID,
        TRUMP,
        "Donald Trump",
    )
    enriched = [
        EnrichedArticleV1.model_validate(orjson.loads(r.value))
        for r in broker.messages(ENRICHED.full_name(namespace))
    ]
    assert [[e.id for e in a.entities if e.group == "people"] for a in enriched] == [
        [LONE_ID],  # sent before the merge: relabelled downstream
        [TRUMP],
        [TRUMP],
    ]


def test_the_stage_checks_the_merged_topic_at_start() -> None:
    assert MERGED.full_name("ns-") in ENTITIES.topics("ns-")
    assert ENRICHED.full_name("ns-") in ENTITIES.topics("ns-")


def test_memory_registry_on_request() -> None:
    settings = EntitySettings(registry="memory")
    assert isinstance(make_store(settings), MemoryStore)


def test_redis_down_is_a_temporary_failure(pipelines: PipelineSet) -> None:
    """Retried with backoff by the runtime: nothing acknowledged or dead-lettered."""
    settings = EntitySettings(namespace=new_namespace(), redis_url="redis://127.0.0.1:1/0")
    handle = batch_handler(pipelines, Resolver(make_store(settings)), settings)
    article = CleanArticleV1.model_validate(orjson.loads(clean(LONE, 1)))

    async def run() -> None:
        await handle([Item(article, None, "t", 0, 0, b"")])

    with pytest.raises(TemporaryFailure, match="entity registry in Redis"):
        asyncio.run(run())


def _merges(broker: MemoryBroker, namespace: str) -> list[tuple[str, str, str | None]]:
    found = [
        MergeV1.model_validate(orjson.loads(r.value))
        for r in broker.messages(MERGED.full_name(namespace))
    ]
    return [(m.old_id, m.new_id, m.name) for m in found]


def _worker(namespace: str, pipelines: PipelineSet, broker: MemoryBroker) -> MemoryStream:
    """A fresh entities worker (its own resolver) on the namespace's registry."""
    settings = EntitySettings(namespace=namespace, redis_url=REDIS_URL)
    handler = batch_handler(pipelines, Resolver(make_store(settings)), settings)
    engine = memory_engine(ENTITIES, settings, broker, handler=handler)
    return MemoryStream(engine, broker, CLEAN.full_name(namespace), "g", 8)


def test_a_merge_whose_batch_was_not_delivered_is_sent_by_the_retry(
    namespace: str, pipelines: PipelineSet
) -> None:
    broker = MemoryBroker()
    source = CLEAN.full_name(namespace)
    for n, text in enumerate([LONE, FULL_1]):
        broker.produce(source, f"{n:032x}".encode(), clean(text, n))
    asyncio.run(_worker(namespace, pipelines, broker).run_until_idle())
    broker.produce(source, f"{2:032x}".encode(), clean(FULL_2, 2))  # makes the merge
    broker.fail_sends.append(TypeError("the producer broke; the worker is killed"))
    with pytest.raises(TypeError):
        asyncio.run(_worker(namespace, pipelines, broker).run_until_idle())
    assert _merges(broker, namespace) == []
    # The registry has the redirect, so the retry makes no merge; the outbox sends it.
    asyncio.run(_worker(namespace, pipelines, broker).run_until_idle())
    assert _merges(broker, namespace) == [(LONE_ID, TRUMP, "Donald Trump")]
    client = redis.Redis.from_url(REDIS_URL)
    assert client.llen(f"{namespace}entities:merges:outbox") == 0  # sent, then removed
    client.close()


def test_an_oversized_article_in_the_batch_does_not_take_the_merge_along(
    namespace: str, pipelines: PipelineSet
) -> None:
    broker = MemoryBroker()
    source = CLEAN.full_name(namespace)
    # The article that makes the merge is the one too big to send.
    huge = " ".join([FULL_2] * (MAX_MESSAGE_BYTES // len(FULL_2) + 1))
    for n, text in enumerate([LONE, FULL_1, huge]):
        broker.produce(source, f"{n:032x}".encode(), clean(text, n))
    asyncio.run(_worker(namespace, pipelines, broker).run_until_idle())  # one batch
    assert _merges(broker, namespace) == [(LONE_ID, TRUMP, "Donald Trump")]
    letters = [
        DeadLetterV1.model_validate(orjson.loads(r.value))
        for r in broker.messages(CLEAN.full_dlq(namespace) or "")
    ]
    assert [(d.key, d.error_type) for d in letters] == [(f"{2:032x}", "OutputTooLarge")]
