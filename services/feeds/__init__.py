"""Feed sources: follow RSS/Atom feeds and news sitemaps like a polite reader.

``registry`` keeps the sources and their state in Redis; ``poller`` is the
process (``newsflow poller``) that fetches them on schedule through ``fetch``
(conditional requests, per-host politeness, robots.txt, backoff), reads them
with ``parse`` and sends new article pages down the pipeline through the
ingestion ``Ingestor``; ``health`` judges each source; ``api`` and ``cli`` let
people manage them. Only ``api`` is imported by the ingestion app, so importing
this package stays cheap.
"""
