"""Which site an article comes from: its registrable domain and a name to show.

The domain is the stable identity (``nj.com`` for ``www.nj.com`` and
``blog.nj.com``; ``bbc.co.uk`` for ``news.bbc.co.uk``): it is computed from the
public suffix list that ships inside the ``publicsuffixlist`` package, so nothing
is downloaded at run time. The display name is what the site calls itself
(``og:site_name``, the JSON-LD publisher); without one it is the domain itself,
never a guess like "Nj" made by capitalising a label.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

# A site name is short; a longer og:site_name is a slogan or a page title.
_MAX_SITE_NAME_CHARS = 80
_MAX_HOST_CHARS = 253
_HOST_RE = re.compile(r"^[a-z0-9.-]+$")


@dataclass(frozen=True)
class SiteIdentity:
    """Registrable domain (``None`` without a usable URL) and display name."""

    domain: str | None
    name: str | None


@lru_cache(maxsize=1)
def _suffix_list() -> PublicSuffixList:
    # Loaded once per process (about 50 ms) from the list bundled with the package.
    return PublicSuffixList()


def host_of(url: str | None) -> str | None:
    """Lower-cased host name of an http(s) URL, IDNA-encoded; ``None`` if there is none."""
    if not url or len(url) > 8_000:
        return None
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme not in ("http", "https", "") or not host:
        return None
    host = host.rstrip(".")
    try:
        host = host.encode("idna").decode("ascii").casefold()
    except UnicodeError:
        return None
    if len(host) > _MAX_HOST_CHARS or not _HOST_RE.match(host):
        return None
    return host


def registrable_domain(url: str | None) -> str | None:
    """The domain a site registered (``www.nj.com`` -> ``nj.com``), ``None`` if unknown.

    IP addresses are their own identity. A host that is itself a public suffix
    (``github.io``, ``co.uk``) or a single label (``localhost``) identifies nothing.
    """
    host = host_of(url)
    if host is None:
        return None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return host
    domain = _suffix_list().privatesuffix(host)
    return str(domain) if domain else None


def display_name(domain: str | None, declared: list[str | None]) -> str | None:
    """The first plausible name the site declares, else the domain itself."""
    for name in declared:
        if not name:
            continue
        name = " ".join(name.split()).lstrip("@")
        if name and len(name) <= _MAX_SITE_NAME_CHARS and not name.startswith(("http:", "https:")):
            return name
    return domain


def site_identity(url: str | None, declared_names: list[str | None]) -> SiteIdentity:
    """Identity of the site behind ``url`` (the canonical URL when the page gives one)."""
    domain = registrable_domain(url)
    return SiteIdentity(domain=domain, name=display_name(domain, declared_names))
