"""Toy line-protocol servers (IMAP-, SMTP- and POP3-like) and a TranscriptHost around
them, so the transcript kit is tested without the real protocol servers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence

import pytest

from postoffice.testing.runner import run_transcript
from postoffice.testing.transcript import parse_transcript


class ToyMail:
    def __init__(self) -> None:
        self.messages: dict[str, list[bytes]] = {}
        self.clock = 0.0
        self.idlers: list[asyncio.StreamWriter] = []


async def toy_imap(mail: ToyMail, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    def send(text: str | bytes) -> None:
        writer.write(text if isinstance(text, bytes) else text.encode() + b"\r\n")

    send("* OK [CAPABILITY IMAP4rev2 AUTH=PLAIN] toy ready")
    while line := await reader.readline():
        text = line.decode().rstrip("\r\n")
        tag, _, rest = text.partition(" ")
        verb, _, args = rest.partition(" ")
        verb = verb.upper()
        if verb == "NOOP":
            send(f"{tag} OK NOOP done")
        elif verb == "CAPABILITY":
            send("* CAPABILITY IMAP4rev2 IDLE AUTH=PLAIN LITERAL+")
            send(f"{tag} OK done")
        elif verb == "LOGIN":
            m = re.search(r"\{(\d+)\}$", args)
            if m:  # LOGIN {5} / alice {8} / password
                send("+ go on")
                await reader.readexactly(int(m.group(1)))
                tail = (await reader.readline()).decode().rstrip("\r\n")
                m2 = re.search(r"\{(\d+)\}$", tail)
                if m2:
                    send("+ go on")
                    args = (await reader.readexactly(int(m2.group(1)))).decode()
                    await reader.readline()
            if "wrong" in args:
                send(f"{tag} NO [AUTHENTICATIONFAILED] bad")
            else:
                send(f"{tag} OK [CAPABILITY IMAP4rev2] logged in")
        elif verb in ("SELECT", "EXAMINE"):
            count = len(mail.messages.get("alice", []))
            send(f"* {count} EXISTS")
            send("* FLAGS (\\Seen \\Flagged \\Answered)")
            send("* OK [UIDVALIDITY 42] ok")
            send(f"{tag} OK [READ-WRITE] selected")
        elif verb == "FETCH":
            send("* 1 FETCH (UID 7 FLAGS (\\Seen \\Flagged))")
            send(b"* 2 FETCH (UID 9 BODY[] {11}\r\nHello World)\r\n")
            send(f"{tag} OK fetched")
        elif verb == "APPEND":
            m = re.search(r"\{(\d+)(\+?)\}$", args)
            assert m
            if m.group(2) != "+":
                if "Refuse" in args:
                    send(f"{tag} NO [TOOBIG] too big")
                    continue
                send("+ ready")
            data = await reader.readexactly(int(m.group(1)))
            await reader.readline()
            mail.messages.setdefault("alice", []).append(data)
            send(f"{tag} OK [APPENDUID 42 {len(mail.messages['alice'])}] appended")
        elif verb == "ECHO":
            for word in args.split():
                send(f"* ECHO {word}")
            send(f"{tag} OK echoed")
        elif verb == "IDLE":
            send("+ idling")
            mail.idlers.append(writer)
            await reader.readline()  # DONE
            mail.idlers.remove(writer)
            send(f"{tag} OK idle done")
        elif verb == "SLOW":
            pass  # never answers
        elif verb == "STARTTLS":
            send(f"{tag} OK begin TLS")
            await writer.drain()
            return  # the toy cannot do TLS; tests only check the refusal path
        elif verb == "LOGOUT":
            send("* BYE bye")
            send(f"{tag} OK logout")
            await writer.drain()
            break
        else:
            send(f"{tag} BAD unknown command")
        await writer.drain()
    writer.close()


async def toy_smtp(mail: ToyMail, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    def send(text: str) -> None:
        writer.write(text.encode() + b"\r\n")

    send("220 toy.example.test ESMTP")
    while line := await reader.readline():
        text = line.decode().rstrip("\r\n")
        verb = text.split(" ", 1)[0].upper()
        if verb == "EHLO":
            send("250-toy.example.test hello")
            send("250-PIPELINING")
            send("250-SIZE 1000")
            send("250 AUTH PLAIN LOGIN")
        elif verb == "AUTH":
            send("235 2.7.0 ok")
        elif verb == "MAIL":
            send("250 2.1.0 ok")
        elif verb == "RCPT":
            if "nobody" in text:
                send("550 5.1.1 no such user")
            else:
                send("250 2.1.5 ok")
        elif verb == "DATA":
            send("354 go ahead")
            await writer.drain()
            body = b""
            while (data := await reader.readline()) not in (b".\r\n", b""):
                body += data
            mail.messages.setdefault("alice", []).append(body)
            send("250 2.0.0 queued")
        elif verb == "QUIT":
            send("221 2.0.0 bye")
            await writer.drain()
            break
        else:
            send("500 5.5.1 unknown")
        await writer.drain()
    writer.close()


async def toy_pop3(mail: ToyMail, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    def send(text: str) -> None:
        writer.write(text.encode() + b"\r\n")

    send("+OK toy POP3 ready")
    while line := await reader.readline():
        words = line.decode().rstrip("\r\n").split()
        verb = words[0].upper() if words else ""
        messages = mail.messages.get("alice", [])
        if verb in ("USER", "PASS"):
            send("+OK fine")
        elif verb == "STAT":
            send(f"+OK {len(messages)} {sum(len(m) for m in messages)}")
        elif verb == "LIST" and len(words) == 1:
            send(f"+OK {len(messages)} messages")
            for i, m in enumerate(messages, 1):
                send(f"{i} {len(m)}")
            send(".")
        elif verb == "LIST":
            send("-ERR [SYS/PERM] no such message")
        elif verb == "CAPA":
            send("+OK capabilities")
            for capability in ("TOP", "UIDL", "SASL PLAIN SCRAM-SHA-256", "RESP-CODES"):
                send(capability)
            send(".")
        elif verb == "RETR":
            send("+OK message follows")
            for body_line in messages[int(words[1]) - 1].decode().split("\r\n"):
                send("." + body_line if body_line.startswith(".") else body_line)
            send(".")
        elif verb == "QUIT":
            send("+OK bye")
            await writer.drain()
            break
        else:
            send("-ERR unknown")
        await writer.drain()
    writer.close()


TOYS = {"imap": toy_imap, "smtp": toy_smtp, "pop3": toy_pop3}


class ToyHost:
    """A TranscriptHost around the toy servers."""

    password = "password"

    def __init__(self) -> None:
        self.mail = ToyMail()
        self.servers: dict[str, asyncio.Server] = {}
        self.writers: set[asyncio.StreamWriter] = set()

    async def address(self, listener: str) -> tuple[str, int]:
        if listener not in self.servers:
            handler = TOYS[listener]

            async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                self.writers.add(writer)
                try:
                    await handler(self.mail, reader, writer)
                except (ConnectionError, asyncio.IncompleteReadError):
                    pass
                finally:
                    self.writers.discard(writer)

            self.servers[listener] = await asyncio.start_server(serve, "127.0.0.1", 0)
        return "127.0.0.1", self.servers[listener].sockets[0].getsockname()[1]

    def user_address(self, user: str) -> str:
        return f"{user}@example.test"

    async def deliver(self, users: Sequence[str], message: bytes) -> None:
        for user in users:
            self.mail.messages.setdefault(user, []).append(message)
        for writer in self.mail.idlers:
            writer.write(f"* {len(self.mail.messages.get('alice', []))} EXISTS\r\n".encode())

    async def advance_clock(self, seconds: float) -> None:
        self.mail.clock += seconds

    async def count_messages(self, user: str, mailbox: str) -> int:
        return len(self.mail.messages.get(user, []))

    async def delete_user(self, user: str) -> None:
        self.mail.messages.pop(user, None)

    async def run(self, text: str, protocol: str = "imap") -> dict[str, str]:
        return await run_transcript(self, parse_transcript(text, protocol=protocol))

    async def close(self) -> None:
        for writer in list(self.writers):
            writer.close()
        for server in self.servers.values():
            server.close()
        for _ in range(3):
            await asyncio.sleep(0)


@pytest.fixture
async def toy() -> AsyncIterator[ToyHost]:
    host = ToyHost()
    try:
        yield host
    finally:
        await host.close()
