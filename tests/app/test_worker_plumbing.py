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
from postoffice.store.api import Change
from postoffice.store.bus import ForwardingChangeBus, InProcessChangeBus, decode_change, encode_change


def test_smtp_processes_defaults_to_one_and_0_means_one_per_core_at_most_8() -> None:
    assert Config().server.smtp_process_count() == 1
    assert ServerConfig(smtp_processes=0).smtp_process_count() == max(1, min(os.cpu_count() or 1, 8))
    assert config_from_dict({"server": {"smtp_processes": 1}}).server.smtp_process_count() == 1
    assert config_from_dict({"server": {"smtp-processes": 12}}).server.smtp_process_count() == 12
    assert ServerConfig(smtp_processes=3).smtp_process_count() == 3


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[server]\nsmtp_processes = -1\n", "server.smtp_processes"),
        ('[server]\nsmtp_processes = "two"\n', "server.smtp_processes"),
        ("[server]\nsmtp_processes = true\n", "server.smtp_processes"),
        ("[server]\nsmtp_processes = 1.5\n", "server.smtp_processes"),
        ("[server]\nsmtp_processes = 65\n", "server.smtp_processes"),
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
    ],
)
def test_change_wire_form_round_trips_on_one_line(change: Change) -> None:
    line = encode_change(change)
    assert b"\n" not in line and b"\r" not in line
    assert decode_change(line) == change


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
