"""The cleaning stage's own rules around the cleaning logic."""

from __future__ import annotations

from services.cleaning.stage import site_identity


def test_a_registrable_domain_is_the_source() -> None:
    assert site_identity("nj.com") == "nj.com"


def test_an_address_names_no_publisher() -> None:
    for host in ("127.0.0.1", "10.1.2.3", "::1", "[::1]", "localhost", "", None):
        assert site_identity(host) is None
