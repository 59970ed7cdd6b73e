"""Benchmark: the same large attachment delivered to many mailboxes, and what the store
grows by, renditions included (issue 12: 100 MiB to 50 mailboxes grows it by at most
101 MiB).

Run::

    .venv/bin/python bench/media_dedup.py [--size 100MiB] [--mailboxes 50] [--kinds octets,mp4,wav]

For each kind of attachment, a fresh store (SQLite, files, fsync as configured) gets
``--mailboxes`` accounts, then the same message is delivered ``--mailboxes`` times, one
delivery per account (each one a whole ingestion: decoded, hashed, deduplicated), and
the media probes and renditions are let finish. Prints the growth of the data directory
(every file: database, WAL, blobs, renditions) and of the blob store, against the
attachment's size.

Kinds: ``octets`` random application/octet-stream; ``mp4`` H.264 + AAC with its index at
the end as ffmpeg writes it (gets an index-first rendition: a stream copy, about as large
as the original); ``wav`` espeak-ng speech, PCM 8 kHz (gets a small Opus rendition).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from postoffice import app  # noqa: E402
from postoffice.config import parse_size  # noqa: E402
from postoffice.mail.auth import fast_hasher  # noqa: E402
from postoffice.testing.server import build_config  # noqa: E402

MiB = 1024 * 1024


def run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, timeout=1800, capture_output=True)


def make_payload(kind: str, size: int, root: Path) -> tuple[bytes, str]:
    if kind == "octets":
        return os.urandom(size), "application/octet-stream"
    if kind == "mp4":
        clip, video = root / "clip.mp4", root / "video.mp4"
        run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25,noise=alls=40:allf=t",
             "-f", "lavfi", "-i", "sine=frequency=330", "-t", "20", "-c:v", "libx264", "-preset", "ultrafast",
             "-b:v", "8M", "-maxrate", "8M", "-bufsize", "4M", "-g", "50", "-c:a", "aac", str(clip)])  # fmt: skip
        loops = max(0, round(size / clip.stat().st_size) - 1)
        run(["ffmpeg", "-v", "error", "-y", "-stream_loop", str(loops), "-i", str(clip), "-c", "copy", str(video)])
        return video.read_bytes(), "video/mp4"
    if kind == "wav":
        sentence, voice = root / "sentence.wav", root / "voice.wav"
        run(["espeak-ng", "-w", str(sentence), "Please call me back about the figures of the last quarter."])
        seconds = size // 16000  # 8 kHz, 16 bit, mono
        run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(sentence), "-t", str(seconds),
             "-ar", "8000", "-c:a", "pcm_s16le", str(voice)])  # fmt: skip
        return voice.read_bytes(), "audio/wav"
    raise SystemExit(f"unknown kind {kind!r}")


def message(payload: bytes, content_type: str) -> bytes:
    encoded = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    return (
        b"From: bench@example.test\r\nSubject: the same attachment\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b"--b\r\nContent-Type: " + content_type.encode() + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + encoded + b"--b--\r\n"
    )


def tree_size(root: Path, skip: str = "spool") -> int:
    total = 0
    for path in root.rglob("*"):
        if path.is_file() and skip not in path.relative_to(root).parts:
            total += path.stat().st_size
    return total


async def one_kind(kind: str, size: int, mailboxes: int) -> None:
    with tempfile.TemporaryDirectory(prefix=f"po-bench-dedup-{kind}-") as name:
        root = Path(name)
        payload, content_type = await asyncio.to_thread(make_payload, kind, size, root)
        data = message(payload, content_type)
        config = build_config(root / "data")
        async with app.services(config) as s:
            s.mail.auth.hasher = fast_hasher()
            for n in range(mailboxes):
                await s.mail.add_user(f"user{n}@example.test", "pw")
            before, blobs_before = tree_size(root / "data"), s.blobs.total_size()
            t = time.perf_counter()
            for n in range(mailboxes):
                await s.mail.deliver(data, [f"user{n}@example.test"])
            delivered = time.perf_counter() - t
            if s.mail.media is not None:
                await s.mail.media.settle()  # probes and renditions are part of the growth
            settled = time.perf_counter() - t
            grown, blobs_grown = tree_size(root / "data") - before, s.blobs.total_size() - blobs_before
        print(
            f"{kind}: {len(payload) / MiB:.1f} MiB attachment x {mailboxes} deliveries ({delivered:.0f} s; "
            f"probes and renditions done at {settled:.0f} s): store grew {grown / MiB:.1f} MiB "
            f"({grown / len(payload):.3f}x the attachment; blobs {blobs_grown / MiB:.1f} MiB)",
            flush=True,
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="100MiB")
    parser.add_argument("--mailboxes", type=int, default=50)
    parser.add_argument("--kinds", default="octets,mp4,wav")
    args = parser.parse_args(argv)
    for kind in args.kinds.split(","):
        asyncio.run(one_kind(kind, parse_size(args.size), args.mailboxes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
