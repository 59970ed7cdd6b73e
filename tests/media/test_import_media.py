"""Media of imported mail (``postoffice import``) are probed and get their renditions
like those of delivered mail: the command waits for them before it exits."""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path

import pytest
from media_helpers import media_mail  # noqa: I001  (the folder is on sys.path)

from postoffice.cli import main
from postoffice.mail import maildir
from postoffice.mail.media import MessageMedia
from postoffice.testing.serve import free_port


async def _media_of_inbox(config_file: Path, address: str) -> list[MessageMedia]:
    from postoffice import app
    from postoffice.config import load_config

    async with app.services(load_config(config_file)) as s:
        assert s.mail.media is not None
        account = await s.mail.get_account(address)
        assert account is not None
        records = await s.mail.list_messages(await s.mail.get_mailbox(account, "INBOX"))
        return [await s.mail.media.media_of(await s.mail.get_content(r.content_id)) for r in records]


def test_imported_media_are_probed_and_get_renditions(
    tmp_path: Path, media_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file = tmp_path / "postoffice.toml"
    config_file.write_text(
        f'hostname = "mail.example.test"\ndata_dir = "{tmp_path / "data"}"\ndomains = ["example.test"]\n'
        f'[listen]\nimap = "127.0.0.1:{free_port()}"\n'
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO("pw\n"))
    assert main(["--config", str(config_file), "user", "add", "alice@example.test", "--password-stdin"]) == 0
    box = tmp_path / "Maildir"
    maildir.ensure_maildir(box)
    # An MP4 with its index last (cannot start early: gets an index-first copy) and a WAV.
    (box / "cur" / "1.host:2,S").write_bytes(media_mail((media_dir / "clip.mp4").read_bytes(), "video/mp4"))
    (box / "cur" / "2.host:2,").write_bytes(media_mail((media_dir / "voice.wav").read_bytes(), "audio/wav"))
    capsys.readouterr()
    assert main(["--config", str(config_file), "import", str(box), "--user", "alice@example.test"]) == 0
    assert "imported 2" in capsys.readouterr().out
    found = asyncio.run(_media_of_inbox(config_file, "alice@example.test"))
    by_kind = {m.parts[0].kind: m.parts[0] for m in found}
    video, audio = by_kind["video"], by_kind["audio"]
    assert video.facts is not None and video.facts.video_codec == "h264" and video.duration is not None
    assert video.rendition is not None and video.rendition.media_type == "video/mp4"
    assert audio.facts is not None and audio.rendition is not None and audio.rendition.media_type == "audio/webm"
