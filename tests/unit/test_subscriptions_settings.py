"""The subscription routes a search app mounts take that app's settings, not the environment's."""

from __future__ import annotations

import pytest

from services.subscriptions.settings import SubscriptionsSettings
from shared.runtime.settings import SearchSettings


def test_routes_mounted_by_a_search_app_use_its_namespace_servers_and_limits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEWSFLOW_NAMESPACE", "from-env-")
    monkeypatch.setenv("NEWSFLOW_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("NEWSFLOW_SEARCH_MAX_QUERY_CHARS", "999")
    monkeypatch.setenv("NEWSFLOW_SUBSCRIPTIONS_MAX_PER_KEY", "7")
    search = SearchSettings(
        namespace="given-",
        redis_url="redis://127.0.0.1:6390/3",
        max_query_chars=123,
        max_expanding_terms=3,
    )

    routes = SubscriptionsSettings.for_search(search)

    assert routes.namespace == "given-"
    assert str(routes.redis_url) == "redis://127.0.0.1:6390/3"
    assert routes.es_url == search.es_url
    assert (routes.search_max_query_chars, routes.search_max_expanding_terms) == (123, 3)
    # The subscriptions' own variables still apply.
    assert routes.max_per_key == 7
