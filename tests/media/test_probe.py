"""Media facts read with PyAV from real files made by ffmpeg and espeak-ng."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from postoffice.media.probe import probe


@pytest.mark.parametrize(
    ("name", "container", "audio", "video"),
    [("clip.webm", "matroska,webm", "opus", "vp8"), ("clip.mp4", "mov,mp4,m4a,3gp,3g2,mj2", "aac", "h264"),
     ("voice.wav", "wav", "pcm_s16le", "")],
)
def test_facts(media_dir: Path, name: str, container: str, audio: str, video: str) -> None:
    path = media_dir / name
    with path.open("rb") as f:
        facts = probe(f, "b" * 64, path.stat().st_size)
    assert facts is not None
    assert (facts.container, facts.audio_codec, facts.video_codec) == (container, audio, video)
    assert facts.duration is not None and facts.bitrate > 0
    if video:
        assert abs(facts.duration - 10) < 0.2
        # a keyframe every second (-g 25 at 25 frames/s), each at an octet of the file
        assert len(facts.cues) >= 9 and all(0 <= c.offset < path.stat().st_size for c in facts.cues)
    times = [c.seconds for c in facts.cues]
    assert times == sorted(times) and times[0] < 0.5


def test_not_media_is_none() -> None:
    assert probe(io.BytesIO(b"%PDF-1.7 nothing to play here\n" * 100), "c" * 64, 3000) is None


def test_faststart_only_for_an_mp4_with_its_index_last(media_dir: Path) -> None:
    from postoffice.media.containers import mp4_faststart

    data = (media_dir / "clip.mp4").read_bytes()
    moved = mp4_faststart(io.BytesIO(data), len(data))
    assert moved is not None and moved.head.startswith(data[:4]) and b"moov" in moved.head[:64]
    rebuilt = moved.head + b"".join(data[o : o + n] for o, n in moved.spans)
    assert len(rebuilt) == len(data)
    # Index first already, truncated, or not an MP4: nothing to move (FFmpeg decides).
    assert mp4_faststart(io.BytesIO(rebuilt), len(rebuilt)) is None
    assert mp4_faststart(io.BytesIO(data[:-1000]), len(data) - 1000) is None
    webm = (media_dir / "clip.webm").read_bytes()
    assert mp4_faststart(io.BytesIO(webm), len(webm)) is None
