"""Search text made again after the text extraction changed (mail/ingest.py
SEARCH_TEXT_VERSION, migration 0014): old mail is found as new mail is.

The server runs on the SQLite store; "old" text is what an earlier extraction stored
(here: a body cut at its NUL octet, as before NUL became a space), put in place the
way the store keeps any text, then the background worker makes it again.
"""

from __future__ import annotations

from postoffice.mail.ingest import SEARCH_TEXT_VERSION
from postoffice.store.api import SearchText
from postoffice.testing.server import TranscriptServer

NUL_BODY = b"From: ann@example.test\r\nSubject: parts list\r\n\r\nbefore the nul\x00after it comes the marimba\r\n"
PLAIN = b"From: bob@example.test\r\nSubject: second\r\n\r\nnothing special about the vibraphone here\r\n"
# 3 MB: within [limits.message] max_search_text (1 MB sampled) the xylophone is found
BIG = b"From: cid@example.test\r\nSubject: big\r\n\r\nxylophone\r\n" + b"lots of words in a long body\r\n" * 100_000


async def test_old_mail_is_found_after_its_search_text_is_made_again() -> None:
    async with TranscriptServer("imap", users=["alice"]) as srv:
        for message in (NUL_BODY, PLAIN, BIG):
            await srv.deliver(["alice"], message)
        box = await srv.mail.get_mailbox(await srv.account("alice"), "INBOX")
        records = await srv.mail.list_messages(box)
        store = srv.mail.store
        # what version 1 stored: the body up to the NUL, and nothing of the others' bodies
        await store.replace_search_text(records[0].content_id, SearchText(subject="parts list", body="before the nul"))
        await store.replace_search_text(records[1].content_id, SearchText(subject="second"))
        await store.replace_search_text(records[2].content_id, SearchText(subject="big"))
        await srv.run(
            "C: a1 UID SEARCH BODY marimba\nS: * SEARCH\nS: a1 OK\n"
            "C: a2 UID SEARCH TEXT vibraphone\nS: * SEARCH\nS: a2 OK\n",
            state="selected",
        )
        # bounded steps; the list of what is left lives in the store (a restart resumes it)
        assert await srv.mail.reindex_search_text(batch=1) == 1
        assert await store.stale_search_texts(10) == [records[1].content_id, records[2].content_id]
        await srv.run("C: a3 UID SEARCH BODY marimba\nS: * SEARCH 1\nS: a3 OK\n", state="selected")
        await srv.run("C: a4 UID SEARCH BODY vibraphone\nS: * SEARCH\nS: a4 OK\n", state="selected")
        # the worker finishes the rest, a 3 MB body included, without holding the event loop
        async with srv.no_stall():
            assert await srv.mail.run_search_reindexer(batch=1) == 2
        await srv.run(
            "C: a5 UID SEARCH BODY vibraphone\nS: * SEARCH 2\nS: a5 OK\n"
            "C: a6 UID SEARCH BODY xylophone\nS: * SEARCH 3\nS: a6 OK\n"
            "C: a7 UID SEARCH TEXT marimba\nS: * SEARCH 1\nS: a7 OK\n",
            state="selected",
        )
        # done for this version: nothing is made twice, new mail is current as stored
        assert await store.stale_search_texts(10) == []
        assert await srv.mail.run_search_reindexer() == 0
        assert await store.mark_search_text_stale(SEARCH_TEXT_VERSION) == 0
