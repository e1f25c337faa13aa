"""Stories: near-duplicate folding and online story clustering (issue 15).

Entry point for the stage: ``StoryClusterer(RedisState.from_url(url, namespace)).process(batch)``
with ``batch`` a list of :class:`~services.stories.models.ArticleIn` in arrival order;
see :mod:`services.stories.clustering`.
"""
