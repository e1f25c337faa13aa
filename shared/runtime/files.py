"""Reading article files given on the command line (``.html``, ``.txt``,
``.jsonl``, each possibly gzipped), for the tools that take them."""

from __future__ import annotations

import gzip
from pathlib import Path


def read_text_file(path: Path) -> str:
    """The file's text; gzip is undone, undecodable bytes replaced."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


def is_html_path(path: Path) -> bool:
    return ".htm" in "".join(path.suffixes).lower()
