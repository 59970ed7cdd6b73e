"""Audio and video in Debian's headless chromium (Playwright) against ``postoffice
serve`` on loopback, with the bytes the server sends counted by a TCP relay in front of
it (every byte from the server to the browser passes through it).

Test media are made here with Debian's ffmpeg and espeak-ng; mail arrives over SMTP.

- a long voice message (espeak-ng speech as WAV, minutes long): playing 15 s of it
  costs at most 1 MB sent;
- a video (H.264 MP4 with its index at the end): a seek to 90% resumes playing within
  0.5 s of the target with at most 4 MiB sent between the seek and ``playing``;
- a minute of playback under pacing has no ``waiting`` event after the start;
- a WebM recorded by Chromium's MediaRecorder, mailed and played back: finite duration,
  seekable;
- the position resumes in a second browser context; ``$Played`` is seen over IMAP.
"""

from __future__ import annotations

import base64
import imaplib
import re
import shutil
import smtplib
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pytest
from browser_helpers import CHROMIUM, POSTOFFICE, chromium, serve_webmail

from postoffice.testing.relay import CountingRelay

MEDIA_FLAGS = [
    "--autoplay-policy=no-user-gesture-required",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
]
DEADLINE = 60.0
PASSWORD = "media-secret"
VOICE_MINUTES = 6  # make test; the 20 minutes run in bench/

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.timeout(400),
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make test-deps)"),
    pytest.mark.skipif(not POSTOFFICE.exists(), reason="the postoffice console script is not installed in the venv"),
    pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("espeak-ng") is None, reason="ffmpeg/espeak-ng missing (make test-deps)"),
]


def wait_for(condition: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Server:
    url: str  # through the relay
    smtp: int
    imap: int
    relay: CountingRelay

    def send(self, data: bytes) -> None:
        with smtplib.SMTP("127.0.0.1", self.smtp, timeout=DEADLINE) as c:
            c.sendmail("someone@remote.test", ["alice@example.test"], data)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve_webmail(tmp_path_factory.mktemp("mediamail"), ["alice"], PASSWORD, DEADLINE) as w:
        relay = CountingRelay(w.http)
        try:
            yield Server(f"http://127.0.0.1:{relay.port}", w.smtp, w.imap, relay)
        finally:
            relay.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium(playwright_api, MEDIA_FLAGS) as b:
        yield b


def sign_in(browser: object, server: Server) -> tuple[object, object]:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(server.url + "/login")
    page.get_by_label("Address").fill("alice@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/folder/INBOX")
    return context, page


def media_message(subject: str, data: bytes, content_type: str, *, voice: bool = False) -> bytes:
    msg = MIMEMultipart()
    msg["From"], msg["To"], msg["Subject"] = "carol@remote.test", "alice@example.test", subject
    if voice:
        msg["Message-Context"] = "voice-message"
    msg.attach(MIMEText("A recording for you."))
    maintype, subtype = content_type.split("/")
    part = MIMEApplication(data, _subtype=subtype)
    part.replace_header("Content-Type", content_type)
    part.add_header("Content-Disposition", "attachment", filename=f"recording.{subtype}")
    msg.attach(part)
    return msg.as_bytes()


def open_message(page: object, server: Server, subject: str, kind: str) -> str:
    """Open the message with that subject once the page plays its rendition; its media URL."""
    page.goto(server.url + "/folder/INBOX")  # type: ignore[attr-defined]
    page.get_by_role("link", name=subject).first.click()  # type: ignore[attr-defined]
    selector = f"[data-media-player] {kind}"

    def rendition_ready() -> bool:
        # The rendition is made in the background after delivery; the page names the file it plays.
        page.reload()  # type: ignore[attr-defined]
        page.wait_for_selector(selector)  # type: ignore[attr-defined]
        return "source=rendition" in page.eval_on_selector(selector, "e => e.getAttribute('src')")  # type: ignore[attr-defined]

    wait_for(rendition_ready, "the rendition")
    page.wait_for_selector("[data-media-player][data-ready]", state="attached")  # type: ignore[attr-defined]
    return server.url + page.eval_on_selector(selector, "e => e.getAttribute('src')")  # type: ignore[attr-defined]


def quiet(server: Server) -> None:
    """Until the closed browser context's traffic is over: its connections closed, or
    (a connection the browser keeps open a while) none of them moving an octet for 3 s.
    Bytes counted after this belong to what the test does next."""
    relay = server.relay
    wait_for(
        lambda: relay.open == 0 or time.monotonic() - relay.last_sent > 3.0,
        "the browser's connections to close or fall silent",
    )


@pytest.fixture(scope="module")
def voice_wav(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    root = tmp_path_factory.mktemp("voice")
    sentence = root / "sentence.wav"
    subprocess.run(
        ["espeak-ng", "-w", str(sentence), "Hello, this is Carol. I am calling about the budget for next year. "
         "Please call me back when you have a moment, and bring the figures from the last quarter."],
        check=True, capture_output=True, timeout=60,
    )
    long = root / "voice.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(sentence), "-t", str(VOICE_MINUTES * 60),
         "-c:a", "pcm_s16le", str(long)],
        check=True, timeout=120,
    )
    return long.read_bytes()


def test_voice_message_15_seconds_cost_at_most_1_mb(server: Server, browser: object, voice_wav: bytes) -> None:
    assert len(voice_wav) > 10_000_000
    server.send(media_message("Voice from Carol", voice_wav, "audio/wav", voice=True))
    context, page = sign_in(browser, server)
    open_message(page, server, "Voice from Carol", "audio")
    assert page.locator(".badge.voice").count() == 1  # type: ignore[attr-defined]
    assert page.locator("[data-duration-text]").inner_text() == f"{VOICE_MINUTES}:00"  # type: ignore[attr-defined]
    context.close()  # type: ignore[attr-defined]
    quiet(server)
    context, page = sign_in(browser, server)
    page.goto(page.url)  # type: ignore[attr-defined]
    page.get_by_role("link", name="Voice from Carol").first.click()  # type: ignore[attr-defined]
    page.wait_for_selector("[data-media-player][data-ready]")  # type: ignore[attr-defined]
    before = server.relay.sent
    page.eval_on_selector("audio", "a => { a.playbackRate = 2; a.play(); }")  # type: ignore[attr-defined]
    page.wait_for_function("() => document.querySelector('audio').currentTime >= 15", timeout=DEADLINE * 1000)  # type: ignore[attr-defined]
    page.eval_on_selector("audio", "a => a.pause()")  # type: ignore[attr-defined]
    context.close()  # type: ignore[attr-defined]
    quiet(server)
    sent = server.relay.sent - before
    assert sent <= 1_000_000, sent


@pytest.fixture(scope="module")
def video_mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("video") / "video.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25", "-f", "lavfi",
         "-i", "sine=frequency=330", "-t", "90", "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "1500k",
         "-g", "25", "-c:a", "aac", "-b:a", "96k", str(path)],
        check=True, timeout=300,
    )
    return path.read_bytes()


def test_video_seek_to_90_percent(server: Server, browser: object, video_mp4: bytes) -> None:
    server.send(media_message("Video from Carol", video_mp4, "video/mp4"))
    context, page = sign_in(browser, server)
    open_message(page, server, "Video from Carol", "video")
    duration = page.eval_on_selector("video", "v => v.duration")  # type: ignore[attr-defined]
    assert 89 < duration < 91
    target = 0.9 * duration
    page.evaluate(  # type: ignore[attr-defined]
        "() => { const v = document.querySelector('video');"
        " v.addEventListener('playing', () => { document.body.dataset.playing = '1'; }, { once: true }); }"
    )
    before = server.relay.sent
    page.eval_on_selector("video", f"v => {{ v.currentTime = {target}; v.play(); }}")  # type: ignore[attr-defined]
    page.wait_for_selector("body[data-playing]", state="attached", timeout=DEADLINE * 1000)  # type: ignore[attr-defined]
    sent = server.relay.sent - before
    now = page.eval_on_selector("video", "v => v.currentTime")  # type: ignore[attr-defined]
    assert abs(now - target) <= 0.5, (now, target)
    assert sent <= 4 * 1024 * 1024, sent
    context.close()  # type: ignore[attr-defined]


def test_a_minute_of_paced_playback_never_waits(server: Server, browser: object, video_mp4: bytes) -> None:
    """Pacing at about twice the bitrate keeps ahead of playing: no ``waiting`` after the start."""
    server.send(media_message("Paced video", video_mp4, "video/mp4"))
    context, page = sign_in(browser, server)
    open_message(page, server, "Paced video", "video")
    page.evaluate(  # type: ignore[attr-defined]
        "() => { const v = document.querySelector('video'); document.body.dataset.waits = '0';"
        " v.addEventListener('playing', () => {"
        "   v.addEventListener('waiting', () => { document.body.dataset.waits = String(Number(document.body.dataset.waits) + 1); });"
        " }, { once: true }); v.play(); }"
    )
    page.wait_for_function("() => document.querySelector('video').currentTime >= 60", timeout=120_000)  # type: ignore[attr-defined]
    assert page.eval_on_selector("body", "b => b.dataset.waits") == "0"  # type: ignore[attr-defined]
    context.close()  # type: ignore[attr-defined]


def test_mediarecorder_webm_has_a_duration_and_seeks(server: Server, browser: object) -> None:
    context, page = sign_in(browser, server)
    recorded = page.evaluate(  # type: ignore[attr-defined]
        """async () => {
          const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
          const recorder = new MediaRecorder(stream, { mimeType: "video/webm;codecs=vp8,opus" });
          const chunks = [];
          recorder.ondataavailable = (e) => chunks.push(e.data);
          const stopped = new Promise((resolve) => { recorder.onstop = resolve; });
          recorder.start(500);
          await new Promise((resolve) => setTimeout(resolve, 4000));
          recorder.stop();
          await stopped;
          stream.getTracks().forEach((t) => t.stop());
          const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
          let text = "";
          for (const b of bytes) text += String.fromCharCode(b);
          return btoa(text);
        }"""
    )
    webm = base64.b64decode(recorded)
    assert bytes.fromhex("1C53BB6B") not in webm  # MediaRecorder writes no Cues
    server.send(media_message("Recorded in the browser", webm, "video/webm"))
    open_message(page, server, "Recorded in the browser", "video")
    duration = page.eval_on_selector("video", "v => v.duration")  # type: ignore[attr-defined]
    assert duration != float("inf") and 2.5 < duration < 6
    page.evaluate(  # type: ignore[attr-defined]
        "() => new Promise((resolve) => { const v = document.querySelector('video');"
        " v.addEventListener('seeked', resolve, { once: true }); v.currentTime = 2; })"
    )
    assert abs(page.eval_on_selector("video", "v => v.currentTime") - 2) <= 0.5  # type: ignore[attr-defined]
    context.close()  # type: ignore[attr-defined]


def imap_flags(server: Server, subject: str) -> str:
    with imaplib.IMAP4("127.0.0.1", server.imap, timeout=DEADLINE) as c:
        c.login("alice@example.test", PASSWORD)
        c.select("INBOX", readonly=True)
        _, data = c.uid("SEARCH", "SUBJECT", f'"{subject}"')
        uid = data[0].split()[-1]
        _, fetched = c.uid("FETCH", uid, "(FLAGS)")
        return str(fetched[0])


def test_position_resumes_elsewhere_and_played_over_imap(server: Server, browser: object, tmp_path: Path) -> None:
    sentence = tmp_path / "short.wav"
    subprocess.run(["espeak-ng", "-w", str(sentence), "Call me back. " * 12], check=True, capture_output=True, timeout=60)
    server.send(media_message("Short voice", sentence.read_bytes(), "audio/wav", voice=True))
    first, page = sign_in(browser, server)
    open_message(page, server, "Short voice", "audio")
    page.evaluate(  # type: ignore[attr-defined]
        "() => new Promise((resolve) => { const a = document.querySelector('audio');"
        " a.addEventListener('seeked', () => { a.pause(); a.dispatchEvent(new Event('pause')); resolve(); }, { once: true });"
        " a.currentTime = 3; })"
    )
    page.wait_for_selector("[data-media-player][data-saved='3.00']", state="attached")  # type: ignore[attr-defined]
    assert "$Played" not in imap_flags(server, "Short voice")
    second, other = sign_in(browser, server)  # another device
    other.get_by_role("link", name="Short voice").first.click()  # type: ignore[attr-defined]
    other.wait_for_selector("[data-media-player][data-ready]", state="attached")  # type: ignore[attr-defined]
    other.wait_for_function("() => Math.abs(document.querySelector('audio').currentTime - 3) < 0.5")  # type: ignore[attr-defined]
    near_end = other.eval_on_selector("audio", "a => a.duration * 0.95")  # type: ignore[attr-defined]
    other.evaluate(  # type: ignore[attr-defined]
        "(t) => new Promise((resolve) => { const a = document.querySelector('audio');"
        " a.addEventListener('seeked', () => { a.dispatchEvent(new Event('pause')); resolve(); }, { once: true });"
        " a.currentTime = t; })",
        near_end,
    )
    other.wait_for_selector(f"[data-media-player][data-saved='{near_end:.2f}']", state="attached")  # type: ignore[attr-defined]
    assert "$Played" in imap_flags(server, "Short voice")
    first.close()  # type: ignore[attr-defined]
    second.close()  # type: ignore[attr-defined]


def test_voice_message_recorded_in_compose_carries_its_headers(server: Server, browser: object) -> None:
    """Record in the compose page (the fake microphone), send: the message says it is a
    voice message (RFC 3458) and its part how long it lasts (RFC 3803), over IMAP too."""
    context, page = sign_in(browser, server)
    page.goto(server.url + "/compose")  # type: ignore[attr-defined]
    page.get_by_label("To", exact=True).fill("alice@example.test")  # type: ignore[attr-defined]
    page.get_by_label("Subject", exact=True).fill("Recorded voice")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Record a voice message").click()  # type: ignore[attr-defined]
    page.get_by_role("button", name="Stop recording").wait_for()  # type: ignore[attr-defined]
    page.wait_for_timeout(3000)  # type: ignore[attr-defined]  # the user speaks for 3 s
    page.get_by_role("button", name="Stop recording").click()  # type: ignore[attr-defined]
    page.wait_for_selector("[data-recorder][data-recorded='1']", state="attached")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Send").click()  # type: ignore[attr-defined]
    page.wait_for_url(f"{server.url}/folder/INBOX*")  # type: ignore[attr-defined]
    with imaplib.IMAP4("127.0.0.1", server.imap, timeout=DEADLINE) as c:
        c.login("alice@example.test", PASSWORD)
        c.select("INBOX", readonly=True)
        _, data = c.uid("SEARCH", "SUBJECT", '"Recorded voice"')
        uid = data[0].split()[-1]
        _, fetched = c.uid("FETCH", uid, "(BODY.PEEK[HEADER.FIELDS (MESSAGE-CONTEXT)] BODY.PEEK[2.MIME])")
    blocks = b"".join(item[1] for item in fetched if isinstance(item, tuple))
    assert b"Message-Context: voice-message" in blocks, blocks
    duration = re.search(rb"Content-Duration: (\d+)", blocks)
    assert duration is not None and 2 <= int(duration.group(1)) <= 6, blocks
    assert b"Content-Type: audio/webm" in blocks
    open_message(page, server, "Recorded voice", "audio")
    assert page.locator(".badge.voice").count() == 1  # type: ignore[attr-defined]
    assert page.eval_on_selector("audio", "a => a.duration") != float("inf")  # type: ignore[attr-defined]
    context.close()  # type: ignore[attr-defined]
