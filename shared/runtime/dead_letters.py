"""Dead letters and Kafka's message size limit.

A dead letter carries the original bytes, so it can be as big as the input
message; an output can grow past what Kafka takes (megabytes of article
text). Both are checked here before anything is sent: the broker refuses a
message over its limit for good, and retrying it stalled a stage once.
"""

from __future__ import annotations

from shared.contracts.models import DeadLetterV1, Stage
from shared.runtime.stage import Record, Result

# Kafka's default `max.message.bytes` is 1 MiB per record batch; this leaves
# room for the key and the batch framing.
MAX_MESSAGE_BYTES = 1_000_000
# Starts the note appended to the reason of a dead letter whose payload was cut.
PAYLOAD_CUT_MARK = "[payload cut"


def dead_letter(stage: Stage, record: Record, result: Result) -> DeadLetterV1:
    """The dead letter of a rejected message: why, and the original bytes."""
    return DeadLetterV1.from_bytes(
        stage=stage,
        reason=result.rejected or "unknown",
        error_type=result.error_type or "BadMessage",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
    )


def within_message_limit(result: Result) -> Result:
    """The result, or a rejection when one of its outputs is over
    MAX_MESSAGE_BYTES once encoded. That is bad data (the article is too
    big), not a systemic failure."""
    if result.rejected is not None:
        return result
    for out in result.outputs:
        size = len(out.payload)
        if size > MAX_MESSAGE_BYTES:
            return Result(
                result.article_id,
                rejected=f"output of {size} bytes is over the {MAX_MESSAGE_BYTES}-byte "
                "limit of a Kafka message",
                error_type="OutputTooLarge",
            )
    return result


def fit_message_limit(letter: DeadLetterV1) -> DeadLetterV1:
    """The dead letter, its payload cut to a head when the whole would be over
    MAX_MESSAGE_BYTES. Its reason then says so and where the whole message is
    (the input topic keeps it until its retention), so it can still be found."""
    full = letter.payload
    if len(letter.model_dump_json()) <= MAX_MESSAGE_BYTES:
        return letter
    keep = MAX_MESSAGE_BYTES // 2
    while True:
        head = full[:keep]
        if letter.payload_encoding == "base64":
            head = head[: len(head) // 4 * 4]  # stay decodable
        note = (
            f"{PAYLOAD_CUT_MARK} to its first {len(head)} of {len(full)} characters to fit "
            f"a Kafka message; the whole message is {letter.topic}[{letter.partition}]"
            f"@{letter.offset}]"
        )
        cut = letter.model_copy(update={"payload": head, "reason": f"{letter.reason} {note}"})
        if len(cut.model_dump_json()) <= MAX_MESSAGE_BYTES:
            return cut
        keep //= 2  # characters that JSON escapes (controls, quotes) take more room
