"""Benchmark: audio and video in Debian's headless chromium (Playwright) against
``postoffice serve`` on loopback, the octets the server sends counted by a TCP relay in
front of it (postoffice/testing/relay.py).

Run::

    .venv/bin/python bench/media_browser.py [--voice-minutes 20] [--video-size 1GB] [--seeks 15]

1. A voice message of ``--voice-minutes`` of espeak-ng speech, WAV (PCM, 8 kHz, 16 bit:
   about 19 MB for 20 minutes, as the issue says), played for 15 s at normal speed and
   stopped: the octets the server sent, against a whole-file download of the same part.
2. A video of about ``--video-size`` (H.264 + AAC MP4 with its index at the end, as
   ffmpeg writes it: a 20-s clip encoded once, then repeated by stream copy): ``--seeks``
   times, in a fresh browser context, the message page is opened and the player seeks to
   90% of the duration; prints the time from setting ``currentTime`` to ``seeked`` and to
   ``playing``, p50/p95, and the octets sent between the seek and ``playing``.

The mail is put in with ``postoffice import`` (a Maildir) before ``serve`` starts: the
import waits for the media probes and renditions, so the players get the renditions.
Needs /usr/bin/chromium, ffmpeg, espeak-ng and Playwright's Python package.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._servers import VENV_BIN, free_port, wait_port  # noqa: E402
from postoffice.config import parse_size  # noqa: E402
from postoffice.testing.relay import CountingRelay  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip
PASSWORD = "bench-media-pw"
DEADLINE = 120.0


def run(argv: list[str], timeout: float = 1800) -> None:
    subprocess.run(argv, check=True, timeout=timeout, capture_output=True)


def make_voice(root: Path, minutes: int) -> Path:
    sentence, voice = root / "sentence.wav", root / "voice.wav"
    run(["espeak-ng", "-w", str(sentence), "Hello, this is Carol. I am calling about the budget for next year. "
         "Please call me back when you have a moment, and bring the figures from the last quarter."])  # fmt: skip
    run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(sentence), "-t", str(minutes * 60),
         "-ar", "8000", "-c:a", "pcm_s16le", str(voice)])  # fmt: skip
    return voice


def make_video(root: Path, size: int) -> tuple[Path, float]:
    """A 720p clip of 20 s at about 8 Mb/s (x264 on moving noise, so the bits are spent), then
    the clip repeated by stream copy until the file is about ``size`` octets."""
    clip, video = root / "clip.mp4", root / "video.mp4"
    run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25,noise=alls=40:allf=t",
         "-f", "lavfi", "-i", "sine=frequency=330", "-t", "20", "-c:v", "libx264", "-preset", "ultrafast",
         "-b:v", "8M", "-maxrate", "8M", "-bufsize", "4M", "-g", "50", "-c:a", "aac", "-b:a", "96k", str(clip)])  # fmt: skip
    loops = max(0, round(size / clip.stat().st_size) - 1)
    run(["ffmpeg", "-v", "error", "-y", "-stream_loop", str(loops), "-i", str(clip), "-c", "copy", str(video)])
    return video, 20.0 * (loops + 1)


def media_message(subject: str, path: Path, content_type: str, *, voice: bool = False) -> bytes:
    msg = MIMEMultipart()
    msg["From"], msg["To"], msg["Subject"] = "carol@remote.test", "alice@example.test", subject
    if voice:
        msg["Message-Context"] = "voice-message"
    msg.attach(MIMEText("A recording for you."))
    part = MIMEApplication(path.read_bytes(), _subtype=content_type.split("/")[1])
    part.replace_header("Content-Type", content_type)
    part.add_header("Content-Disposition", "attachment", filename=path.name)
    msg.attach(part)
    return msg.as_bytes()


@contextmanager
def serve(root: Path, messages: dict[str, bytes]) -> Iterator[int]:
    """``postoffice serve`` (webmail only) with alice's mail imported first; its HTTP port."""
    http = free_port()
    config = root / "postoffice.toml"
    config.write_text(
        f'data_dir = "{root / "data"}"\ndomains = ["example.test"]\nhostname = "mail.example.test"\n'
        f'[listen]\nhttp = "127.0.0.1:{http}"\n'
    )
    exe = str(VENV_BIN / "postoffice")
    subprocess.run([exe, "--config", str(config), "user", "add", "alice@example.test", "--password-stdin"],
                   input=PASSWORD + "\n", text=True, check=True, capture_output=True)  # fmt: skip
    box = root / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (box / sub).mkdir(parents=True, exist_ok=True)
    for n, data in enumerate(messages.values()):
        (box / "cur" / f"{1700000000 + n}.M{n}.bench:2,").write_bytes(data)
    t = time.perf_counter()
    subprocess.run([exe, "--config", str(config), "import", str(box), "--user", "alice@example.test"],
                   check=True, capture_output=True, timeout=3600)  # fmt: skip
    print(f"imported {len(messages)} messages (probes and renditions made) in {time.perf_counter() - t:.1f} s", flush=True)
    shutil.rmtree(box)
    log = (root / "serve.log").open("wb")
    process = subprocess.Popen([exe, "--config", str(config), "serve"], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(http, process)
        yield http
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def wait_for(condition: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def quiet(relay: CountingRelay) -> None:
    """Until the browser's traffic is over: connections closed, or none moved an octet for 3 s."""
    wait_for(lambda: relay.open == 0 or time.monotonic() - relay.last_sent > 3.0, "the browser to fall silent")


def open_player(browser: Any, base: str, subject: str, kind: str) -> tuple[Any, Any]:
    context = browser.new_context()
    page = context.new_page()
    page.goto(base + "/login")
    page.get_by_label("Address").fill("alice@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/folder/INBOX")
    link = page.get_by_role("link", name=subject).first
    # Forget where the last sample stopped (the position is kept per user and part on
    # the server): every sample starts from the beginning, as a first viewing does.
    uid = link.get_attribute("href").split("/message/")[1].split("?")[0]
    page.evaluate(
        "async ([uid, section]) => { const body = new FormData();"
        " body.set('csrf', document.querySelector('input[name=csrf]').value); body.set('folder', 'INBOX');"
        " body.set('seconds', '0');"
        " const r = await fetch(`/message/${uid}/media/${section}/position`, { method: 'POST', body });"
        " if (r.status !== 204) throw new Error(String(r.status)); }",
        [uid, "2"],
    )
    link.click()
    page.wait_for_selector("[data-media-player][data-ready]", state="attached", timeout=DEADLINE * 1000)
    src = page.eval_on_selector(kind, "e => e.getAttribute('src')")
    assert "source=rendition" in src, src  # the import made the renditions before serve started
    return context, page


def listen(browser: Any, base: str, relay: CountingRelay, voice: Path) -> None:
    context, page = open_player(browser, base, "Voice from Carol", "audio")
    quiet(relay)
    before = relay.sent
    page.eval_on_selector("audio", "a => a.play()")
    page.wait_for_function("() => document.querySelector('audio').currentTime >= 15", timeout=DEADLINE * 1000)
    page.eval_on_selector("audio", "a => a.pause()")
    context.close()
    quiet(relay)
    listened = relay.sent - before
    uid_url = page.url
    context, page = open_player(browser, base, "Voice from Carol", "audio")
    media_url = base + page.eval_on_selector("audio", "e => e.getAttribute('src')").split("&source=")[0]
    quiet(relay)
    before = relay.sent
    whole = page.evaluate("async (u) => (await (await fetch(u + '&download=1')).arrayBuffer()).byteLength", media_url)
    quiet(relay)
    downloaded = relay.sent - before
    context.close()
    assert whole == voice.stat().st_size, (whole, uid_url)
    print(
        f"15-s listen of a {voice.stat().st_size / 1e6:.1f} MB WAV voice message: {listened / 1e6:.3f} MB sent; "
        f"whole-file download: {downloaded / 1e6:.1f} MB sent; ratio {listened / downloaded:.3f}",
        flush=True,
    )


def _mark(marks: list[int], relay: CountingRelay) -> None:
    marks.append(relay.sent)


def seeks(browser: Any, base: str, relay: CountingRelay, count: int) -> None:
    to_seeked: list[float] = []
    to_playing: list[float] = []
    sent: list[int] = []
    for _ in range(count):
        context, page = open_player(browser, base, "Video from Carol", "video")
        at_playing: list[int] = []
        # The relay's count when the page reports ``playing`` (a call back into this
        # process: a few ms late at most, so a little of what follows may be counted).
        page.expose_function("benchPlaying", partial(_mark, at_playing, relay))
        quiet(relay)
        before = relay.sent
        start = page.eval_on_selector(
            "video",
            "v => { const d = document.body.dataset;"
            " v.addEventListener('seeked', () => { d.seeked = String(performance.now()); }, { once: true });"
            " v.addEventListener('playing', () => { const t = performance.now();"
            "   window.benchPlaying().then(() => { d.playing = String(t); }); }, { once: true });"
            " const t = performance.now(); v.currentTime = v.duration * 0.9; v.play(); return t; }",
        )
        page.wait_for_selector("body[data-seeked][data-playing]", state="attached", timeout=DEADLINE * 1000)
        sent.append(at_playing[0] - before)
        seeked = float(page.eval_on_selector("body", "b => b.dataset.seeked"))
        playing = float(page.eval_on_selector("body", "b => b.dataset.playing"))
        position = page.eval_on_selector("video", "v => v.currentTime / v.duration")
        assert 0.89 < position < 0.92, position
        to_seeked.append(seeked - start)
        to_playing.append(playing - start)
        print(f"  seeked {seeked - start:.0f} ms, playing {playing - start:.0f} ms, {sent[-1] / 2**20:.2f} MiB sent", flush=True)
        context.close()
    for name, values in (("seeked", to_seeked), ("playing", to_playing)):
        values.sort()
        p50, p95 = statistics.median(values), values[int(0.95 * (len(values) - 1))]
        print(f"seek to 90% -> {name}: p50 {p50:.0f} ms, p95 {p95:.0f} ms ({count} seeks, each in a fresh context)")
    print(f"octets sent between the seek and playing: median {statistics.median(sent) / 2**20:.2f} MiB, most {max(sent) / 2**20:.2f} MiB")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voice-minutes", type=int, default=20)
    parser.add_argument("--video-size", default="1GB", help="about this large (default 1GB)")
    parser.add_argument("--seeks", type=int, default=15)
    parser.add_argument("--only", choices=["", "listen", "seek"], default="", help="one of the two measures")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists() or shutil.which("ffmpeg") is None or shutil.which("espeak-ng") is None:
        print("skipped: needs /usr/bin/chromium, ffmpeg and espeak-ng (make test-deps)")
        return 0
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="po-bench-media-browser-") as name:
        root = Path(name)
        t = time.perf_counter()
        voice = make_voice(root, args.voice_minutes)
        video, seconds = make_video(root, parse_size(args.video_size))
        print(
            f"made a {args.voice_minutes}-minute WAV ({voice.stat().st_size / 1e6:.1f} MB) and a {seconds / 60:.0f}-minute "
            f"MP4 ({video.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t:.0f} s",
            flush=True,
        )
        messages = {
            "voice": media_message("Voice from Carol", voice, "audio/wav", voice=True),
            "video": media_message("Video from Carol", video, "video/mp4"),
        }
        os.unlink(video)
        with serve(root, messages) as http:
            del messages
            relay = CountingRelay(http)
            base = f"http://127.0.0.1:{relay.port}"
            try:
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                    try:
                        if args.only in ("", "listen"):
                            listen(browser, base, relay, voice)
                        if args.only in ("", "seek"):
                            seeks(browser, base, relay, args.seeks)
                    finally:
                        browser.close()
            finally:
                relay.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
