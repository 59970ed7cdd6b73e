"""Benchmark: FETCH 1:* ENVELOPE / BODYSTRUCTURE over 100 varied messages, in process.

Run: ``.venv/bin/python -m bench.fetch_structure [--repeat R]``. The 100 messages are
the shaped corpus (``tests/corpus/*.eml``: multiparts, message/rfc822, groups, charsets)
delivered in turn. Two figures per item list, both medians of ``--repeat`` runs over one
loopback connection:

- the server's cost of decoding the stored ENVELOPE and BODYSTRUCTURE and rendering
  them (``mail.codec`` + ``wire.imap.render``), first without its per-process memo (a
  first FETCH after a start), then with it (a client that fetches again);
- the whole FETCH as a client sees it.

Figures are printed, never asserted. Owns nothing but its temp dir.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from postoffice.mail import codec
from postoffice.testing.server import TranscriptServer
from postoffice.wire.imap import render

CORPUS = sorted((Path(__file__).parent.parent / "tests" / "corpus").glob("*.eml"))


async def _run(repeat: int) -> None:
    async with TranscriptServer(protocol="imap", users=["alice"]) as srv:
        messages = [p.read_bytes() for p in CORPUS]
        for i in range(100):
            await srv.deliver(["alice"], b"X-N: %d\r\n" % i + messages[i % len(messages)])
        account = await srv.account("alice")
        box = await srv.mail.get_mailbox(account, "INBOX")
        records = await srv.mail.list_messages(box)
        contents = [await srv.mail.get_content(r.content_id) for r in records]

        def decode_and_render(memo: bool) -> float:
            start = time.perf_counter()
            for c in contents:
                if memo:
                    env, structure = srv.mail.envelope(c), srv.mail.bodystructure(c)
                else:
                    env = codec._decode_envelope(c.envelope)
                    structure = codec._decode_bodystructure(c.bodystructure)
                    assert structure is not None
                render.envelope(env)
                render.body_structure(structure.root)
            return time.perf_counter() - start

        for memo in (False, True):
            t = statistics.median(decode_and_render(memo) for _ in range(repeat))
            print(f"decode+render ENVELOPE BODYSTRUCTURE, {'memo' if memo else 'no memo'}: "
                  f"{t * 1e6 / len(contents):.1f} us/message")  # fmt: skip

        reader, writer = await asyncio.open_connection("127.0.0.1", await srv.start_listener("imap"))
        await reader.readline()

        async def command(line: bytes) -> None:
            writer.write(line + b"\r\n")
            tag = line.split()[0] + b" "
            while not (await reader.readline()).startswith(tag):
                pass

        await command(b"a LOGIN alice@example.test password")
        await command(b"b SELECT INBOX")
        for items in (b"(ENVELOPE BODYSTRUCTURE)", b"(ENVELOPE)", b"(BODYSTRUCTURE)", b"(FLAGS)"):
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                await command(b"c FETCH 1:* " + items)
                times.append(time.perf_counter() - start)
            print(f"FETCH 1:* {items.decode()} over 100 messages: {statistics.median(times) * 1000:.2f} ms")
        writer.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    asyncio.run(_run(args.repeat))
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
