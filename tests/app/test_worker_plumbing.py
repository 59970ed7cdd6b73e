"""The pieces of ``serve``'s SMTP worker processes that need no process: the ``[server]``
config key, the wire form of a Change between processes, and the forwarding bus."""

from __future__ import annotations

import asyncio
import os
import threading
import tomllib
from pathlib import Path

import pytest

from postoffice.cli import main
from postoffice.config import Config, ConfigError, ServerConfig, config_from_dict
from postoffice.store.api import CHANGE_ORIGIN, Change
from postoffice.store.bus import ForwardingChangeBus, HubChangeBus, InProcessChangeBus, decode_change, encode_change


def test_processes_defaults_to_one_per_core() -> None:
    assert Config().server.process_count() == max(1, min(os.cpu_count() or 1, 64))
    assert ServerConfig(processes=0).process_count() == max(1, min(os.cpu_count() or 1, 64))
    assert config_from_dict({"server": {"processes": 1}}).server.process_count() == 1
    assert config_from_dict({"server": {"processes": 64}}).server.process_count() == 64
    assert ServerConfig(processes=3).process_count() == 3


def test_smtp_processes_is_read_as_processes_with_a_deprecation_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="postoffice.config"):
        assert config_from_dict({"server": {"smtp_processes": 3}}).server.process_count() == 3
        assert config_from_dict({"server": {"smtp-processes": 2}}).server.process_count() == 2
    assert sum("deprecated" in r.getMessage() and "server.processes" in r.getMessage() for r in caplog.records) == 2
    with pytest.raises(ConfigError, match="server.smtp_processes"):
        config_from_dict({"server": {"smtp_processes": 2, "processes": 2}})


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[server]\nprocesses = -1\n", "server.processes"),
        ('[server]\nprocesses = "two"\n', "server.processes"),
        ("[server]\nprocesses = true\n", "server.processes"),
        ("[server]\nprocesses = 1.5\n", "server.processes"),
        ("[server]\nprocesses = 65\n", "server.processes"),
        ("[server]\nsmtp_processes = 65\n", "server.processes"),
        ("[server]\nworkers = 2\n", "server.workers"),
        ('server = "big"\n', "server"),
    ],
)
def test_bad_server_values_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, key: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError):
        config_from_dict(tomllib.loads(toml), source=str(path))
    assert main(["--config", str(path), "status"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert str(path) in err and key in err


@pytest.mark.parametrize(
    "change",
    [
        Change(1, 10, "append", 5, (1,)),
        Change(7, None, "mailbox"),
        Change(2, 3, "expunge", 99, tuple(range(1000))),
        Change(2, 3, "flags", 1, ()),
        Change(2, 3, "metadata"),  # RFC 5465 MailboxMetadataChange
        Change(2, None, "metadata"),  # ... and ServerMetadataChange
    ],
)
def test_change_wire_form_round_trips_on_one_line(change: Change) -> None:
    line = encode_change(change)
    assert b"\n" not in line and b"\r" not in line
    assert decode_change(line) == change


def test_the_origin_of_a_change_stays_in_its_process() -> None:
    # A session's own changes (RFC 5465 §5) are told apart by origin; a change from
    # another process is nobody's own, whatever origin it had there.
    token = CHANGE_ORIGIN.set(42)
    try:
        change = Change(1, 10, "append", 5, (1,))
        assert change.origin == 42
        assert decode_change(encode_change(change)).origin is None
    finally:
        CHANGE_ORIGIN.reset(token)
    assert Change(1, 10, "append").origin is None


@pytest.mark.parametrize(
    "line", [b"", b"nonsense", b"[1,2]", b'[1,2,"burn",0,[]]', b'[1,2,"append",0,["x"]]', b'[true,2,"append",0,[]]']
)
def test_bad_change_lines_are_refused(line: bytes) -> None:
    with pytest.raises(ValueError):
        decode_change(line)


async def test_forwarding_bus_publishes_locally_and_forwards_in_order() -> None:
    sent: list[bytes] = []
    bus = ForwardingChangeBus(lambda c: sent.append(encode_change(c)))
    sub = bus.subscribe(1)
    changes = [Change(1, 10, "append", n, (n,)) for n in range(1, 6)]
    for c in changes:
        bus.publish(c)
    assert sub.pending() == changes
    assert [decode_change(line) for line in sent] == changes
    # On the main side, a decoded change reaches the main's subscribers.
    main_bus = InProcessChangeBus()
    main_sub = main_bus.subscribe(1)
    for line in sent:
        main_bus.publish(decode_change(line))
    assert main_sub.pending() == changes


async def test_a_forwarding_failure_never_reaches_the_publisher() -> None:
    def broken(change: Change) -> None:
        raise BrokenPipeError

    bus = ForwardingChangeBus(broken)
    sub = bus.subscribe(1)
    bus.publish(Change(1, 1, "append", 1, (1,)))  # no exception
    assert sub.pending() == [Change(1, 1, "append", 1, (1,))]
    assert bus.failed == 1


async def test_forwarding_from_other_threads_keeps_each_threads_order() -> None:
    sent: list[Change] = []
    lock = threading.Lock()

    def forward(change: Change) -> None:
        with lock:
            sent.append(change)

    bus = ForwardingChangeBus(forward)

    def publisher(account: int) -> None:
        for n in range(200):
            bus.publish(Change(account, 1, "append", n, (n,)))

    threads = [threading.Thread(target=publisher, args=(a,)) for a in (1, 2, 3)]
    for t in threads:
        t.start()
    await asyncio.to_thread(lambda: [t.join() for t in threads])
    for account in (1, 2, 3):
        assert [c.modseq for c in sent if c.account_id == account] == list(range(200))


async def test_hub_and_workers_deliver_every_change_once_in_every_process() -> None:
    """A main hub and two worker buses wired as ``serve`` wires them (the pipes replaced
    by lists): a change published in any process reaches the subscribers of every
    process exactly once."""
    hub = HubChangeBus()
    to_main: dict[int, list[bytes]] = {1: [], 2: []}
    workers = {i: ForwardingChangeBus(lambda c, i=i: to_main[i].append(encode_change(c))) for i in (1, 2)}
    to_worker: dict[int, list[bytes]] = {1: [], 2: []}
    for i in (1, 2):
        hub.attach(i, to_worker[i].append)

    def pump() -> None:  # what the pool's readers and the workers' watchdogs do
        for i in (1, 2):
            for line in to_main[i]:
                hub.publish_from(i, decode_change(line))
            to_main[i].clear()
        for i in (1, 2):
            for line in to_worker[i]:
                assert line.endswith(b"\n")
                workers[i].receive(decode_change(line.rstrip(b"\n")))
            to_worker[i].clear()

    subs = {"main": hub.subscribe(7), "w1": workers[1].subscribe(7), "w2": workers[2].subscribe(7)}
    published = [Change(7, 1, "append", 1, (1,)), Change(7, 1, "flags", 2, (1,)), Change(7, 1, "expunge", 3, (1,))]
    hub.publish(published[0])
    workers[1].publish(published[1])
    workers[2].publish(published[2])
    pump()
    for name, sub in subs.items():
        assert sorted(sub.pending(), key=lambda c: c.modseq) == published, name
    hub.detach(2)
    hub.publish(Change(7, 1, "append", 4, (2,)))
    pump()
    assert [c.modseq for c in subs["w1"].pending()] == [4]
    assert subs["w2"].pending() == []
