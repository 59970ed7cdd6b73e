"""Seekable renditions, made in the background after delivery, beside the untouched
original, deduplicated like any blob and kept by the garbage collector while their
part lives."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import av
import pytest
from media_helpers import DOMAIN, media_mail  # noqa: I001  (the folder is on sys.path)

from postoffice.app import Services
from postoffice.mail.auth import fast_hasher
from postoffice.mail.media import PartMedia
from postoffice.media.containers import mp4_top_boxes
from postoffice.store.media import MediaFacts, Rendition

CUES_ID = bytes.fromhex("1C53BB6B")  # Matroska Cues element (RFC 9559)


async def deliver_and_settle(services: Services, data: bytes, content_type: str, user: str = "alice") -> tuple[PartMedia, bytes]:
    result = await services.mail.deliver(media_mail(data, content_type), [f"{user}@{DOMAIN}"])
    assert services.mail.media is not None
    await services.mail.media.settle()
    content = await services.mail.get_content(result.content_id)
    (part,) = (await services.mail.media.media_of(content)).parts
    return part, await services.mail.read_part(content, "2")


@pytest.fixture
async def alice(services: Services) -> Services:
    services.mail.auth.hasher = fast_hasher()
    await services.mail.add_user(f"alice@{DOMAIN}", "pw")
    return services


async def test_streamed_webm_gets_duration_and_cues_by_copy(alice: Services, recorder_like_webm: Path) -> None:
    original = await asyncio.to_thread(recorder_like_webm.read_bytes)
    assert CUES_ID not in original  # a browser cannot seek in it
    part, served = await deliver_and_settle(alice, original, "video/webm")
    assert served == original  # the original is untouched (IMAP, POP3, downloads)
    assert part.facts is not None and not part.facts.seekable and part.duration is not None
    assert part.rendition is not None and part.rendition.media_type == "video/webm"
    made = alice.blobs.read(part.rendition.blob_id)
    assert CUES_ID in made
    with av.open(io.BytesIO(made)) as c:
        assert c.duration is not None and abs(c.duration / av.time_base - 10) < 0.2
        assert c.streams.video[0].codec_context.name == "vp8"  # copied, not re-encoded
        packets_in = sum(1 for p in c.demux(c.streams.video[0]) if p.dts is not None)
    with av.open(io.BytesIO(original)) as c:
        assert packets_in == sum(1 for p in c.demux(c.streams.video[0]) if p.dts is not None)


async def test_mp4_gets_its_index_first(alice: Services, media_dir: Path) -> None:
    original = (media_dir / "clip.mp4").read_bytes()
    boxes = mp4_top_boxes(io.BytesIO(original), len(original))
    assert boxes.index("moov") > boxes.index("mdat")  # ffmpeg's default: the index at the end
    part, served = await deliver_and_settle(alice, original, "video/mp4")
    assert served == original
    assert part.rendition is not None and part.rendition.media_type == "video/mp4"
    media = alice.mail.media
    assert media is not None
    size = await media.rendition_size(part.rendition)
    made = await media.read_rendition(part.rendition, 0, size)
    boxes = mp4_top_boxes(io.BytesIO(made), len(made))
    assert boxes.index("moov") < boxes.index("mdat")
    # The media data are shared with the original, not copied: the rendition's own blob
    # is its head (ftyp and the index): 5% of this small clip, well under 1% of a long one.
    assert size == len(original) and alice.blobs.size(part.rendition.blob_id) * 10 < len(original)
    # Every packet is where the moved index says: the same packets, in the same order.
    with av.open(io.BytesIO(made)) as c, av.open(io.BytesIO(original)) as o:
        got = [(p.stream.index, p.pts, bytes(p)) for p in c.demux() if p.dts is not None]
        want = [(p.stream.index, p.pts, bytes(p)) for p in o.demux() if p.dts is not None]
        assert got == want and len(got) > 250
    # A range across the head and the shared data is a read of that range.
    head = alice.blobs.size(part.rendition.blob_id)
    assert await media.read_rendition(part.rendition, head - 100, 300) == made[head - 100 : head + 200]


async def test_wav_voice_mail_gets_a_small_opus_rendition(alice: Services, media_dir: Path) -> None:
    original = (media_dir / "voice.wav").read_bytes()
    part, served = await deliver_and_settle(alice, original, "audio/wav")
    assert served == original and part.rendition is not None and part.rendition.media_type == "audio/webm"
    made = alice.blobs.read(part.rendition.blob_id)
    assert len(made) * 5 < len(original)
    with av.open(io.BytesIO(made)) as c:
        assert c.streams.audio[0].codec_context.name == "opus"
        assert c.duration is not None and part.facts is not None and part.facts.duration is not None
        assert abs(c.duration / av.time_base - part.facts.duration) < 0.1


async def test_seekable_original_gets_no_copy(alice: Services, media_dir: Path) -> None:
    part, _ = await deliver_and_settle(alice, (media_dir / "clip.webm").read_bytes(), "video/webm")
    assert part.facts is not None and part.facts.seekable and part.rendition is None


@pytest.mark.parametrize("name", ["clip.webm", "clip.mp4"])
async def test_fifty_mailboxes_store_the_part_and_its_rendition_once(services: Services, media_dir: Path, name: str) -> None:
    services.mail.auth.hasher = fast_hasher()
    original = (media_dir / name).read_bytes()
    for n in range(50):
        await services.mail.add_user(f"user{n}@{DOMAIN}", "pw")
    before = services.blobs.total_size()
    rendition_size = 0
    for n in range(50):
        part, _ = await deliver_and_settle(services, original, "video/mp4" if name.endswith("mp4") else "video/webm", f"user{n}")
        if part.rendition is not None:
            rendition_size = services.blobs.size(part.rendition.blob_id)
    grown = services.blobs.total_size() - before
    # The decoded part once, its rendition (if it needs one) once; nothing per mailbox;
    # the MP4's index-first rendition shares its media data with the part.
    assert grown <= 1.01 * (len(original) + rendition_size)
    assert rendition_size * 10 < len(original)  # its head: the index of this small clip, not a copy
    assert (rendition_size == 0) is name.endswith("webm")  # that WebM seeks as it is


async def test_garbage_collector_keeps_a_live_rendition_and_drops_a_dead_one(alice: Services, media_dir: Path) -> None:
    part, _ = await deliver_and_settle(alice, (media_dir / "clip.mp4").read_bytes(), "video/mp4")
    assert part.rendition is not None
    await alice.mail.collect_garbage(grace=0)
    assert alice.blobs.exists(part.rendition.blob_id) and alice.blobs.exists(part.blob_id)
    account = await alice.mail.get_account(f"alice@{DOMAIN}")
    assert account is not None
    inbox = await alice.mail.get_mailbox(account, "INBOX")
    await alice.mail.expunge(inbox, [r.uid for r in await alice.mail.list_messages(inbox)])
    await alice.mail.collect_garbage(grace=0)
    assert not alice.blobs.exists(part.rendition.blob_id) and not alice.blobs.exists(part.blob_id)


async def test_the_same_recording_delivered_at_once_is_probed_and_remuxed_once(services: Services, media_dir: Path) -> None:
    services.mail.auth.hasher = fast_hasher()
    for n in range(8):
        await services.mail.add_user(f"user{n}@{DOMAIN}", "pw")
    assert services.mail.media is not None
    media = services.mail.media
    made: list[str] = []
    render = media._render

    def counting(facts: MediaFacts) -> Rendition | None:
        made.append(facts.blob_id)
        return render(facts)

    media._render = counting  # type: ignore[method-assign]
    message = media_mail((media_dir / "clip.mp4").read_bytes(), "video/mp4")
    # Eight separate deliveries of one attachment, all stored before any probe ends.
    await asyncio.gather(*(services.mail.deliver(message, [f"user{n}@{DOMAIN}"]) for n in range(8)))
    await media.settle()
    assert len(made) == 1  # one remux per content hash, not one per message
