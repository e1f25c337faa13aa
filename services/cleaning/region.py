"""Where the article sits in already-scraped text: the region search.

The article is one stretch of the page. Each line gets a weight (prose positive,
furniture negative) and the article is the run of lines with the largest total,
preferably the one starting right below the headline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from services.cleaning.headline import TitleGuess
from services.cleaning.scraped import Line, is_prose

# A prose line is worth its words; other lines cost a little, furniture more.
_BOILERPLATE_COST = 10.0
_SHORT_LINE_COST = 3.0  # a line of 1-3 words that is not prose: menu items, labels
_DATELINE_COST = 8.0  # a bare date, time or byline: a teaser card's stamp more often than not
_UNPROSE_COST = 2.0  # plus a quarter point per word, for longer lines that are not prose
# A section break (related stories, most read) costs more than a short list of
# teasers is worth, but less than the rest of an article it interrupts.
_SECTION_BREAK_COST = 50.0
# Prose alone between furniture is a teaser card's summary more often than an
# article paragraph (which sits among paragraphs); below a date or byline, almost
# always. Such lines keep this share of their weight.
_ISOLATED_FACTOR = 0.5
_CARD_FACTOR = 0.1
# Below a comment-thread opener the prose is readers' text, below a rights notice
# it is footer: it keeps this share of its weight.
_AFTER_WALL_FACTOR = 0.1
# A comment opener or rights notice is a wall (the search cannot cross it) only
# after this many words of prose since the headline: a "Comments" button in the
# share bar above the article must not end the article before it starts.
_MIN_PROSE_BEFORE_WALL = 60
# How far below the headline (in lines) its article may start: byline, date, share
# buttons and a picture sit in between.
_HEADLINE_REACH = 12
# The run starting below the headline is the article unless some other run is more
# than this many times heavier (then the "headline" was a teaser for another story).
_HEADLINE_TRUST = 10.0
_MAX_HEADLINES_TRIED = 5


def _weight(line: Line, is_title: bool) -> float:
    """How much a line says "article here" (positive) or "page furniture" (negative)."""
    if line.section_break or line.comments_start:
        return -_SECTION_BREAK_COST
    if line.boilerplate:
        return -(_BOILERPLATE_COST + min(line.words, 10))
    if line.numeric or line.words == 0 or line.duplicate:
        return -2.0
    if is_title:
        return -_SHORT_LINE_COST
    if line.dateline or line.byline:
        return -_DATELINE_COST
    # Text a page repeats is navigation or teasers; an article says things once.
    if is_prose(line) and line.repeats < 3 and not (line.repeats > 1 and line.words < 12):
        return float(line.words)
    if line.words <= 3:
        return -_SHORT_LINE_COST
    return -(_UNPROSE_COST + 0.25 * line.words)


def line_weights(lines: Sequence[Line], title: TitleGuess) -> list[float]:
    """Region-search weight of every line, with teaser cards and walls accounted for."""
    base = [_weight(line, line.index in title.lines) for line in lines]
    weights = list(base)
    for i, w in enumerate(base):
        alone = (i == 0 or base[i - 1] <= 0) and (i + 1 == len(base) or base[i + 1] <= 0)
        if w > 0 and alone:
            stamped = any(line.dateline or line.byline for line in lines[max(0, i - 3) : i])
            weights[i] = w * (_CARD_FACTOR if stamped else _ISOLATED_FACTOR)

    prose_since_headline = 0.0
    behind_wall = False
    for i, line in enumerate(lines):
        if i in title.lines and (behind_wall or prose_since_headline < _MIN_PROSE_BEFORE_WALL):
            # A headline behind a wall starts the page over (a header with its own
            # notices can precede the article); a headline copy in a "trending" list
            # below the article does not.
            prose_since_headline = 0.0
            behind_wall = False
        if behind_wall and weights[i] > 0:
            weights[i] *= _AFTER_WALL_FACTOR
        elif weights[i] > 0:
            prose_since_headline += line.words
        if (line.comments_start or line.rights) and prose_since_headline >= _MIN_PROSE_BEFORE_WALL:
            weights[i] = -math.inf
            behind_wall = True
    return weights


def _heaviest_run(weights: Sequence[float]) -> tuple[float, int, int] | None:
    """(total, start, end) of the run of lines with the largest total weight.

    Kadane's maximum-sum subarray. ``None`` when no line weighs positive.
    """
    best: tuple[float, int, int] | None = None
    run, run_start = 0.0, 0
    for i, w in enumerate(weights):
        if run <= 0:
            run, run_start = w, i
        else:
            run += w
        if run > 0 and (best is None or run > best[0]):
            best = (run, run_start, i + 1)
    return best


def _run_below(
    weights: Sequence[float], headline: int, headlines: frozenset[int]
) -> tuple[float, int, int] | None:
    """Heaviest run starting at the first prose line just below a headline line."""
    start = None
    for i in range(headline + 1, min(len(weights), headline + 1 + _HEADLINE_REACH)):
        if weights[i] > 0:
            start = i
            break
        if i in headlines or weights[i] == -math.inf:
            return None
    if start is None:
        return None
    best: tuple[float, int, int] | None = None
    run = 0.0
    for i in range(start, len(weights)):
        run += weights[i]
        if run == -math.inf:
            break
        if best is None or run > best[0]:
            best = (run, start, i + 1)
    return best


def choose_region(weights: Sequence[float], headlines: frozenset[int]) -> tuple[int, int]:
    """[start, end) of the article: below its headline if that holds up, else the heaviest run.

    The text right below the headline is nearly always the article (or its
    standfirst). Trusting that protects short stories on pages with big menus of
    teasers-with-summaries, long footers or comment threads.
    """
    free = _heaviest_run(weights)
    # The <h1> is among the first copies; a page repeating its headline more often
    # repeats it in link lists (and each try costs a pass over the page).
    tried = sorted(h for h in headlines if h > 0)[:_MAX_HEADLINES_TRIED]
    below = [r for h in tried if (r := _run_below(weights, h, headlines))]
    if below:
        anchored = max(below)
        if free is None or anchored[0] * _HEADLINE_TRUST >= free[0]:
            return anchored[1], anchored[2]
    if free is None:
        return 0, len(weights)
    return free[1], free[2]


# How many lines into the region a byline or date may sit below a standfirst.
_STANDFIRST_REACH = 6


def skip_standfirst(lines: Sequence[Line], start: int, end: int) -> int:
    """Move the region's start below a byline or date that follows its first lines.

    A standfirst (the summary under the headline) reads like prose and opens the
    region, but the byline and the date come after it, right before the article.
    The start only moves if prose remains below.
    """
    new_start = start
    for line in lines[start + 1 : min(end, start + _STANDFIRST_REACH)]:
        if line.byline or line.dateline:
            new_start = line.index + 1
    if any(is_prose(line) for line in lines[new_start:end]):
        return new_start
    return start


def extend_continuations(lines: Sequence[Line], end: int) -> int:
    """Move the region's end over text its last line announces or leaves unfinished.

    The search stops at the last prose line, but an article can end on a list
    ("Tour dates:" then one short line per date) or on a sentence the page split
    over lines; both weigh negative yet belong to the article.
    """
    while 0 < end < len(lines):
        last, following = lines[end - 1], lines[end]
        if following.furniture or following.duplicate:
            break
        if last.text.endswith(":"):
            block = following.block  # the announced list runs to the end of its block
            while end < len(lines) and lines[end].block == block and not lines[end].furniture:
                end += 1
            break
        # An unfinished sentence, or a line announcing what comes next ("Dates:").
        if (
            last.text.endswith((",", "、", ";"))
            or following.text[:1].islower()
            or following.text.endswith(":")
        ):
            end += 1
            continue
        break
    return end
