"""The webmail in Debian's headless chromium (Playwright), against ``postoffice serve``
started by the test on loopback, with mail arriving over SMTP and checked over IMAP.

- sign in; read a plain and an HTML message (the HTML one in its sandboxed frame);
- send to another local user, who sees it; move a message and see it moved over IMAP;
- a message delivered by SMTP shows in the open list without a reload (live updates);
- the same reading and sending with JavaScript turned off;
- the interface in Chinese for a browser that asks for zh-CN.

The browser is never downloaded: Playwright's driver launches /usr/bin/chromium.
"""

from __future__ import annotations

import imaplib
import smtplib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser_helpers import CHROMIUM, POSTOFFICE, chromium, serve_webmail

DEADLINE = 30.0
PASSWORD = "browser-secret"

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make test-deps)"),
    pytest.mark.skipif(not POSTOFFICE.exists(), reason="the postoffice console script is not installed in the venv"),
]


@dataclass
class Server:
    url: str
    smtp: int
    imap: int
    process: subprocess.Popen[str]

    def send(self, to: str, data: bytes) -> None:
        with smtplib.SMTP("127.0.0.1", self.smtp, timeout=DEADLINE) as c:
            c.sendmail("someone@remote.test", [to], data)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve_webmail(tmp_path_factory.mktemp("webmail"), ["alice", "bob"], PASSWORD, DEADLINE) as w:
        yield Server(w.url, w.smtp, w.imap, w.process)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium(playwright_api) as b:
        yield b


def sign_in(context: object, server: Server, user: str) -> object:
    page = context.new_page()  # type: ignore[attr-defined]
    page.goto(server.url + "/login")
    page.get_by_label("Address").fill(f"{user}@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/folder/INBOX")
    return page


def block_remote(context: object, server: Server) -> list[str]:
    """Record (and abort) every request that would leave for a host other than the server.

    A request refused by a Content-Security-Policy never reaches the route handler."""
    remote: list[str] = []

    def handle(route: object) -> None:
        remote.append(route.request.url)  # type: ignore[attr-defined]
        route.abort()  # type: ignore[attr-defined]

    context.route(lambda url: not url.startswith(server.url), handle)  # type: ignore[attr-defined]
    return remote


def mail(subject: str, body: str = "Hello.", *, html: str | None = None) -> bytes:
    head = f"From: Carol <carol@remote.test>\r\nTo: alice@example.test\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n"
    if html is None:
        return (head + f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()
    return (
        head + "Content-Type: multipart/alternative; boundary=alt\r\n\r\n"
        f"--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
        f"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--alt--\r\n"
    ).encode()


def imap_subjects(server: Server, user: str, mailbox: str) -> list[str]:
    with imaplib.IMAP4("127.0.0.1", server.imap, timeout=DEADLINE) as c:
        c.login(f"{user}@example.test", PASSWORD)
        c.select(mailbox, readonly=True)
        _, data = c.uid("SEARCH", "ALL")
        uids = data[0].split()
        subjects = []
        for uid in uids:
            _, fetched = c.uid("FETCH", uid, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            raw = fetched[0][1] if isinstance(fetched[0], tuple) else b""
            subjects.append(raw.decode().split(":", 1)[1].strip() if b":" in raw else "")
        return subjects


def test_sign_in_read_plain_and_html(server: Server, browser: object) -> None:
    server.send("alice@example.test", mail("Plain one", "Visit https://example.org/docs now."))
    server.send(
        "alice@example.test",
        mail("Html one", "text version", html='<p>Rich <b id="b">bold</b></p><img src="http://remote.test/t.png">'
             "<script>parent.document.title='pwned'</script>"),
    )
    context = browser.new_context()  # type: ignore[attr-defined]
    remote = block_remote(context, server)
    page = sign_in(context, server, "alice")
    page.get_by_role("link", name="Plain one").click()
    link = page.get_by_role("link", name="https://example.org/docs")
    assert link.get_attribute("href") == "https://example.org/docs"
    page.goto(server.url + "/folder/INBOX")
    page.get_by_role("link", name="Html one").click()
    frame = page.frame_locator("iframe.htmlbody")
    assert frame.locator("b").inner_text() == "bold"
    assert page.title() != "pwned"
    assert remote == []  # the remote image was blocked by the frame's CSP before any request left
    context.close()


def test_send_to_local_user_who_sees_it(server: Server, browser: object) -> None:
    alice_context = browser.new_context()  # type: ignore[attr-defined]
    page = sign_in(alice_context, server, "alice")
    page.get_by_role("link", name="Write").click()
    page.get_by_label("To", exact=True).fill("bob@example.test")
    page.get_by_label("Subject").fill("From the browser")
    page.get_by_label("Message").fill("Sent with JavaScript on.")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"{server.url}/folder/INBOX*")
    bob_context = browser.new_context()  # type: ignore[attr-defined]
    bob = sign_in(bob_context, server, "bob")
    bob.get_by_role("link", name="From the browser").click()
    assert "Sent with JavaScript on." in bob.locator("pre.plainbody").inner_text()
    assert "From the browser" in imap_subjects(server, "alice", "Sent")
    alice_context.close()
    bob_context.close()


def test_move_shows_over_imap(server: Server, browser: object) -> None:
    server.send("alice@example.test", mail("Move me"))
    context = browser.new_context()  # type: ignore[attr-defined]
    page = sign_in(context, server, "alice")
    page.get_by_role("checkbox", name="Select Move me").check()
    page.get_by_label("Move to").select_option("Archive")
    page.get_by_role("button", name="Move", exact=True).click()
    page.wait_for_url(f"{server.url}/folder/INBOX")
    assert page.get_by_role("link", name="Move me").count() == 0
    assert "Move me" in imap_subjects(server, "alice", "Archive")
    assert "Move me" not in imap_subjects(server, "alice", "INBOX")
    context.close()


def test_new_mail_appears_without_reload(server: Server, browser: object) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = sign_in(context, server, "alice")
    page.wait_for_function("document.body.dataset.live === '1'")
    page.evaluate("window.__sameDocument = true")
    server.send("alice@example.test", mail("Arrived live"))
    page.get_by_role("link", name="Arrived live").wait_for(timeout=DEADLINE * 1000)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    context.close()


def test_read_and_send_without_javascript(server: Server, browser: object) -> None:
    server.send("alice@example.test", mail("No script plain", "Plain words."))
    server.send("alice@example.test", mail("No script html", "alt", html="<p>Shown <i>without</i> JS</p>"))
    context = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    page = sign_in(context, server, "alice")
    page.get_by_role("link", name="No script plain").click()
    assert "Plain words." in page.locator("pre.plainbody").inner_text()
    page.goto(server.url + "/folder/INBOX")
    page.get_by_role("link", name="No script html").click()
    assert page.frame_locator("iframe.htmlbody").locator("i").inner_text() == "without"
    page.get_by_role("link", name="Reply", exact=True).click()
    assert page.get_by_label("To", exact=True).input_value() == "carol@remote.test"
    page.get_by_label("To", exact=True).fill("bob@example.test")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"{server.url}/folder/INBOX*")
    assert "Re: No script html" in imap_subjects(server, "bob", "INBOX")
    context.close()


def test_chinese_interface(server: Server, browser: object) -> None:
    context = browser.new_context(locale="zh-CN")  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(server.url + "/login")
    assert page.get_by_role("button", name="登录").count() == 1
    page.get_by_label("邮箱地址").fill("alice@example.test")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{server.url}/folder/INBOX")
    assert page.locator("h1").inner_text().startswith("收件箱")
    context.close()



def test_xss_corpus_runs_no_script_and_calls_no_remote_host(server: Server, browser: object) -> None:
    import sys as _sys

    _sys.path.insert(0, str(Path(__file__).parent))
    from xss_corpus import CORPUS

    for n, body in enumerate(CORPUS):
        server.send("alice@example.test", mail(f"XSS {n:02d}", "text", html=body))
    context = browser.new_context()  # type: ignore[attr-defined]
    remote = block_remote(context, server)
    dialogs: list[str] = []
    page = sign_in(context, server, "alice")
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    with imaplib.IMAP4("127.0.0.1", server.imap, timeout=DEADLINE) as c:
        c.login("alice@example.test", PASSWORD)
        c.select("INBOX", readonly=True)
        uids: dict[int, bytes] = {}
        for n in range(len(CORPUS)):
            _, found = c.uid("SEARCH", "SUBJECT", f'"XSS {n:02d}"')
            uids[n] = found[0].split()[-1]
    for n in range(len(CORPUS)):
        page.goto(f"{server.url}/message/{uids[n].decode()}?folder=INBOX")
        frame_element = page.locator("iframe.htmlbody")
        frame_element.wait_for()
        frame = frame_element.element_handle().content_frame()
        assert frame is not None
        frame.wait_for_load_state()
        marked = frame.evaluate("document.documentElement.getAttribute('data-xss')")
        assert marked is None, f"script ran for corpus entry {n}"
        dangerous = frame.evaluate(
            """() => Array.from(document.body.querySelectorAll('*')).filter(e =>
                 ['SCRIPT','IFRAME','OBJECT','EMBED','FORM','META','BASE','LINK','STYLE','SVG','MATH'].includes(e.tagName.toUpperCase())
                 || Array.from(e.attributes).some(a => a.name.startsWith('on')
                      || /^\\s*(javascript|data):/i.test(a.value) && a.name !== 'src')).map(e => e.outerHTML)"""
        )
        assert dangerous == [], f"corpus entry {n}: {dangerous}"
        assert frame.evaluate("document.head.children.length") == 2  # our charset and viewport only
    assert page.evaluate("document.documentElement.getAttribute('data-xss')") is None
    assert dialogs == []
    assert remote == [], remote
    context.close()


def with_attachment(subject: str, sender: str = "bob@example.test") -> bytes:
    return (
        f"From: Bob <{sender}>\r\nTo: alice@example.test\r\nSubject: {subject}\r\nMessage-ID: <{subject.replace(' ', '.')}@example.test>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=mix\r\n\r\n"
        "--mix\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe numbers are attached.\r\n"
        "--mix\r\nContent-Type: application/pdf; name=report.pdf\r\nContent-Disposition: attachment; filename=report.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcTl8uXrCg==\r\n--mix--\r\n"
    ).encode()


def test_reply_forward_search_delete(server: Server, browser: object) -> None:
    server.send("alice@example.test", with_attachment("Quarterly numbers"))
    context = browser.new_context()  # type: ignore[attr-defined]
    page = sign_in(context, server, "alice")
    page.get_by_role("link", name="Quarterly numbers").click()
    assert page.get_by_role("link", name="report.pdf").count() == 1
    # Reply
    page.get_by_role("link", name="Reply", exact=True).click()
    assert page.get_by_label("To", exact=True).input_value() == "bob@example.test"
    assert page.get_by_label("Subject").input_value() == "Re: Quarterly numbers"
    page.get_by_label("Message").press("Control+Home")
    page.get_by_label("Message").type("Thanks!")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"{server.url}/folder/INBOX*")
    # Forward, with the original's attachment, to bob
    page.get_by_role("link", name="Quarterly numbers").click()
    page.get_by_role("link", name="Forward").click()
    page.get_by_label("To", exact=True).fill("bob@example.test")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"{server.url}/folder/INBOX*")
    bob_context = browser.new_context()  # type: ignore[attr-defined]
    bob = sign_in(bob_context, server, "bob")
    assert bob.get_by_role("link", name="Re: Quarterly numbers").count() == 1
    bob.get_by_role("link", name="Fwd: Quarterly numbers").click()
    assert bob.get_by_role("link", name="report.pdf").count() == 1
    with bob.expect_download() as download:
        bob.get_by_role("link", name="report.pdf").click()
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-1.4")
    bob_context.close()
    # Search
    page.get_by_role("searchbox", name="Search").fill("Quarterly")
    page.get_by_role("button", name="Search", exact=True).first.click()
    assert page.get_by_role("link", name="Quarterly numbers").count() == 1
    # Delete: to Trash
    page.get_by_role("link", name="Quarterly numbers").click()
    page.get_by_role("button", name="Delete").click()
    page.wait_for_url(f"{server.url}/folder/INBOX")
    assert page.get_by_role("link", name="Quarterly numbers").count() == 0
    assert "Quarterly numbers" in imap_subjects(server, "alice", "Trash")
    context.close()


def test_draft_saved_as_the_user_writes_and_resumed(server: Server, browser: object) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = sign_in(context, server, "alice")
    page.get_by_role("link", name="Write").click()
    page.get_by_label("Subject").fill("Unfinished thoughts")
    page.get_by_label("Message").fill("First line")
    page.locator("#draft-status").wait_for(state="visible", timeout=DEADLINE * 1000)
    assert "Unfinished thoughts" in imap_subjects(server, "alice", "Drafts")
    page.goto(server.url + "/folder/Drafts")
    page.get_by_role("link", name="Unfinished thoughts").click()
    page.get_by_role("link", name="Edit draft").click()
    assert page.get_by_label("Subject").input_value() == "Unfinished thoughts"
    assert "First line" in page.get_by_label("Message").input_value()
    page.get_by_label("To", exact=True).fill("bob@example.test")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"{server.url}/folder/INBOX*")
    assert "Unfinished thoughts" not in imap_subjects(server, "alice", "Drafts")
    assert "Unfinished thoughts" in imap_subjects(server, "bob", "INBOX")
    # bob is now a past correspondent: offered when an address is typed
    page.goto(server.url + "/compose")
    options = page.locator("datalist#addresses option").evaluate_all("os => os.map(o => o.value)")
    assert "bob@example.test" in options
    context.close()


SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.mark.parametrize("size", sorted(SIZES))
def test_accessibility_and_screenshots(server: Server, browser: object, size: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    server.send("alice@example.test", with_attachment("Screenshot sample"))
    context = browser.new_context(viewport=SIZES[size])  # type: ignore[attr-defined]
    page = sign_in(context, server, "alice")
    axe = Axe()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    views = {
        "list": lambda: page.goto(server.url + "/folder/INBOX"),
        "reading": lambda: (page.goto(server.url + "/folder/INBOX"), page.get_by_role("link", name="Screenshot sample").first.click()),
        "compose": lambda: page.goto(server.url + "/compose"),
    }
    for name, show in views.items():
        show()
        page.wait_for_load_state()
        results = axe.run(page)
        bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
        assert bad == [], f"{name} at {size}: " + "; ".join(f"{v['id']}: {v['help']}" for v in bad)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"))
    context.close()


def test_keyboard_shortcuts(server: Server, browser: object) -> None:
    server.send("alice@example.test", mail("Shortcut target"))
    context = browser.new_context()  # type: ignore[attr-defined]
    page = sign_in(context, server, "alice")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("j")
    page.keyboard.press("o")
    page.wait_for_url(f"{server.url}/message/*")
    page.keyboard.press("r")
    page.wait_for_url(f"{server.url}/compose?mode=reply*")
    page.keyboard.press("c")  # typing in a field is not a shortcut
    assert "mode=reply" in page.url
    page.locator("h1").click()
    page.keyboard.press("c")
    page.wait_for_url(f"{server.url}/compose")
    context.close()


def test_flag_change_over_imap_shows_without_reload(server: Server, browser: object) -> None:
    server.send("alice@example.test", mail("Seen elsewhere"))
    context = browser.new_context()  # type: ignore[attr-defined]
    page = sign_in(context, server, "alice")
    page.wait_for_function("document.body.dataset.live === '1'")
    row = page.locator("tr", has=page.get_by_role("link", name="Seen elsewhere"))
    assert "unread" in (row.get_attribute("class") or "")
    page.evaluate("window.__sameDocument = true")
    with imaplib.IMAP4("127.0.0.1", server.imap, timeout=DEADLINE) as c:
        c.login("alice@example.test", PASSWORD)
        c.select("INBOX")
        _, found = c.uid("SEARCH", "SUBJECT", '"Seen elsewhere"')
        c.uid("STORE", found[0].split()[-1], "+FLAGS", "(\\Seen)")
    page.wait_for_function(
        """() => { const link = Array.from(document.querySelectorAll('tr a')).find(a => a.textContent.trim() === 'Seen elsewhere');
                   return link && !link.closest('tr').classList.contains('unread'); }""",
        timeout=DEADLINE * 1000,
    )
    assert page.evaluate("window.__sameDocument") is True
    context.close()


def test_attachment_by_drag_and_drop(server: Server, browser: object) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = sign_in(context, server, "alice")
    page.goto(server.url + "/compose")
    page.get_by_label("To", exact=True).fill("bob@example.test")
    page.get_by_label("Subject").fill("Dropped file")
    page.evaluate(
        """() => {
            const files = new DataTransfer();
            files.items.add(new File(["dropped bytes"], "dropped.txt", { type: "text/plain" }));
            const form = document.querySelector("form.compose");
            form.dispatchEvent(new DragEvent("drop", { dataTransfer: files, bubbles: true, cancelable: true }));
        }"""
    )
    assert page.evaluate("document.getElementById('attachment').files[0].name") == "dropped.txt"
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"{server.url}/folder/INBOX*")
    bob_context = browser.new_context()  # type: ignore[attr-defined]
    bob = sign_in(bob_context, server, "bob")
    bob.get_by_role("link", name="Dropped file").click()
    assert bob.get_by_role("link", name="dropped.txt").count() == 1
    bob_context.close()
    context.close()
