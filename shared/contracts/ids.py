"""Deterministic article ids.

The same article sent twice must get the same id, so that dedup, the Kafka
key and the Elasticsearch ``_id`` all agree. The id is derived from the
canonical URL when there is one (tracking parameters, fragments, default
ports and case differences removed), else from the normalised text.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that identify a campaign or a click, never the article.
_TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|igshid|yclid|"
    r"_ga|_gl|ref|ref_src|cmpid|ncid|ocid|smid|at_medium|at_campaign|xtor)$",
    re.IGNORECASE,
)


def canonical_url(url: str) -> str:
    """The form of a URL under which one article is known.

    Lower-cases scheme and host, drops default ports, the fragment, tracking
    parameters and a trailing slash, and sorts the remaining parameters."""
    parts = urlsplit(url.strip())
    scheme = (parts.scheme or "http").lower()
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    port = parts.port
    netloc = (
        host
        if port is None or (scheme, port) in (("http", 80), ("https", 443))
        else (f"{host}:{port}")
    )
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    if len(path) > 1:
        path = path.rstrip("/")
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not _TRACKING_PARAMS.match(k)
    )
    # http and https name the same article: the id does not depend on it.
    return urlunsplit(
        ("https" if scheme in ("http", "https") else scheme, netloc, path, urlencode(query), "")
    )


def normalised_text(text: str) -> str:
    """Text folded for identity: NFKC, lower case, whitespace collapsed."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return " ".join(folded.split())


def article_id(url: str | None, text: str | None = None) -> str:
    """32 hex chars of SHA-256 over the canonical URL, else the normalised text."""
    if url:
        basis = "url:" + canonical_url(url)
    elif text and text.strip():
        basis = "text:" + normalised_text(text)
    else:
        raise ValueError("an article needs a URL or some text to be identified")
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]
