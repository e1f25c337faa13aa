"""Near-duplicate fingerprints (SimHash) of article bodies."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

import numpy as np

from services.cleaning.text import WORD_RE, normalise_body_text

_SIMHASH_BITS = 64
# blake2b with an 8-byte digest, ready to copy: copying a hash object costs half
# of building one with its parameters.
_BLAKE2B_8 = hashlib.blake2b(digest_size=8)
# The only characters whose lower case depends on their neighbours (capital sigma:
# final or not) or is longer than one character (capital I with dot: i + U+0307,
# which is no word character). Without them, lower-casing the text and then
# splitting it into words gives the words lower-cased one by one.
_LOWERS_IN_CONTEXT = re.compile("[\u03a3\u0130]")


def _digests(grams: Iterable[str]) -> bytes:
    """The 8-byte blake2b digest of each shingle, concatenated."""
    new_hasher = _BLAKE2B_8.copy
    digests: list[bytes] = []
    append = digests.append  # (the bound methods looked up once, not per shingle)
    for gram in grams:
        hasher = new_hasher()
        hasher.update(gram.encode())
        append(hasher.digest())
    return b"".join(digests)


def fingerprint(text: str) -> str:
    """64-bit SimHash of the text over word 3-shingles, as 16 hex characters.

    Near-duplicates (the same wire story with another footer, a corrected typo)
    differ in a few bits; unrelated texts in about half of the 64. Compare two with
    :func:`hamming_distance`. Words are lower-cased after :func:`normalise_body_text`, so
    case, quotes and spacing never matter. blake2b gives hashes that are stable
    across processes and machines (Python's ``hash`` is salted per process).

    Each shingle's hash, as a big-endian 64-bit number, votes +weight for each of
    its bits that is set and -weight for each that is not: a bit is set in the
    result when its votes sum above zero, the weight being how often the shingle
    occurs. The votes are summed with numpy over one row per occurrence (a
    shingle seen twice votes twice with weight 1: the same integer sums as one row
    of weight 2, without counting the shingles first).
    """
    body = normalise_body_text(text)
    if _LOWERS_IN_CONTEXT.search(body):
        words = [w.lower() for w in WORD_RE.findall(body)]
    else:  # the same words, lower-cased in one pass
        words = WORD_RE.findall(body.lower())
    if not words:
        return "0" * (_SIMHASH_BITS // 4)
    # Every run of three words (the words themselves when there are fewer).
    triples = zip(words, words[1:], words[2:], strict=False) if len(words) >= 3 else [words]
    digests = _digests(map(" ".join, triples))
    # One row per occurrence of a shingle, its 64 bits from the most significant
    # (big-endian bytes, each unpacked from its most significant bit).
    bits = np.unpackbits(np.frombuffer(digests, dtype=np.uint8)).reshape(-1, _SIMHASH_BITS)
    # Per bit: (occurrences with it set) - (occurrences without it).
    totals = 2 * bits.sum(axis=0, dtype=np.int64) - len(bits)
    # Packed back most significant first: the bytes of the big-endian result.
    return np.packbits(totals > 0).tobytes().hex()


def hamming_distance(a: str, b: str) -> int:
    """Number of differing bits between two :func:`fingerprint` values."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
