"""mail/search.py: criteria as typed values evaluated over a mailbox (results are UIDs),
the same for every protocol."""

from __future__ import annotations

import datetime as dt

from postoffice.app import Services
from postoffice.mail import search as m
from postoffice.store.api import FlagUpdate, Mailbox

MESSAGES = [
    b"From: Ann <ann@example.test>\r\nTo: bob@example.test\r\nSubject: apples\r\nDate: Fri, 27 Nov 2026 12:00:00 +0000\r\n"
    b"X-Tag: red\r\n\r\nfresh fruit\r\n",
    b"From: Bob <bob@example.test>\r\nTo: ann@example.test\r\nSubject: pears\r\nDate: Sat, 28 Nov 2026 12:00:00 +0000\r\n"
    b"\r\nripe pears and more text to be larger than the first one\r\n",
    b"From: Cid <cid@example.test>\r\nSubject: plums\r\n\r\nno date here\r\n",
]


async def mailbox(services: Services) -> tuple[Mailbox, list[int]]:
    mail = services.mail
    account = await mail.add_user("alice@example.test", "pw")
    for message in MESSAGES:
        await mail.deliver(message, ["alice@example.test"])
    box = await mail.get_mailbox(account, "INBOX")
    uids = [r.uid for r in await mail.list_messages(box)]
    await mail.update_flags(box, uids[:1], FlagUpdate("add", frozenset({"\\Seen", "$Important"})))
    return await mail.get_mailbox(account, "INBOX"), uids


async def test_criteria_over_a_mailbox(services: Services) -> None:
    box, (u1, u2, u3) = await mailbox(services)
    search = m.MailboxSearch(services.mail, box, [u1, u2, u3])
    every = {u1, u2, u3}
    assert await search.matches(m.Everything()) == every
    assert await search.matches(m.HasFlag("\\SEEN")) == {u1}
    assert await search.matches(m.HasFlag("\\Seen", present=False)) == {u2, u3}
    assert await search.matches(m.HasFlag("$important")) == {u1}
    assert await search.matches(m.InUids(frozenset({u2, 999}))) == {u2}
    assert await search.matches(m.Not(m.InUids(frozenset({u2})))) == {u1, u3}
    assert await search.matches(m.AnyOf((m.InUids(frozenset({u1})), m.InUids(frozenset({u3}))))) == {u1, u3}
    assert await search.matches(m.AllOf((m.Everything(), m.HasFlag("\\Seen", False), m.InUids(frozenset({u3}))))) == {u3}
    sizes = {r.uid: r.size for r in await services.mail.list_messages(box)}
    assert await search.matches(m.Size("larger", sizes[u1])) == {u for u in every if sizes[u] > sizes[u1]}
    assert await search.matches(m.Size("smaller", sizes[u2])) == {u for u in every if sizes[u] < sizes[u2]}
    assert await search.matches(m.TextContains("body", "RIPE")) == {u2}
    assert await search.matches(m.TextContains("text", "plums")) == {u3}
    assert await search.matches(m.TextContains("text", "")) == every
    assert await search.matches(m.HeaderContains("FROM", "ann")) == {u1}
    assert await search.matches(m.HeaderContains("x-tag", "RED")) == {u1}  # not indexed: read headers
    assert await search.matches(m.HeaderContains("Date", "")) == {u1, u2}  # the field is there
    assert await search.matches(m.OnDate("on", dt.date(2026, 11, 28), sent=True)) == {u2}
    assert await search.matches(m.OnDate("before", dt.date(2026, 11, 28), sent=True)) == {u1}
    today = dt.datetime.fromtimestamp(services.mail.clock.now(), dt.UTC).date()
    assert await search.matches(m.OnDate("since", today)) == every
    assert await search.matches(m.Age("younger", 60)) == every and await search.matches(m.Age("older", 60)) == set()
    assert not search.used_modseq
    modseqs = {r.uid: r.modseq for r in await services.mail.list_messages(box)}
    assert await search.matches(m.ModSeqAtLeast(modseqs[u1])) == {u for u in every if modseqs[u] >= modseqs[u1]}
    assert search.used_modseq and await search.highest_modseq([u2, u3]) == max(modseqs[u2], modseqs[u3])


async def test_only_the_given_messages_are_searched(services: Services) -> None:
    box, (u1, u2, u3) = await mailbox(services)
    search = m.MailboxSearch(services.mail, box, [u2])
    assert await search.matches(m.Everything()) == {u2}
    assert await search.matches(m.HasFlag("\\Seen", False)) == {u2}
    assert await search.matches(m.TextContains("text", "e")) <= {u2}


def test_sent_day_is_the_date_as_written() -> None:
    """RFC 3501 §6.4.4: the Date header's day as written, whatever its time and zone;
    comments, a seconds value of 60 and the obsolete forms of RFC 5322 §4.3 parse."""
    cases = {
        "Mon, 1 Jan 2024 23:30:00 -0800": dt.date(2024, 1, 1),
        "Tue, 02 Jan 2024 00:30:00 +0900 (JST)": dt.date(2024, 1, 2),
        "(early) Sun, 31 Dec 2023 23:59:60 +0000 (leap second)": dt.date(2023, 12, 31),
        "5 Jan 24 10:00 EST": dt.date(2024, 1, 5),
        "5 Jan 99 10:00 EST": dt.date(1999, 1, 5),
        "5 Jan 103 10:00 EST": dt.date(2003, 1, 5),
        "Thu, 4 (a (nested) comment) Dec 2026 10:00 +0000": dt.date(2026, 12, 4),
        "Fri, 31 Feb 2026 10:00 +0000": None,
        "yesterday": None,
        "": None,
        None: None,
    }
    for value, day in cases.items():
        assert m.sent_day(value) == day, value
