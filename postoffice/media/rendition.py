"""Seekable renditions of media parts, made with PyAV, blocking (run in a thread).

- A WebM or Matroska part (a browser's MediaRecorder writes neither Duration nor Cues)
  is remuxed, packets copied, never re-encoded, into a WebM file that has both: the
  muxer writes them when its output can seek.
- An MP4/QuickTime part (often with its index, the ``moov`` box, at the end) is remuxed
  into an MP4 with the index first (``movflags=+faststart``), packets copied.
- PCM audio (WAV voice mail) becomes a small Opus-in-WebM rendition for playing.

The original part is never changed: IMAP, POP3 and downloads serve it as received.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

import av
import av.error
from av.audio.resampler import AudioResampler

from postoffice.store.media import MediaFacts

__all__ = ["Plan", "plan_for", "make_rendition", "OPUS_BITRATE"]

OPUS_BITRATE = 32_000  # bits/s: speech in Opus is clear well below this
_WEBM_CODECS = frozenset({"vp8", "vp9", "av1", "opus", "vorbis"})
_MP4_CODECS = frozenset({"h264", "hevc", "av1", "aac", "mp3", "opus", "alac", "mpeg4"})


@dataclass(frozen=True, slots=True)
class Plan:
    format: str  # the muxer: "webm" or "mp4"
    media_type: str  # what the rendition is served as
    transcode_to_opus: bool  # PCM audio: decoded and encoded (the only case that is not a copy)


def plan_for(facts: MediaFacts) -> Plan | None:
    """What rendition a part gets, None when it plays as it is or cannot be remuxed."""
    if facts.seekable:
        return None  # already plays from its start and seeks: no copy is made
    codecs = {c for c in (facts.audio_codec, facts.video_codec) if c}
    if not codecs:
        return None
    kind = "video" if facts.video_codec else "audio"
    if facts.container == "wav" or (not facts.video_codec and facts.audio_codec.startswith("pcm_")):
        return Plan("webm", "audio/webm", True)
    if "webm" in facts.container.split(",") or "matroska" in facts.container.split(","):
        return Plan("webm", f"{kind}/webm", False) if codecs <= _WEBM_CODECS else None
    if "mp4" in facts.container.split(",") or "mov" in facts.container.split(","):
        return Plan("mp4", f"{kind}/mp4", False) if codecs <= _MP4_CODECS else None
    return None


def make_rendition(src: BinaryIO, dst: str, plan: Plan) -> bool:
    """Write the rendition of ``src`` to the file ``dst``; False when FFmpeg cannot."""
    options = {"movflags": "+faststart"} if plan.format == "mp4" else {}
    try:
        with av.open(src, mode="r") as inp, av.open(dst, mode="w", format=plan.format, options=options) as out:
            if plan.transcode_to_opus:
                _opus(inp, out)
            else:
                _copy(inp, out)
    except (av.error.FFmpegError, ValueError, StopIteration):
        return False
    return True


def _copy(inp: av.container.InputContainer, out: av.container.OutputContainer) -> None:
    streams = [
        s
        for s in inp.streams
        if s.type in ("audio", "video") and not s.disposition & av.stream.Disposition.attached_pic
    ]
    mapping = {s.index: out.add_stream_from_template(s) for s in streams}
    for packet in inp.demux(streams):
        if packet.dts is None:  # the demuxer's flush packet
            continue
        packet.stream = mapping[packet.stream.index]
        out.mux(packet)


def _opus(inp: av.container.InputContainer, out: av.container.OutputContainer) -> None:
    source = next(s for s in inp.streams if s.type == "audio")
    opus = out.add_stream("libopus", rate=48000, layout="mono")
    opus.bit_rate = OPUS_BITRATE
    resampler = AudioResampler(format="s16", layout="mono", rate=48000)
    for frame in inp.decode(source):
        assert isinstance(frame, av.AudioFrame)
        for resampled in resampler.resample(frame):
            out.mux(opus.encode(resampled))
    for resampled in resampler.resample(None):
        out.mux(opus.encode(resampled))
    out.mux(opus.encode(None))
