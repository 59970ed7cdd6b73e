"""The ``postoffice`` command line (docs/architecture.md §9 is the contract).

::

    postoffice [--config FILE] serve
    postoffice [--config FILE] user add ADDRESS [--password-stdin] | user list | user del ADDRESS
                               | user passwd ADDRESS [--password-stdin] | user quota ADDRESS [SIZE|default]
    postoffice [--config FILE] alias add ADDRESS TARGET | alias list | alias del ADDRESS
    postoffice [--config FILE] domain add DOMAIN | domain list
    postoffice [--config FILE] import PATH --user ADDRESS | export --user ADDRESS DIR
    postoffice [--config FILE] status
    postoffice [--config FILE] dkim rotate DOMAIN | dns DOMAIN
    postoffice [--config FILE] queue list [--json] | queue show ID | queue retry ID|--all
                               | queue delete ID | queue bounce ID

Invariants: exit status 0 on success, 1 for a refused operation (MailError: unknown
domain, duplicate, malformed address, not found) with one line on stderr, 2 for a bad
configuration or bad usage (one line, naming the file and key). Every command but
``serve`` opens the store, does its job and closes it, so it works while ``serve``
runs on the same data dir (SQLite WAL). Output is plain and stable: one item per line.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import socket
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TextIO

from postoffice import __version__
from postoffice.config import Config, ConfigError, load_config, parse_size
from postoffice.errors import Kind, MailError
from postoffice.observe import health
from postoffice.observe.logs import read_recent_errors

__all__ = ["main", "build_parser"]


class _UsageError(Exception):
    """Bad input that argparse cannot see (empty password, mismatched prompts)."""


def build_parser() -> argparse.ArgumentParser:
    # --config may stand before or after the command: every subparser has it too,
    # with SUPPRESS so a subparser without it does not reset the main parser's value.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help="TOML configuration file")
    parser = argparse.ArgumentParser(prog="postoffice", description="A complete mail system.", parents=[common])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    commands.add_parser("serve", parents=[common], help="run every configured listener")

    user = commands.add_parser("user", parents=[common], help="manage accounts").add_subparsers(dest="action", required=True)
    p = user.add_parser("add", parents=[common], help="create an account")
    p.add_argument("address")
    p.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    user.add_parser("list", parents=[common], help="one address per line")
    p = user.add_parser("del", parents=[common], help="delete an account and its mail")
    p.add_argument("address")
    p = user.add_parser("passwd", parents=[common], help="set a new password")
    p.add_argument("address")
    p.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    p = user.add_parser("quota", parents=[common], help="show, or set, the account's storage limit (RFC 9208)")
    p.add_argument("address")
    p.add_argument("size", nargs="?", help='"10GiB", 0 for no limit, or "default" for [quota] default_storage')

    alias = commands.add_parser("alias", parents=[common], help="manage aliases").add_subparsers(dest="action", required=True)
    p = alias.add_parser("add", parents=[common], help="deliver mail for ADDRESS to TARGET")
    p.add_argument("address")
    p.add_argument("target")
    alias.add_parser("list", parents=[common], help="'ADDRESS TARGET' per line")
    p = alias.add_parser("del", parents=[common], help="remove an alias")
    p.add_argument("address")

    domain = commands.add_parser("domain", parents=[common], help="manage local domains").add_subparsers(dest="action", required=True)
    p = domain.add_parser("add", parents=[common], help="add a local domain")
    p.add_argument("domain")
    domain.add_parser("list", parents=[common], help="one domain per line")

    p = commands.add_parser("import", parents=[common], help="import a Maildir, Maildir++ tree or mbox file")
    p.add_argument("path", type=Path)
    p.add_argument("--user", required=True, metavar="ADDRESS")
    p = commands.add_parser("export", parents=[common], help="export an account as a Maildir++ tree")
    p.add_argument("--user", required=True, metavar="ADDRESS")
    p.add_argument("dir", type=Path)

    commands.add_parser("status", parents=[common], help="version, counts, sizes, queue, listeners, last errors")

    dkim = commands.add_parser("dkim", parents=[common], help="DKIM keys").add_subparsers(dest="action", required=True)
    p = dkim.add_parser("rotate", parents=[common], help="sign with new keys under new selectors; print their records")
    p.add_argument("domain")
    p = commands.add_parser("dns", parents=[common], help="print the DNS records a local domain needs")
    p.add_argument("domain")
    queue = commands.add_parser("queue", parents=[common], help="the outbound queue").add_subparsers(dest="action", required=True)
    p = queue.add_parser("list", parents=[common], help="one entry per line: ID, created, sender, size, queued recipients")
    p.add_argument("--json", action="store_true", help="every entry and recipient as JSON")
    p = queue.add_parser("show", parents=[common], help="an entry and each recipient's status and last reply")
    p.add_argument("id", type=int)
    p = queue.add_parser("retry", parents=[common], help="make an entry (or --all) due now")
    p.add_argument("id", type=int, nargs="?")
    p.add_argument("--all", action="store_true")
    p = queue.add_parser("delete", parents=[common], help="remove an entry without any report")
    p.add_argument("id", type=int)
    p = queue.add_parser("bounce", parents=[common], help="fail an entry now and report it to its sender")
    p.add_argument("id", type=int)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = load_config(getattr(args, "config", None))
    except ConfigError as exc:
        print(f"postoffice: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        from postoffice import lifecycle

        return lifecycle.run(lifecycle.serve(config))
    handler = _HANDLERS[(args.command, getattr(args, "action", None))]
    try:
        password = _read_password(args) if getattr(args, "action", None) in ("add", "passwd") and args.command == "user" else None
        return _run(_with_services(config, handler, args, password))
    except MailError as exc:
        print(f"postoffice: {exc.text}", file=sys.stderr)
        return 1
    except ConfigError as exc:
        print(f"postoffice: {exc}", file=sys.stderr)
        return 2
    except _UsageError as exc:
        print(f"postoffice: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # import/export paths, data dir permissions
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"postoffice: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("postoffice: interrupted", file=sys.stderr)
        return 130


def _run(coro: Coroutine[Any, Any, int]) -> int:
    from postoffice import lifecycle

    return lifecycle.run(coro)


def _read_password(args: argparse.Namespace, stdin: TextIO | None = None) -> str:
    stdin = stdin or sys.stdin
    if not args.password_stdin and stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise _UsageError("the two passwords differ")
        password = first
    else:
        line = stdin.readline()
        # The line end (LF or CRLF) is not part of the password (docs/architecture.md §9).
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
    if not password:
        raise _UsageError("empty password")
    return password


Handler = Callable[[Any, argparse.Namespace, "str | None"], Awaitable[int]]


async def _with_services(config: Config, handler: Handler, args: argparse.Namespace, password: str | None) -> int:
    from postoffice import app

    async with app.services(config) as services:
        return await handler(services, args, password)


# ---- handlers: (services, args, password) -> exit status --------------------------------


async def _user_add(s: Any, args: argparse.Namespace, password: str | None) -> int:
    assert password is not None
    account = await s.mail.add_user(args.address, password)
    print(account.address)
    return 0


async def _user_list(s: Any, args: argparse.Namespace, password: str | None) -> int:
    for account in sorted(await s.mail.list_users(), key=lambda a: a.address):
        print(account.address)
    return 0


async def _user_del(s: Any, args: argparse.Namespace, password: str | None) -> int:
    await s.mail.delete_user(args.address)
    return 0


async def _user_passwd(s: Any, args: argparse.Namespace, password: str | None) -> int:
    assert password is not None
    await s.mail.set_password(args.address, password)
    return 0


async def _user_quota(s: Any, args: argparse.Namespace, password: str | None) -> int:
    """Without SIZE: "STORAGE used limit" and "MESSAGE used limit" in octets and messages
    (limit 0: none). With SIZE: the account's own storage limit, or back to the default."""
    if args.size is not None:
        if args.size == "default":
            storage = None
        else:
            try:
                storage = parse_size(args.size)
            except ValueError as exc:
                raise _UsageError(f"user quota: {exc}") from None
        await s.mail.set_quota(args.address, storage)
        return 0
    account = await s.mail.get_account(args.address)
    if account is None:
        raise MailError(Kind.NOT_FOUND, f"no such user: {args.address}")
    usage = await s.mail.quota(account)
    print(f"STORAGE {usage.storage} {usage.storage_limit}")
    print(f"MESSAGE {usage.messages} {usage.message_limit}")
    return 0


async def _alias_add(s: Any, args: argparse.Namespace, password: str | None) -> int:
    await s.mail.add_alias(args.address, args.target)
    return 0


async def _alias_list(s: Any, args: argparse.Namespace, password: str | None) -> int:
    for alias in sorted(await s.mail.list_aliases(), key=lambda a: (a.address, a.target)):
        print(f"{alias.address} {alias.target}")
    return 0


async def _alias_del(s: Any, args: argparse.Namespace, password: str | None) -> int:
    await s.mail.delete_alias(args.address)
    return 0


async def _domain_add(s: Any, args: argparse.Namespace, password: str | None) -> int:
    await s.mail.add_domain(args.domain)
    return 0


async def _domain_list(s: Any, args: argparse.Namespace, password: str | None) -> int:
    for domain in sorted(await s.mail.local_domains()):
        print(domain)
    return 0


class _Bar:
    """tqdm on stderr, drawn only when stderr is a terminal."""

    def __init__(self, unit: str) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=0, unit=unit, file=sys.stderr, disable=not sys.stderr.isatty(), dynamic_ncols=True)

    def add_total(self, n: int) -> None:
        self._bar.total = (self._bar.total or 0) + n
        self._bar.refresh()

    def advance(self, n: int = 1) -> None:
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()


async def _import(s: Any, args: argparse.Namespace, password: str | None) -> int:
    from postoffice.mail.transfer import import_path

    bar = _Bar("msg")
    try:
        result = await import_path(s.mail, args.user, args.path, progress=bar)
    finally:
        bar.close()
    for error in result.errors:
        print(f"postoffice: {error}", file=sys.stderr)
    print(
        f"imported {result.imported}, skipped {result.skipped} already present, failed {result.failed}, "
        f"kept {result.kept_uids} UIDs, mailboxes: {', '.join(result.mailboxes)}"
    )
    return 1 if result.failed else 0


async def _export(s: Any, args: argparse.Namespace, password: str | None) -> int:
    from postoffice.mail.transfer import export_account

    bar = _Bar("msg")
    try:
        result = await export_account(s.mail, args.user, args.dir, progress=bar)
    finally:
        bar.close()
    if result.dropped_keywords:
        print(
            f"postoffice: Maildir names at most 26 keywords per folder; not exported: {', '.join(sorted(result.dropped_keywords))}",
            file=sys.stderr,
        )
    print(f"exported {result.messages} messages in {result.mailboxes} mailboxes to {args.dir}")
    return 0


async def _status(s: Any, args: argparse.Namespace, password: str | None) -> int:
    config: Config = s.config
    domains = await s.mail.local_domains()
    accounts = await s.mail.list_users()
    stats = await health.store_stats(s.store, s.blobs, config.db_path)  # no scan of the messages
    print(f"version: {__version__}")
    print(f"config: {config.source}")
    print(f"data_dir: {config.data_dir}")
    print(f"domains: {len(domains)}")
    print(f"users: {len(accounts)}")
    print(f"messages: {stats.messages}")
    print(f"message_bytes: {stats.raw_bytes}")  # every message counted once per mailbox
    print(f"content_bytes: {stats.content_bytes}")  # every distinct message once: after dedup
    print(f"dedup_saved_bytes: {stats.dedup_saved}")
    print(f"blob_bytes: {stats.blob_bytes}")  # the part files on disk
    print(f"database_bytes: {stats.database_bytes}")
    if s.mail.outbound is None:
        print("queue: off")
    else:
        q = await health.queue_stats(s.mail.outbound.queue)
        print(f"queue: {q.entries} messages, {q.recipients} recipients, oldest {q.oldest_age:.0f}s")
    listeners = sorted(config.listen.addresses.items())
    states = await asyncio.gather(*(_listening(host, port) for _, (host, port) in listeners))
    for (name, (host, port)), up in zip(listeners, states, strict=True):
        shown = f"[{host}]" if ":" in host else host
        print(f"listener {name} {shown}:{port} {'listening' if up else 'not listening'}")
    errors = read_recent_errors(config.data_dir)
    print(f"recent_errors: {len(errors)}")
    for e in errors:
        print(f"error {e.get('time', '-')} {e.get('logger', '-')} {e.get('msg', '')}".rstrip())
    return 0


async def _listening(host: str, port: int) -> bool:
    """Connect test on loopback (a wildcard address is tried on its loopback)."""
    target = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(target, port, family=socket.AF_UNSPEC), 1.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return True


async def _local_domain(s: Any, domain: str) -> str:
    from postoffice.errors import Kind

    domain = domain.lower().rstrip(".")
    if not await s.mail.is_local_domain(domain):
        raise MailError(Kind.NOT_FOUND, f"{domain} is not a local domain")
    return domain


async def _dkim_rotate(s: Any, args: argparse.Namespace, password: str | None) -> int:
    from postoffice.authn import DkimKeys

    domain = await _local_domain(s, args.domain)
    keys = await asyncio.to_thread(DkimKeys(s.config.dkim_dir).rotate, domain)
    print(f"; {domain} now signs with these keys; publish them, and keep the old selectors'")
    print("; records for a few days, until mail signed with the old keys has been delivered.")
    from postoffice.authn.records import txt_strings

    for key in keys:
        print(f"{key.selector}._domainkey.{domain}.\t3600\tIN\tTXT\t{txt_strings(key.public_record())}")
    return 0


async def _dns(s: Any, args: argparse.Namespace, password: str | None) -> int:
    from postoffice.authn import DkimKeys
    from postoffice.authn.records import domain_records

    domain = await _local_domain(s, args.domain)
    keys = await asyncio.to_thread(DkimKeys(s.config.dkim_dir).keys, domain)  # made on first need
    print("\n".join(domain_records(domain, s.config.hostname, keys)))
    return 0


async def _sizes(s: Any, entries: list[Any]) -> dict[int, int]:
    contents = await s.mail.get_contents([e.content_id for e in entries])
    return {cid: c.size for cid, c in contents.items()}


async def _queue_list(s: Any, args: argparse.Namespace, password: str | None) -> int:
    from postoffice.queue import admin

    entries = await admin.queue_of(s.mail).list_entries()
    sizes = await _sizes(s, entries)
    if args.json:
        print(admin.dumps([admin.entry_json(e, sizes.get(e.content_id)) for e in entries]))
    else:
        for e in entries:
            print(admin.format_entry(e, sizes.get(e.content_id)))
    return 0


async def _queue_show(s: Any, args: argparse.Namespace, password: str | None) -> int:
    from postoffice.queue import admin

    entry = await admin.queue_of(s.mail).get_entry(args.id)
    if entry is None:
        raise _not_found(args.id)
    sizes = await _sizes(s, [entry])
    print(admin.format_entry(entry, sizes.get(entry.content_id), detail=True))
    return 0


def _not_found(entry_id: int) -> MailError:
    from postoffice.errors import Kind

    return MailError(Kind.NOT_FOUND, f"no queue entry {entry_id}")


async def _queue_retry(s: Any, args: argparse.Namespace, password: str | None) -> int:
    from postoffice.queue import admin

    if (args.id is None) == (not args.all):
        raise _UsageError("queue retry needs an ID or --all (not both)")
    count = await admin.queue_of(s.mail).retry(None if args.all else args.id, s.mail.clock.now())
    print(f"{count} recipients due now")
    return 0


async def _queue_delete(s: Any, args: argparse.Namespace, password: str | None) -> int:
    from postoffice.queue import admin

    await admin.queue_of(s.mail).delete_entry(args.id)
    return 0


async def _queue_bounce(s: Any, args: argparse.Namespace, password: str | None) -> int:
    from postoffice.queue import admin

    count = await admin.bounce_entry(s.mail, s.config, args.id)
    print(f"{count} recipients returned to the sender")
    return 0


_HANDLERS: dict[tuple[str, str | None], Handler] = {
    ("queue", "list"): _queue_list,
    ("queue", "show"): _queue_show,
    ("queue", "retry"): _queue_retry,
    ("queue", "delete"): _queue_delete,
    ("queue", "bounce"): _queue_bounce,
    ("user", "add"): _user_add,
    ("user", "list"): _user_list,
    ("user", "del"): _user_del,
    ("user", "passwd"): _user_passwd,
    ("user", "quota"): _user_quota,
    ("alias", "add"): _alias_add,
    ("alias", "list"): _alias_list,
    ("alias", "del"): _alias_del,
    ("domain", "add"): _domain_add,
    ("domain", "list"): _domain_list,
    ("import", None): _import,
    ("export", None): _export,
    ("status", None): _status,
    ("dkim", "rotate"): _dkim_rotate,
    ("dns", None): _dns,
}
