"""Throughput of the entities stage: trimmed NER pipeline vs the full default pipeline.

Runs :func:`services.entities.extract.extract_entities` (NER plus normalisation and
merging, i.e. what the worker does per batch) over the same texts with

* the trimmed pipeline of :func:`services.entities.extract.load_pipeline`
  (line-break boundaries + ``ner``), and
* the model's full default pipeline (``tok2vec, tagger, parser, attribute_ruler,
  lemmatizer, ner``),

in one process, one after the other, and prints articles per second side by side.
Each pipeline is warmed up on a few texts first (the first call allocates), and the
best of ``--repeats`` timed runs is kept, which is the least noisy estimate on a
shared machine. It also reports how far the two pipelines' raw mentions agree.

Usage::

    .venv/bin/python bench/ner_speed.py [--texts DIR] [--count 200] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Sequence
from pathlib import Path

import spacy
from spacy.language import Language

from services.entities.extract import (
    DEFAULT_MODEL,
    extract_entities,
    extract_mentions,
    load_pipeline,
)

DEFAULT_TEXTS = Path("/work/shared/eval/extraction/text")


def read_texts(directory: Path, count: int) -> list[str]:
    """``count`` texts from ``directory``, cycling through the files if there are fewer."""
    files = sorted(directory.glob("*.txt"))
    if not files:
        raise SystemExit(f"no .txt files in {directory}")
    texts = [path.read_text(encoding="utf-8") for path in files]
    return list(itertools.islice(itertools.cycle(texts), count))


def best_rate(nlp: Language, texts: Sequence[str], batch_size: int, repeats: int) -> float:
    """Best articles/s of ``extract_entities`` over ``repeats`` runs, after a warm-up."""
    extract_entities(nlp, texts[:batch_size], batch_size=batch_size)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        extract_entities(nlp, texts, batch_size=batch_size)
        best = min(best, time.perf_counter() - started)
    return len(texts) / best


def agreement(trimmed: Language, full: Language, texts: Sequence[str]) -> tuple[int, int, int]:
    """How the trimmed pipeline's raw mentions compare with the full pipeline's.

    Returns ``(full_within_lines, found_identically, full_across_lines)``: the full
    pipeline's mentions that stay within one line, how many of those the trimmed
    pipeline returns with the same offsets and label, and the full pipeline's
    mentions that run across a line break (which the trimmed pipeline never returns,
    by design; it returns their pieces instead).
    """
    ours = extract_mentions(trimmed, texts)
    theirs = extract_mentions(full, texts)
    within = across = same = 0
    for mine, reference in zip(ours, theirs, strict=True):
        found = set(mine)
        for mention in reference:
            if "\n" in mention.text:
                across += 1
            else:
                within += 1
                same += mention in found
    return within, same, across


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--texts", type=Path, default=DEFAULT_TEXTS)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    args = parser.parse_args(argv)

    texts = read_texts(args.texts, args.count)
    chars = sum(map(len, texts))
    trimmed = load_pipeline(args.model)
    full = spacy.load(args.model)

    trimmed_rate = best_rate(trimmed, texts, args.batch_size, args.repeats)
    full_rate = best_rate(full, texts, args.batch_size, args.repeats)
    unique = list(dict.fromkeys(texts))
    within, same, across = agreement(trimmed, full, unique)

    print(
        f"{len(texts)} texts ({len(unique)} distinct, {chars / len(texts):,.0f} chars avg), "
        f"batch_size={args.batch_size}, best of {args.repeats}, one process"
    )
    print(f"{'pipeline':<10} {'components':<60} {'articles/s':>10}")
    print(f"{'trimmed':<10} {','.join(trimmed.pipe_names):<60} {trimmed_rate:>10.1f}")
    print(f"{'full':<10} {','.join(full.pipe_names):<60} {full_rate:>10.1f}")
    print(f"speed-up: x{trimmed_rate / full_rate:.2f}")
    print(
        f"agreement on the {len(unique)} distinct texts: of the full pipeline's {within} "
        f"mentions within one line, the trimmed one returns {same} ({same / max(within, 1):.2%})"
        f" identically; the full pipeline also returns {across} mentions spanning a line "
        "break, which the trimmed one splits at the break"
    )


if __name__ == "__main__":
    main()
