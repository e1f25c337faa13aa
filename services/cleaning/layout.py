"""Tables used for page layout, turned back into plain blocks before extraction.

Older sites lay their pages out with ``<table>``: the whole article sits in one
cell, pull quotes in one-cell tables beside it. Extractors treat tables as data,
so such a page came out as one giant "paragraph" strewn with ``| |`` cell marks.
A table is layout, not data, when it holds another table, when a cell holds
paragraphs or headings, when a cell runs to more words than any data cell does,
or when it has a single cell. Its rows and cells become ``<div>``s; data tables
are left alone.
"""

from __future__ import annotations

from lxml.html import HtmlElement

_BLOCK_TAGS = ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "blockquote", "table")
# More words than this in one cell is running text, not a table value.
_MAX_DATA_CELL_WORDS = 80
# Tables looked at per page; a page with more is a data dump, left as it is.
_MAX_TABLES = 200


def _cells(table: HtmlElement) -> list[HtmlElement]:
    return list(table.xpath("./tr/td|./tr/th|./*/tr/td|./*/tr/th"))


def is_layout_table(table: HtmlElement) -> bool:
    """Does this table lay out a page rather than hold data? (see module docstring)"""
    cells = _cells(table)
    if len(cells) == 1:
        return True
    for cell in cells:
        # A lone wrapper <div> around a short value is still a data cell.
        has_blocks = any(child.tag in _BLOCK_TAGS for child in cell.iterchildren())
        if has_blocks and (
            len(cell.text_content().split()) > 12 or cell.find(".//table") is not None
        ):
            return True
        if len(cell.text_content().split()) > _MAX_DATA_CELL_WORDS:
            return True
    return False


def unwrap_layout_tables(tree: HtmlElement) -> int:
    """Turn every layout table of the tree into ``<div>`` blocks; returns how many."""
    tables = list(tree.iter("table"))[:_MAX_TABLES]
    layout = [t for t in tables if is_layout_table(t)]
    for table in layout:
        for row in table.xpath("./tr|./*/tr"):
            for cell in row.xpath("./td|./th"):
                cell.tag = "div"
            row.tag = "div"
        for section in table.xpath("./thead|./tbody|./tfoot"):
            section.tag = "div"
        table.tag = "div"
    return len(layout)
