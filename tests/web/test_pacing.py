"""Bounded waste on the media endpoint: the cap on open-ended ranges ([limits.http]
media_cap_audio / media_cap_video, at its edge) and the shared pacing budget."""

from __future__ import annotations

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
