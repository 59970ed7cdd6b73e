"""Media facts at ingestion: probed in the background after delivery, stored once per
blob, combined with the headers a voice or video message carries."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest
from media_helpers import DOMAIN, media_mail  # noqa: I001  (the folder is on sys.path)

from postoffice.app import Services
from postoffice.store.media import MediaFacts


async def test_voice_mail_facts_and_headers(services: Services, media_dir: Path) -> None:
    await services.mail.add_user(f"alice@{DOMAIN}", "pw")
    wav = (media_dir / "voice.wav").read_bytes()
    message = media_mail(
        wav, "audio/wav", extra_headers=b"Message-Context: voice-message\r\nX-VoiceMessageDuration: 4\r\n",
        part_headers=b"Content-Duration: 4\r\n",
    )
    result = await services.mail.deliver(message, [f"alice@{DOMAIN}"])
    assert services.mail.media is not None
    await services.mail.media.settle()
    content = await services.mail.get_content(result.content_id)
    media = await services.mail.media.media_of(content)
    assert media.context == "voice-message" and media.voice_duration == 4
    (part,) = media.parts
    assert (part.section, part.kind, part.declared_duration) == ("2", "audio", 4)
    assert part.facts is not None and part.facts.container == "wav" and part.facts.audio_codec == "pcm_s16le"
    assert part.duration is not None and 2 < part.duration < 10


async def test_facts_probed_once_per_blob_for_every_mailbox(services: Services, media_dir: Path) -> None:
    for user in ("alice", "bob"):
        await services.mail.add_user(f"{user}@{DOMAIN}", "pw")
    assert services.mail.media is not None
    store = services.mail.media.facts
    puts: list[MediaFacts] = []
    original = store.put_media_facts

    async def counting(facts: MediaFacts) -> None:
        puts.append(facts)
        await original(facts)

    store.put_media_facts = counting  # type: ignore[method-assign]
    message = media_mail((media_dir / "clip.webm").read_bytes(), "video/webm")
    await services.mail.deliver(message, [f"alice@{DOMAIN}"])
    await services.mail.media.settle()
    result = await services.mail.deliver(message, [f"bob@{DOMAIN}"])  # the same recording again
    await services.mail.media.settle()
    assert len(puts) == 1 and puts[0].video_codec == "vp8" and puts[0].duration is not None
    media = await services.mail.media.media_of(await services.mail.get_content(result.content_id))
    assert media.context is None and media.parts[0].facts == puts[0]


async def test_a_part_ffmpeg_cannot_read_has_no_facts_but_is_stored(services: Services) -> None:
    await services.mail.add_user(f"alice@{DOMAIN}", "pw")
    message = media_mail(b"not really a video " * 10_000, "video/mp4", part_headers=b"Content-Duration: 12\r\n")
    result = await services.mail.deliver(message, [f"alice@{DOMAIN}"])
    assert services.mail.media is not None
    await services.mail.media.settle()
    content = await services.mail.get_content(result.content_id)
    (part,) = (await services.mail.media.media_of(content)).parts
    assert part.facts is None and part.duration == 12.0  # the header still tells the duration
    assert await services.mail.read_part(content, "2", 0, 19) == b"not really a video "


async def test_outlook_voice_message_duration_when_nothing_else_tells_it(services: Services) -> None:
    await services.mail.add_user(f"alice@{DOMAIN}", "pw")
    # As Outlook / Exchange unified messaging writes a voice mail: no Content-Duration on
    # the part; here FFmpeg cannot read the part either, so no probe gives a duration.
    message = media_mail(b"not really a voice " * 10_000, "audio/wav", extra_headers=b"X-VoiceMessageDuration: 37\r\n")
    result = await services.mail.deliver(message, [f"alice@{DOMAIN}"])
    assert services.mail.media is not None
    await services.mail.media.settle()
    media = await services.mail.media.media_of(await services.mail.get_content(result.content_id))
    (part,) = media.parts
    assert media.context == "voice-message" and part.facts is None and part.duration == 37.0


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="Debian's espeak-ng is not installed (make test-deps)")
async def test_a_short_recording_is_its_own_blob_and_is_probed(services: Services, tmp_path: Path) -> None:
    await services.mail.add_user(f"alice@{DOMAIN}", "pw")
    path = tmp_path / "yes.wav"
    await asyncio.to_thread(subprocess.run, ["espeak-ng", "-w", str(path), "Yes."], check=True, capture_output=True)
    wav = path.read_bytes()
    assert 4096 <= len(wav) < services.config.limits.message.part_store_threshold  # smaller than other parts need
    result = await services.mail.deliver(media_mail(wav, "audio/wav"), [f"alice@{DOMAIN}"])
    assert services.mail.media is not None
    await services.mail.media.settle()
    content = await services.mail.get_content(result.content_id)
    (part,) = (await services.mail.media.media_of(content)).parts
    assert part.blob_id and part.facts is not None and part.rendition is not None
    assert await services.mail.read_part(content, "2") == wav
