"""The command line contract (docs/architecture.md §9): accounts, aliases, domains, config errors, status."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# ---- users -------------------------------------------------------------------------------


def test_user_add_list_del(cli) -> None:
    assert cli("user", "add", "alice@example.test", "--password-stdin", stdin="s3cret pass\n").code == 0
    assert cli("user", "add", "Bob@Example.TEST", "--password-stdin", stdin="pw\r\n").code == 0
    listed = cli("user", "list")
    assert listed.code == 0
    assert listed.out.splitlines() == ["alice@example.test", "bob@example.test"]
    assert cli("user", "del", "bob@example.test").code == 0
    assert cli("user", "list").out.splitlines() == ["alice@example.test"]


def test_password_from_stdin_excludes_line_end_and_passwd_changes_it(cli, config_file: Path) -> None:
    import asyncio

    from postoffice import app
    from postoffice.config import load_config

    assert cli("user", "add", "alice@example.test", "--password-stdin", stdin="first one\n").code == 0

    async def check(password: str) -> bool:
        async with app.services(load_config(config_file)) as s:
            try:
                await s.mail.auth.check_password("alice@example.test", password, "127.0.0.1")
            except Exception:
                return False
            return True

    def works(password: str) -> bool:
        return asyncio.run(check(password))

    if not hasattr(_services_probe(config_file), "auth"):
        pytest.skip("MailService.auth not available yet")
    assert works("first one")
    assert not works("first one\n")
    assert cli("user", "passwd", "alice@example.test", "--password-stdin", stdin="second\n").code == 0
    assert works("second")
    assert not works("first one")


def _services_probe(config_file: Path) -> object:
    import asyncio

    from postoffice import app
    from postoffice.config import load_config

    async def probe() -> object:
        async with app.services(load_config(config_file)) as s:
            return s.mail

    return asyncio.run(probe())


def test_config_after_the_command(cli, config_file: Path) -> None:
    assert cli("user", "add", "alice@example.test", "--password-stdin", stdin="pw\n").code == 0
    result = cli("user", "list", "--config", str(config_file), config=None)
    assert result.code == 0
    assert result.out.splitlines() == ["alice@example.test"]


@pytest.mark.parametrize(
    "argv",
    [
        ("user", "add", "alice@example.test", "--password-stdin"),  # duplicate
        ("user", "add", "carol@elsewhere.test", "--password-stdin"),  # unknown domain
        ("user", "add", "not-an-address", "--password-stdin"),  # malformed
        ("user", "del", "nobody@example.test"),  # not found
        ("user", "passwd", "nobody@example.test", "--password-stdin"),
    ],
)
def test_refused_user_operations_exit_1_with_one_line(cli, argv: tuple[str, ...]) -> None:
    assert cli("user", "add", "alice@example.test", "--password-stdin", stdin="pw\n").code == 0
    result = cli(*argv, stdin="pw\n")
    assert result.code == 1
    one_line(result.err)


def test_empty_password_is_refused(cli) -> None:
    result = cli("user", "add", "alice@example.test", "--password-stdin", stdin="\n")
    assert result.code == 2
    one_line(result.err)
    assert cli("user", "list").out == ""


# ---- domains and aliases ------------------------------------------------------------------


def test_domain_add_list(cli) -> None:
    assert cli("domain", "add", "other.test").code == 0
    assert set(cli("domain", "list").out.splitlines()) == {"example.test", "other.test"}
    assert cli("user", "add", "dave@other.test", "--password-stdin", stdin="pw\n").code == 0
    bad = cli("domain", "add", "not a domain")
    assert bad.code == 1
    one_line(bad.err)


def test_alias_add_list_del(cli) -> None:
    assert cli("user", "add", "alice@example.test", "--password-stdin", stdin="pw\n").code == 0
    assert cli("alias", "add", "sales@example.test", "alice@example.test").code == 0
    lines = cli("alias", "list").out.splitlines()
    assert "sales@example.test alice@example.test" in lines
    assert cli("alias", "del", "sales@example.test").code == 0
    assert "sales@example.test alice@example.test" not in cli("alias", "list").out.splitlines()
    missing = cli("alias", "del", "sales@example.test")
    assert missing.code == 1
    one_line(missing.err)


# ---- configuration errors: exit 2, one line naming the file and the key -------------------


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('colour = "blue"\n', "colour"),
        ('[listen]\nsmtp = "127.0.0.1:99999"\n', "listen.smtp"),
        ('[listen]\nsmtp = "nonsense"\n', "listen.smtp"),
        ('[tls]\ncert = "missing-cert.pem"\nkey = "missing-key.pem"\n', "tls.cert"),
        ("[limits.smtp]\nmax_message_size = \"lots\"\n", "limits.smtp.max_message_size"),
        ('hostname = "unterminated\n', "line 1"),
    ],
)
def test_bad_config_exits_2_with_one_line(cli, tmp_path: Path, toml: str, key: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    result = cli("user", "list", config=path)
    assert result.code == 2
    line = one_line(result.err)
    assert str(path) in line
    assert key in line


def test_missing_config_file_exits_2(cli, tmp_path: Path) -> None:
    result = cli("status", config=tmp_path / "nope.toml")
    assert result.code == 2
    assert "nope.toml" in one_line(result.err)


# ---- status ---------------------------------------------------------------------------------


def test_status_reports_counts_and_listeners(cli, config_file: Path) -> None:
    assert cli("user", "add", "alice@example.test", "--password-stdin", stdin="pw\n").code == 0
    result = cli("status")
    assert result.code == 0
    lines = result.out.splitlines()
    assert "users: 1" in lines
    assert "domains: 1" in lines
    assert "messages: 0" in lines
    assert any(line.startswith("listener imap ") and line.endswith(" not listening") for line in lines)
    # Something listening on the configured port is reported as such.
    port = int(next(line for line in lines if line.startswith("listener imap ")).split()[2].rsplit(":", 1)[1])
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen()
        lines = cli("status").out.splitlines()
    assert any(line.startswith("listener imap ") and line.endswith(" listening") and "not" not in line for line in lines)


# ---- the installed script ---------------------------------------------------------------------


def test_installed_script(make_config: Callable[[str], Path]) -> None:
    config = make_config("")
    script = ROOT / ".venv" / "bin" / "postoffice"
    env = dict(os.environ)
    added = subprocess.run(
        [str(script), "user", "add", "erin@example.test", "--password-stdin", "--config", str(config)],
        input="pw\n", capture_output=True, text=True, timeout=120, env=env,
    )
    assert added.returncode == 0, added.stderr
    listed = subprocess.run([str(script), "--config", str(config), "user", "list"], capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == ["erin@example.test"]
    bad = subprocess.run([str(script), "--config", str(config), "user", "add", "x@nowhere.test", "--password-stdin"],
                         input="pw\n", capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    one_line(bad.stderr)
