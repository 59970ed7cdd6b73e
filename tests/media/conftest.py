"""Test media, made at test time with Debian's ffmpeg and espeak-ng (nothing committed).

- ``media_dir``: a session folder with ``clip.webm`` (VP8 + Opus, 10 s),
  ``clip.mp4`` (H.264 + AAC, 10 s, its index at the end as ffmpeg writes it by default)
  and ``voice.wav`` (espeak-ng speech, PCM).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# --import-mode=importlib does not put test folders on sys.path; the media tests share media_helpers.
sys.path.insert(0, str(Path(__file__).parent))

FFMPEG = shutil.which("ffmpeg")
ESPEAK = shutil.which("espeak-ng")


def make_video(path: Path, seconds: int, *, codec: list[str], size: str = "160x120") -> Path:
    subprocess.run(
        [FFMPEG or "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size={size}:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=440", "-t", str(seconds), *codec, str(path)],
        check=True, timeout=120,
    )
    return path


def make_speech(path: Path, text: str) -> Path:
    subprocess.run([ESPEAK or "espeak-ng", "-w", str(path), text], check=True, timeout=120, capture_output=True)
    return path


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if FFMPEG is None or ESPEAK is None:
        pytest.skip("Debian's ffmpeg and espeak-ng are not installed (make test-deps)")
    root = tmp_path_factory.mktemp("media")
    make_video(root / "clip.webm", 10, codec=["-c:v", "libvpx", "-b:v", "200k", "-g", "25", "-c:a", "libopus"])
    make_video(root / "clip.mp4", 10, codec=["-c:v", "libx264", "-g", "25", "-c:a", "aac"])
    make_speech(root / "voice.wav", "This is a voice message. Please call me back when you can.")
    return root


@pytest.fixture(scope="session")
def recorder_like_webm(media_dir: Path) -> Path:
    """A WebM as a browser's MediaRecorder writes it: streamed, so without Duration or Cues."""
    path = media_dir / "streamed.webm"
    with path.open("wb") as out:
        subprocess.run(
            [FFMPEG or "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25", "-f", "lavfi",
             "-i", "sine=frequency=440", "-t", "10", "-c:v", "libvpx", "-b:v", "200k", "-g", "25", "-c:a", "libopus",
             "-f", "webm", "pipe:1"],
            check=True, timeout=120, stdout=out,
        )
    return path
