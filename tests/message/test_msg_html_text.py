"""HTML to text for search and previews (message.text.html_to_text): tags, comments,
script and style dropped, block tags as line breaks; linear time on hostile HTML (a
message from anyone on the Internet), so it never holds the interpreter for minutes."""

from __future__ import annotations

import asyncio

import pytest

from postoffice.message.text import html_to_text
from postoffice.net.watchdog import LoopWatchdog


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Hello <b>world</b></p>", "\nHello  world  "),
        ("a<br/>b<BR>c", "a\nb\nc"),
        ("x<script type='a'>var a = '<p>';</script >y", "x y"),
        ("x<STYLE>p { }</style>y", "x y"),
        ("x<!-- <p> hidden -->y", "x y"),
        ("a &lt; b &amp; c", "a < b & c"),
        ("1 < 2 and no tag", "1 < 2 and no tag"),
        ("x<scriptfoo>y", "x y"),
        ("x<script>never closed <b>y", "x never closed  y"),
        ("x<!-- never closed <b>y", "x y"),
        ("<h1>T</h1><div class=a>d</div>", "\nT \nd "),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "hostile",
    ["<script>" + "x" * 10, "<style" + " " * 10, "<!--<", "<br", "<p" + "x" * 5, "<" + "a" * 5, "</script"],
)
async def test_hostile_html_does_not_stall_the_loop(hostile: str) -> None:
    body = hostile * (1_000_000 // len(hostile))  # max_search_text: 1 MB of it
    watchdog = LoopWatchdog(asyncio.get_running_loop(), threshold=2.0)
    watchdog.start()
    try:
        await asyncio.to_thread(html_to_text, body)  # in a thread, as ingestion runs it
        await asyncio.sleep(0)
    finally:
        watchdog.stop()
    assert watchdog.stalls == []
