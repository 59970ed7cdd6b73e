"""Conversations over a whole mailbox (mail/conversations.py), on the SQLite store."""

from __future__ import annotations

import random

from postoffice.app import Services
from postoffice.mail.conversations import Conversations, group
from postoffice.store.sqlite.web import SQLiteWebStore


def test_grouping_follows_references_and_in_reply_to_transitively() -> None:
    found = group(
        [
            (1, "<a>", ()),
            (2, "<b>", ()),
            (3, "<c>", ("<a>",)),
            (4, "", ("<missing>",)),  # no Message-ID: joined only by what it names
            (5, "<d>", ("<missing>", "<b>")),  # joins b's conversation and 4's through <missing>
            (6, "", ()),
        ]
    )
    assert [(c.newest, c.uids) for c in found] == [(6, (6,)), (5, (2, 4, 5)), (3, (1, 3))]


async def test_kept_grouping_after_appends_and_expunges_equals_a_fresh_one(services: Services) -> None:
    """Messages arrive in batches (the kept groups are extended) and some are expunged
    (grouped again): every answer equals grouping the folder from scratch."""
    rng = random.Random(7)
    account = await services.mail.add_user("alice@example.test", "pw")
    inbox = await services.mail.get_mailbox(account, "INBOX")
    roles = SQLiteWebStore(services.store.db)  # type: ignore[attr-defined]
    conversations = Conversations(roles)
    facts: dict[int, tuple[str, tuple[str, ...]]] = {}
    n = 0
    for batch in range(6):
        for _ in range(rng.randint(1, 12)):
            n += 1
            named = tuple(f"<m{rng.randrange(n)}@x>" for _ in range(rng.randint(0, 2)) if n > 1)
            headers = f"References: {' '.join(named)}\r\n" if named else ""
            data = f"From: b@x\r\nSubject: s{n}\r\nMessage-ID: <m{n}@x>\r\n{headers}\r\nbody\r\n".encode()
            result = await services.mail.deliver(data, ["alice@example.test"])
            facts[result.records[0].uid] = (f"<m{n}@x>", named)
        if batch in (2, 4):
            gone = rng.sample(sorted(facts), 3)
            await services.mail.expunge(inbox, gone)
            for uid in gone:
                del facts[uid]
        inbox = await services.mail.get_mailbox(account, "INBOX")
        expected = group((uid, own, named) for uid, (own, named) in sorted(facts.items()))
        assert await conversations.page(inbox, None, 1000) == expected
        if len(expected) > 2:
            assert await conversations.page(inbox, expected[1].newest, 1) == expected[2:3]  # keyset paging


async def test_mail_stored_before_thread_keys_groups_the_same_and_is_filled(services: Services) -> None:
    """Contents stored without thread keys (before migration 0016) are grouped from their
    stored envelope and References, and their keys are kept for the next grouping."""
    account = await services.mail.add_user("alice@example.test", "pw")
    mails = [
        "Message-ID: <a@x>\r\n",
        "Message-ID: <b@x>\r\nIn-Reply-To: <a@x>\r\n",
        "Message-ID: <c@x>\r\n",
        "Message-ID: <d@x>\r\nReferences: <zz@x> <c@x>\r\n",
        "References: <b@x>\r\n",
    ]
    for n, headers in enumerate(mails):
        await services.mail.deliver(
            f"From: b@x\r\nSubject: s{n}\r\n{headers}\r\nbody\r\n".encode(), ["alice@example.test"]
        )
    db = services.store.db  # type: ignore[attr-defined]
    stored = await db.read(lambda conn: conn.execute("SELECT content_id, keys FROM thread_keys ORDER BY 1").fetchall())
    assert [k for _, k in stored] == ["<a@x>", "<b@x> <a@x>", "<c@x>", "<d@x> <zz@x> <c@x>", " <b@x>"]
    await db.write(lambda conn: conn.execute("DELETE FROM thread_keys"))
    inbox = await services.mail.get_mailbox(account, "INBOX")
    found = await Conversations(SQLiteWebStore(db)).page(inbox, None, 10)
    assert [(c.newest, c.uids) for c in found] == [(5, (1, 2, 5)), (4, (3, 4))]
    again = await db.read(lambda conn: conn.execute("SELECT content_id, keys FROM thread_keys ORDER BY 1").fetchall())
    assert again == stored
