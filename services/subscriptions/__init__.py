"""Subscriptions: saved searches whose new matches are pushed (issue 16).

* ``api``: the ``/v1/subscriptions`` routes, the Atom feed and the live
  count (SSE) of a search, as one router the search API mounts;
* ``stage``: the ``matcher`` stage (``articles.indexed`` ->
  ``subscriptions.matched``) and the ``webhooks`` stage (delivery);
* ``cli``: ``newsflow subscriptions list|show|test``.
"""
