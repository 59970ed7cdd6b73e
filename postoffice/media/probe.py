"""Media facts of one part, read with PyAV (FFmpeg's demuxers): container, codecs,
duration, bitrate and a keyframe index. Only packets are read (demuxing), never decoded.

Blocking: the caller runs it in a thread. The file is read once, from start to end, for
the index; a part FFmpeg cannot open gives None (it is then not media, whatever its
Content-Type claims).
"""

from __future__ import annotations

from typing import BinaryIO

import av
import av.error

from postoffice.media.containers import seekable_as_is
from postoffice.store.media import Cue, MediaFacts

__all__ = ["probe", "CUE_SPACING"]

CUE_SPACING = 1.0  # seconds: at most about one cue per second is kept (audio: every packet is a keyframe)


def probe(f: BinaryIO, blob_id: str, size: int, *, max_cues: int = 100_000) -> MediaFacts | None:
    """The facts of the media in ``f`` (``size`` octets), None when it is not media."""
    try:
        container = av.open(f, mode="r")
    except (av.error.FFmpegError, ValueError, OSError):
        return None
    try:
        audio = next((s for s in container.streams if s.type == "audio"), None)
        video = next((s for s in container.streams if s.type == "video" and not _is_cover_art(s)), None)
        if audio is None and video is None:
            return None
        indexed = video if video is not None else audio
        assert indexed is not None
        cues: list[Cue] = []
        last_end = 0.0
        try:
            for packet in container.demux(indexed):
                if packet.pts is None or packet.time_base is None:
                    continue
                start = float(packet.pts * packet.time_base)
                end = start + float((packet.duration or 0) * packet.time_base)
                last_end = max(last_end, end, start)
                if (
                    packet.is_keyframe
                    and len(cues) < max_cues
                    and (not cues or start >= cues[-1].seconds + CUE_SPACING)
                ):
                    cues.append(Cue(start, packet.pos if packet.pos is not None else -1))
        except (av.error.FFmpegError, ValueError):
            pass  # a damaged tail: what was read so far stands
        duration: float | None = None
        if container.duration is not None and container.duration > 0:
            duration = container.duration / av.time_base
        elif last_end > 0:
            duration = last_end  # no duration in the header (a browser's WebM recording): its packets say
        bitrate = int(container.bit_rate or 0)
        if bitrate <= 0 and duration:
            bitrate = int(size * 8 / duration)
        header_duration = container.duration is not None and container.duration > 0
        fmt = container.format.name
        f.seek(0)
        return MediaFacts(
            blob_id=blob_id,
            container=fmt,
            audio_codec=audio.codec_context.name if audio is not None else "",
            video_codec=video.codec_context.name if video is not None else "",
            duration=duration,
            bitrate=bitrate,
            cues=tuple(cues),
            seekable=header_duration and seekable_as_is(f, fmt, size),
        )
    finally:
        container.close()


def _is_cover_art(stream: av.stream.Stream) -> bool:
    """An attached picture (an MP3's or M4A's cover) is a 'video' stream of one frame."""
    return bool(stream.disposition & av.stream.Disposition.attached_pic)
