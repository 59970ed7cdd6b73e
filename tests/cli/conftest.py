"""Fixtures for running the command line in-process on a temporary data dir."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from postoffice.cli import main
from postoffice.testing.serve import free_port


@dataclass
class Result:
    code: int
    out: str
    err: str


def write_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "postoffice.toml"
    path.write_text(
        f'hostname = "mail.example.test"\n'
        f'data_dir = "{tmp_path / "data"}"\n'
        f'domains = ["example.test"]\n'
        f"{extra}"
        f"[listen]\n"
        f'imap = "127.0.0.1:{free_port()}"\n'
    )
    return path


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[[str], Path]:
    """make_config(toml_text) writes a config file with a good data_dir and returns it."""
    return lambda extra="": write_config(tmp_path, extra)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture
def cli(config_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """cli("user", "list", stdin="...") runs main([--config FILE, ...]) and captures output."""

    def run(*args: str, stdin: str = "", config: Path | None = config_file) -> Result:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        argv = (["--config", str(config)] if config is not None else []) + list(args)
        code = main(argv)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
