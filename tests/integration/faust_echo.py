"""A minimal real Faust agent for the foundation test: it reads contract
messages from the namespace's ``articles.raw``, validates them against the
contract and forwards them, marked, to ``<namespace>echo.out``."""

from __future__ import annotations

import os
import sys

import faust

from shared.contracts.models import RawArticleV1

ns = os.environ["NEWSFLOW_NAMESPACE"]
app = faust.App(
    f"{ns}echo",
    broker=f"kafka://{os.environ.get('NEWSFLOW_KAFKA_BOOTSTRAP', '127.0.0.1:9092')}",
    web_enabled=False,
    topic_allow_declare=False,
    topic_disable_leader=True,
    consumer_auto_offset_reset="earliest",
    datadir=f"/tmp/{ns}echo-data",
)
source = app.topic(f"{ns}articles.raw", key_serializer="raw", value_serializer="raw")
sink = app.topic(f"{ns}echo.out", key_serializer="raw", value_serializer="raw")


@app.agent(source)
async def echo(stream: faust.StreamT) -> None:
    # take_events exists on faust-streaming's Stream but not on its StreamT protocol.
    async for batch in stream.take_events(10, within=0.2):  # type: ignore[attr-defined]
        for event in batch:
            article = RawArticleV1.model_validate_json(event.value)
            marked = article.model_copy(update={"title": f"echo: {article.title}"})
            await sink.send(key=event.key, value=marked.model_dump_json().encode())


if __name__ == "__main__":
    sys.argv = [sys.argv[0], "worker", "-l", "warn"]
    app.main()
