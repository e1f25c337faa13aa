"""Search service: the read side of Newsflow.

A FastAPI app (``app.create_app``) answering full-text searches with facets,
article look-ups, similar articles and entity autocomplete over the articles
alias, plus the single-page web UI under ``static/``. Query building
(``query``), cursor encoding (``cursor``) and response shaping (``results``)
are pure, so they are tested without servers; ``service`` and ``cache`` hold
the Elasticsearch and Redis plumbing.
"""
