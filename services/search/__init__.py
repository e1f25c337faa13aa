"""Search service: the read side of Newsflow.

A FastAPI app (``app.create_app``) answering full-text searches with facets,
article look-ups, similar articles, entity autocomplete, facet value search
and exports over the articles alias, plus the single-page web UI under
``static/``. The pure parts are tested without servers: reading what people
type (``syntax``), scoring it (``textquery``), building bodies (``query``,
``histogram``, ``facetsearch``, ``spelling``), cursor encoding (``cursor``),
response shaping (``results``) and export rows (``export``); ``service`` and
``cache`` hold the Elasticsearch and Redis plumbing.
"""
