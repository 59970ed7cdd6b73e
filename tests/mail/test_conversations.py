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
