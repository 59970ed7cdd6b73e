"""Bounded waste on the media endpoint: the cap on open-ended ranges ([limits.http]
media_cap_audio / media_cap_video, at its edge) and the shared pacing budget."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx

from postoffice.app import Services
from postoffice.web.app import WebApp
from postoffice.web.pacing import Budget, Pacer

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "media"))

from media_helpers import media_mail  # noqa: E402
from web_helpers import DOMAIN  # noqa: E402


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_budget_bursts_then_paces_and_refills_up_to_the_burst() -> None:
    clock = Clock()
    budget = Budget(rate=1000.0, burst=5000.0, clock=clock)
    assert budget.take(5000) == 0.0  # the first burst goes at once
    assert budget.take(1000) == 1.0  # then one second per 1000 octets
    assert budget.take(1000) == 2.0  # a parallel request queues behind the first
    clock.now = 100.0  # a long pause refills, but only up to the burst
    assert budget.take(5000) == 0.0 and budget.take(500) == 0.5


def test_one_budget_per_viewer_and_part_shared_by_requests() -> None:
    clock = Clock()
    pacer = Pacer(max_budgets=2, clock=clock)
    a = pacer.budget(("viewer", 1, "2"), 1000.0, 100.0)
    assert pacer.budget(("viewer", 1, "2"), 1000.0, 100.0) is a
    assert pacer.budget(("other", 1, "2"), 1000.0, 100.0) is not a
    pacer.budget(("third", 1, "2"), 1000.0, 100.0)  # over max_budgets: the oldest is forgotten
    assert pacer.budget(("viewer", 1, "2"), 1000.0, 100.0) is not a


async def test_open_ended_ranges_are_capped_at_the_limit(alice: httpx.AsyncClient, webmail: tuple[WebApp, Services]) -> None:
    _, services = webmail
    cap = services.config.limits.http.media_cap_audio
    payload = b"".join(b"not really audio %08d\n" % n for n in range(3 * cap // 26))  # FFmpeg cannot read it: no duration, no pacing
    uid = (await services.mail.deliver(media_mail(payload, "audio/wav"), [f"alice@{DOMAIN}"])).records[0].uid
    assert services.mail.media is not None
    await services.mail.media.settle()
    url = f"/message/{uid}/media/2?folder=INBOX"
    size = len(payload)
    r = await alice.get(url, headers={"Range": "bytes=0-"})
    assert r.status_code == 206 and r.content == payload[:cap] and r.headers["content-range"] == f"bytes 0-{cap - 1}/{size}"
    r = await alice.get(url, headers={"Range": f"bytes={size - cap}-"})  # exactly the cap: all of it
    assert r.content == payload[-cap:] and r.headers["content-range"] == f"bytes {size - cap}-{size - 1}/{size}"
    r = await alice.get(url, headers={"Range": f"bytes={size - cap - 1}-"})  # one over: capped
    assert len(r.content) == cap and r.headers["content-range"] == f"bytes {size - cap - 1}-{size - 2}/{size}"
    r = await alice.get(url, headers={"Range": f"bytes=0-{size - 1}"})  # a closed range is what was asked
    assert r.content == payload
    r = await alice.get(url + "&download=1", headers={"Range": "bytes=0-"})  # downloads are neither capped nor paced
    assert r.content == payload and r.headers["content-disposition"].startswith("attachment")


def _media_figures() -> tuple[float, float]:
    from postoffice.observe import metrics

    values = dict(line.rsplit(" ", 1) for line in metrics.render().decode().splitlines() if line.startswith("postoffice_media_"))
    return (float(values.get('postoffice_media_sent_bytes_total{kind="audio"}', 0)),
            float(values.get('postoffice_media_saved_bytes_total{kind="audio"}', 0)))  # fmt: skip


async def _figures_moved(before: tuple[float, float]) -> tuple[float, float]:
    """The (sent, saved) deltas, once the answer's end was counted (it is counted as its
    body ends, which may be just after the client got its last octet)."""
    end = asyncio.get_running_loop().time() + 30
    while True:
        now = _media_figures()
        if now != before:
            return now[0] - before[0], now[1] - before[1]
        assert asyncio.get_running_loop().time() < end, "the media answer was never counted"
        await asyncio.sleep(0.02)


async def test_media_metrics_count_octets_sent_and_saved_by_pacing(tmp_path: Path) -> None:
    import re
    import wave

    from postoffice import app, lifecycle
    from postoffice.mail.auth import fast_hasher
    from postoffice.testing.server import build_config

    wav = tmp_path / "voice.wav"
    with wave.open(str(wav), "wb") as w:  # 120 s, 8 kHz mono 16-bit: 16,000 octets a second
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"".join(bytes([n % 251, n % 13]) for n in range(8000 * 120)))
    payload = wav.read_bytes()
    config = build_config(tmp_path / "data", {"listen": {"http": "127.0.0.1:0"}, "limits.http.media_cap_audio": 4 * 1024 * 1024})
    s = await app.open_services(config)
    try:
        s.mail.auth.hasher = fast_hasher()
        await s.mail.add_user(f"alice@{DOMAIN}", "media-pw-1")
        uid = (await s.mail.deliver(media_mail(payload, "audio/wav"), [f"alice@{DOMAIN}"])).records[0].uid
        assert s.mail.media is not None
        await s.mail.media.settle()
        listening = await lifecycle.start_listeners(s, ["http"], announce=False)
        host, port = listening.bound("http")
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as c:
            page = await c.get("/login")
            csrf = re.search(r'name="csrf" value="([^"]*)"', page.text)
            assert csrf
            signed = await c.post("/login", data={"csrf": csrf.group(1), "address": f"alice@{DOMAIN}", "password": "media-pw-1"})
            assert signed.status_code == 303
            url = f"/message/{uid}/media/2?folder=INBOX&source=original"
            # A range sent whole: its octets are sent, nothing saved.
            before = _media_figures()
            r = await c.get(url, headers={"Range": "bytes=0-9999"})
            assert r.status_code == 206 and len(r.content) == 10_000
            assert await _figures_moved(before) == (10_000, 0)
            # A paced answer the viewer stops early (pauses, closes the player): what it
            # announced and never sent is counted as saved; sent + saved is the answer.
            before = _media_figures()
            received = 0
            async with c.stream("GET", url, headers={"Range": f"bytes=0-{len(payload) - 1}"}) as r:
                assert r.status_code == 206
                announced = int(r.headers["content-length"])
                async for data in r.aiter_raw():
                    received += len(data)
                    if received >= 64 * 1024:
                        break
            sent, saved = await _figures_moved(before)
            assert sent + saved == announced
            assert sent >= received and saved > 0
        await lifecycle.stop_listeners(listening)
    finally:
        await s.close()
