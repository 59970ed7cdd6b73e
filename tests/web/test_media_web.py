"""Audio and video in the webmail, in process: the players on the message page, the
media endpoint (rendition when ready, else the original; ranged), the position kept per
user and part, and $Played at 90%."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from postoffice.app import Services
from postoffice.web.app import WebApp

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "media"))

from media_helpers import media_mail  # noqa: E402
from web_helpers import DOMAIN, csrf_of, sign_in  # noqa: E402

pytestmark = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("espeak-ng") is None,
    reason="Debian's ffmpeg and espeak-ng are not installed (make test-deps)",
)


def speech(tmp: Path) -> bytes:
    path = tmp / "voice.wav"
    subprocess.run(["espeak-ng", "-w", str(path), "Hello, please call me back about the meeting tomorrow."], check=True, capture_output=True)
    return path.read_bytes()


async def deliver_voice(services: Services, wav: bytes) -> int:
    message = media_mail(
        wav, "audio/wav", extra_headers=b"Message-Context: voice-message\r\nX-VoiceMessageDuration: 4\r\n"
    )
    uid = (await services.mail.deliver(message, [f"alice@{DOMAIN}"])).records[0].uid
    return uid


async def test_voice_message_player_rendition_and_position(
    alice: httpx.AsyncClient, webmail: tuple[WebApp, Services], tmp_path: Path
) -> None:
    _, services = webmail
    wav = await asyncio.to_thread(speech, tmp_path)
    uid = await deliver_voice(services, wav)
    media_url = f"/message/{uid}/media/2?folder=INBOX"
    # Before the rendition is ready the original plays (the probe runs in the background).
    first = await alice.get(media_url, headers={"Range": "bytes=0-3"})
    assert first.status_code == 206 and first.content in (b"RIFF", b"\x1a\x45\xdf\xa3")
    assert services.mail.media is not None
    await services.mail.media.settle()
    page = (await alice.get(f"/message/{uid}?folder=INBOX")).text
    assert re.search(r'<audio controls preload="metadata" src="/message/\d+/media/2\?folder=INBOX&amp;source=rendition"', page)
    assert 'class="badge voice"' in page
    duration = re.search(r'data-duration-text>(\d+:\d\d)<', page)
    assert duration is not None and duration.group(1) in ("0:03", "0:04", "0:05")
    listed = re.search(r"data-list-duration>(\d+:\d\d)<", (await alice.get("/folder/INBOX")).text)
    assert listed is not None and listed.group(1) == duration.group(1)  # in the list too
    # Now the small Opus rendition is served, ranged; the original stays at /part/.
    head = await alice.head(media_url)
    assert head.headers["content-type"] == "audio/webm" and int(head.headers["content-length"]) * 5 < len(wav)
    tail = await alice.get(media_url, headers={"Range": "bytes=-100"})
    assert tail.status_code == 206 and len(tail.content) == 100
    assert (await alice.get(f"/message/{uid}/part/2?folder=INBOX")).content == wav
    # A page rendered before the rendition existed keeps playing the original.
    pinned = await alice.get(media_url + "&source=original", headers={"Range": "bytes=0-3"})
    assert pinned.content == b"RIFF" and pinned.headers["content-type"] == "audio/wav"
    # The position is kept per user and part; 90% played sets $Played.
    csrf = await csrf_of(alice)
    position_url = f"/message/{uid}/media/2/position"
    assert (await alice.post(position_url, data={"csrf": csrf, "folder": "INBOX", "seconds": "1.5"})).status_code == 204
    page = (await alice.get(f"/message/{uid}?folder=INBOX")).text
    assert 'data-position="1.5"' in page
    account = await services.mail.get_account(f"alice@{DOMAIN}")
    assert account is not None
    inbox = await services.mail.get_mailbox(account, "INBOX")
    (record,) = await services.mail.get_messages(inbox, [uid])
    assert "$Played" not in record.flags
    assert (await alice.post(position_url, data={"csrf": csrf, "folder": "INBOX", "seconds": "99"})).status_code == 204
    (record,) = await services.mail.get_messages(inbox, [uid])
    assert "$Played" in record.flags
    # Refused: no form token, not a number, not a media part.
    assert (await alice.post(position_url, data={"folder": "INBOX", "seconds": "1"})).status_code == 403
    assert (await alice.post(position_url, data={"csrf": csrf, "folder": "INBOX", "seconds": "nan"})).status_code == 400
    assert (await alice.post(f"/message/{uid}/media/1/position", data={"csrf": csrf, "seconds": "1"})).status_code == 404


async def test_positions_are_per_user(webmail: tuple[WebApp, Services], alice: httpx.AsyncClient, tmp_path: Path) -> None:
    app, services = webmail
    wav = await asyncio.to_thread(speech, tmp_path)
    message = media_mail(wav, "audio/wav")
    result = await services.mail.deliver(message, [f"alice@{DOMAIN}", f"bob@{DOMAIN}"])
    assert services.mail.media is not None
    await services.mail.media.settle()
    uid_alice = next(r.uid for r in result.records)
    csrf = await csrf_of(alice)
    await alice.post(f"/message/{uid_alice}/media/2/position", data={"csrf": csrf, "folder": "INBOX", "seconds": "2"})
    from web_helpers import client_for

    async with client_for(app) as bob:
        assert (await sign_in(bob, "bob")).status_code == 303
        uids = [r.uid for r in result.records]
        pages = [(await bob.get(f"/message/{u}?folder=INBOX")) for u in uids]
        page = next(p.text for p in pages if p.status_code == 200)
        assert 'data-position="0.0"' in page


async def _sent_to_bob(alice: httpx.AsyncClient, services: Services, files: list[tuple[str, tuple[str, bytes, str]]]) -> bytes:
    form = {"csrf": await csrf_of(alice, "/compose"), "to": f"bob@{DOMAIN}", "subject": "listen", "body": ""}
    response = await alice.post("/send", data=form, files=files)
    assert response.status_code == 303, response.text
    bob = await services.mail.get_account(f"bob@{DOMAIN}")
    assert bob is not None
    (record,) = await services.mail.list_messages(await services.mail.get_mailbox(bob, "INBOX"))
    return await services.mail.read(await services.mail.get_content(record.content_id))


def _header_of(block: bytes, name: bytes) -> bytes | None:
    found = re.search(rb"(?im)^" + name + rb":[ \t]*([^\r\n]*)", block)
    return None if found is None else found.group(1).strip()


async def test_sent_voice_message_carries_content_duration_and_message_context(
    alice: httpx.AsyncClient, webmail: tuple[WebApp, Services], tmp_path: Path
) -> None:
    _, services = webmail
    wav = await asyncio.to_thread(speech, tmp_path)
    data = await _sent_to_bob(alice, services, [("attachment", ("call-me.wav", wav, "audio/wav"))])
    head, _, body = data.partition(b"\r\n\r\n")
    assert _header_of(head, b"Message-Context") == b"voice-message"  # RFC 3458
    audio_part = body[body.index(b"Content-Type: audio/wav"):]
    seconds = _header_of(audio_part.partition(b"\r\n\r\n")[0], b"Content-Duration")  # RFC 3803, on the part
    assert seconds is not None and int(seconds) in (3, 4, 5)
    # The recipient's player shows it before any probe, and the badge says voice message.
    assert services.mail.media is not None
    bob = await services.mail.get_account(f"bob@{DOMAIN}")
    assert bob is not None
    (record,) = await services.mail.list_messages(await services.mail.get_mailbox(bob, "INBOX"))
    media = await services.mail.media.media_of(await services.mail.get_content(record.content_id))
    assert media.context == "voice-message" and media.parts[0].declared_duration == int(seconds)


async def test_a_video_among_other_files_has_its_duration_but_no_message_context(
    alice: httpx.AsyncClient, webmail: tuple[WebApp, Services], tmp_path: Path
) -> None:
    _, services = webmail
    clip = tmp_path / "clip.webm"
    await asyncio.to_thread(
        subprocess.run,
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25", "-t", "3", "-c:v", "libvpx", str(clip)],
        check=True,
    )
    files = [("attachment", ("clip.webm", clip.read_bytes(), "video/webm")), ("attachment", ("notes.txt", b"notes", "text/plain"))]
    data = await _sent_to_bob(alice, services, files)
    head, _, body = data.partition(b"\r\n\r\n")
    assert _header_of(head, b"Message-Context") is None  # not a video message: a video among files
    video_part = body[body.index(b"Content-Type: video/webm"):].partition(b"\r\n\r\n")[0]
    assert _header_of(video_part, b"Content-Duration") == b"3"
    assert data.count(b"Content-Duration") == 1  # only the recording has a duration


async def test_declared_duration_shown_in_the_list_and_the_player_when_nothing_was_probed(
    alice: httpx.AsyncClient, webmail: tuple[WebApp, Services]
) -> None:
    _, services = webmail
    # As Outlook writes a voice mail, in a codec FFmpeg does not read here: the header
    # is all there is to tell its length.
    message = media_mail(b"not really a voice " * 5000, "audio/wav", extra_headers=b"X-VoiceMessageDuration: 75\r\n")
    uid = (await services.mail.deliver(message, [f"alice@{DOMAIN}"])).records[0].uid
    assert services.mail.media is not None
    await services.mail.media.settle()
    listed = re.search(r"data-list-duration>(\d+:\d\d)<", (await alice.get("/folder/INBOX")).text)
    assert listed is not None and listed.group(1) == "1:15"
    page = (await alice.get(f"/message/{uid}?folder=INBOX")).text
    shown = re.search(r"data-duration-text>(\d+:\d\d)<", page)
    assert shown is not None and shown.group(1) == "1:15" and 'class="badge voice"' in page
