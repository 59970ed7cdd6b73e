"""Webmail over HTTP in-process: sign-in, cookies, CSRF, CSP, CR/LF, reading, sending."""

from __future__ import annotations

import re
from urllib.parse import unquote

import httpx
from web_helpers import DOMAIN, PASSWORD, client_for, csrf_of, hidden, sign_in

from postoffice.app import Services
from postoffice.web.app import SESSION_COOKIE, WebApp

PLAIN = (
    b"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: Hello plain\r\n"
    b"Message-ID: <p1@example.test>\r\nDate: Tue, 14 Nov 2023 10:00:00 +0000\r\n\r\n"
    b"See https://example.org/page?a=1&b=2 today.\r\n<b>not bold</b>\r\n"
)
HTML = (
    b"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: Hello html\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n"
    b"--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    b"<p onclick=\"alert(1)\">Hi <b>there</b></p><script>alert(2)</script><img src=\"http://evil.test/x.png\">\r\n"
    b"--b1\r\nContent-Type: text/html; name=\"evil.html\"\r\nContent-Disposition: attachment; filename=\"evil.html\"\r\n\r\n"
    b"<script>alert(3)</script>\r\n"
    b"--b1--\r\n"
)


async def test_sign_in_sets_a_strict_cookie_and_lands_on_the_inbox(client: httpx.AsyncClient) -> None:
    response = await sign_in(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Secure" not in cookie  # plain http: the browser would drop a Secure cookie
    inbox = await client.get("/folder/INBOX")
    assert inbox.status_code == 200 and "alice@example.test" in inbox.text


async def test_https_cookie_is_secure(webmail: tuple[WebApp, Services]) -> None:
    async with client_for(webmail[0], "https://mail.example.test") as c:
        response = await sign_in(c)
        assert response.status_code == 303
        assert "Secure" in response.headers["set-cookie"]


async def test_wrong_password_is_refused_after_the_shared_failure_delay(
    client: httpx.AsyncClient, webmail: tuple[WebApp, Services], manual_clock: object
) -> None:
    response = await sign_in(client, password="wrong")
    assert response.status_code == 401
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert manual_clock.slept  # type: ignore[attr-defined]  # mail.auth waited its delay
    assert (await client.get("/folder/INBOX")).status_code == 303


async def test_no_open_redirect_after_sign_in(webmail: tuple[WebApp, Services]) -> None:
    for target in ("//evil.test/x", "https://evil.test/", "/\\evil.test", "javascript:alert(1)", "/folder/Sent"):
        async with client_for(webmail[0]) as c:
            response = await sign_in(c, next=target)
            assert response.status_code == 303
            assert response.headers["location"] == ("/folder/Sent" if target == "/folder/Sent" else "/"), target
    async with client_for(webmail[0]) as c:
        page = await c.get("/login?next=//evil.test/")
        assert hidden(page.text, "next") == "/"


async def test_sign_in_without_the_form_token_is_refused(client: httpx.AsyncClient) -> None:
    await client.get("/login")
    response = await client.post("/login", data={"csrf": "forged", "address": f"alice@{DOMAIN}", "password": PASSWORD})
    assert response.status_code == 403


async def test_cross_site_and_tokenless_posts_are_refused(alice: httpx.AsyncClient) -> None:
    csrf = await csrf_of(alice)
    no_token = await alice.post("/folders", data={"action": "create", "name": "X1"})
    assert no_token.status_code == 403
    cross = await alice.post(
        "/folders", data={"csrf": csrf, "action": "create", "name": "X2"}, headers={"Origin": "https://evil.test"}
    )
    assert cross.status_code == 403
    ok = await alice.post("/folders", data={"csrf": csrf, "action": "create", "name": "X3"})
    assert ok.status_code == 303
    page = (await alice.get("/folder/INBOX")).text
    # The folder links of the page, not its text: the page also holds the session's
    # random CSRF token, which contains "X1" or "X2" in about one session in fifty.
    folders = {unquote(name) for name in re.findall(r'href="/folder/([^"?]+)"', page)}
    assert "X3" in folders and "X1" not in folders and "X2" not in folders


async def test_pages_carry_a_strict_csp(alice: httpx.AsyncClient) -> None:
    response = await alice.get("/folder/INBOX")
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "default-src 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    login = await alice.get("/login")
    assert "frame-ancestors 'none'" in login.headers["content-security-policy"]


async def test_errors_are_pages_not_tracebacks(alice: httpx.AsyncClient) -> None:
    missing = await alice.get("/folder/NoSuchFolder")
    assert missing.status_code == 404 and "<html" in missing.text and "Traceback" not in missing.text
    assert (await alice.get("/message/999?folder=INBOX")).status_code == 404
    assert (await alice.get("/nowhere")).status_code == 404


async def test_read_plain_message_links_are_clickable_and_text_escaped(
    alice: httpx.AsyncClient, webmail: tuple[WebApp, Services]
) -> None:
    _, services = webmail
    result = await services.mail.deliver(PLAIN, [f"alice@{DOMAIN}"])
    uid = result.records[0].uid
    listing = await alice.get("/folder/INBOX")
    assert "Hello plain" in listing.text and 'class="unread' in listing.text
    page = await alice.get(f"/message/{uid}?folder=INBOX")
    assert page.status_code == 200
    assert '<a href="https://example.org/page?a=1&amp;b=2"' in page.text
    assert "&lt;b&gt;not bold&lt;/b&gt;" in page.text
    # Reading marks it read.
    assert 'class="unread' not in (await alice.get("/folder/INBOX")).text


async def test_html_mail_is_sanitised_framed_and_sandboxed(alice: httpx.AsyncClient, webmail: tuple[WebApp, Services]) -> None:
    _, services = webmail
    uid = (await services.mail.deliver(HTML, [f"alice@{DOMAIN}"])).records[0].uid
    page = await alice.get(f"/message/{uid}?folder=INBOX")
    assert "<iframe" in page.text and 'sandbox="allow-popups' in page.text
    assert "evil.html" in page.text
    frame = await alice.get(f"/message/{uid}/html?folder=INBOX")
    assert "<b>there</b>" in frame.text
    assert "script" not in frame.text.lower() and "onclick" not in frame.text
    csp = frame.headers["content-security-policy"]
    assert "sandbox" in csp and "script-src" not in csp and "default-src 'none'" in csp
    assert "img-src data:;" in csp  # remote images blocked
    shown = await alice.get(f"/message/{uid}/html?folder=INBOX&images=1")
    assert "https:" in shown.headers["content-security-policy"]
    attachment = await alice.get(f"/message/{uid}/part/2?folder=INBOX")
    assert attachment.status_code == 200
    assert attachment.headers["content-disposition"].startswith("attachment;")
    assert attachment.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in attachment.headers["content-security-policy"]


async def test_send_to_a_local_user_delivers_and_keeps_a_copy_in_sent(
    alice: httpx.AsyncClient, webmail: tuple[WebApp, Services]
) -> None:
    _, services = webmail
    page = await alice.get("/compose")
    form = {"csrf": hidden(page.text, "csrf"), "to": f"bob@{DOMAIN}", "subject": "Lunch?", "body": "At noon."}
    response = await alice.post("/send", data=form, files={"attachment": ("menu.txt", b"soup", "text/plain")})
    assert response.status_code == 303, response.text
    bob = await services.mail.get_account(f"bob@{DOMAIN}")
    assert bob is not None
    inbox = await services.mail.list_messages(await services.mail.get_mailbox(bob, "INBOX"))
    assert len(inbox) == 1
    content = await services.mail.get_content(inbox[0].content_id)
    data = await services.mail.read(content)
    assert b"Subject: Lunch?" in data and b"menu.txt" in data and b"Return-Path: <alice@example.test>" in data
    account = await services.mail.get_account(f"alice@{DOMAIN}")
    assert account is not None
    sent = await services.mail.list_messages(await services.mail.get_mailbox(account, "Sent"))
    assert len(sent) == 1 and "\\Seen" in sent[0].flags


async def test_cr_lf_in_a_compose_field_is_refused(alice: httpx.AsyncClient, webmail: tuple[WebApp, Services]) -> None:
    _, services = webmail
    csrf = await csrf_of(alice, "/compose")
    for field, value in (("subject", "Hi\r\nBcc: victim@example.test"), ("to", "bob@example.test\nBcc: x@example.test")):
        form = {"csrf": csrf, "to": f"bob@{DOMAIN}", "subject": "ok", "body": "b", field: value}
        response = await alice.post("/send", data=form)
        assert response.status_code == 400, field
    bob = await services.mail.get_account(f"bob@{DOMAIN}")
    assert bob is not None
    assert await services.mail.list_messages(await services.mail.get_mailbox(bob, "INBOX")) == []


async def test_sign_out_and_sessions_are_revocable(webmail: tuple[WebApp, Services]) -> None:
    app, _ = webmail
    async with client_for(app) as one, client_for(app) as two:
        await sign_in(one)
        await sign_in(two)
        sessions = await one.get("/sessions")
        assert sessions.text.count("<tr>") == 3  # header row + two sessions
        assert sessions.text.count('name="session"') == 1  # the other one can be ended
        response = await one.post("/sessions", data={"csrf": hidden(sessions.text, "csrf"), "action": "all"})
        assert response.status_code == 303
        assert (await two.get("/folder/INBOX")).status_code == 303  # the other browser is out too
        await sign_in(one)
        csrf = await csrf_of(one)
        await one.post("/logout", data={"csrf": csrf})
        assert (await one.get("/folder/INBOX")).status_code == 303


async def test_list_pages_newest_first_by_uid(alice: httpx.AsyncClient, webmail: tuple[WebApp, Services]) -> None:
    _, services = webmail
    for n in range(55):
        await services.mail.deliver(f"Subject: m{n:03d}\r\nFrom: bob@example.test\r\n\r\nx\r\n".encode(), [f"alice@{DOMAIN}"])
    first = (await alice.get("/folder/INBOX")).text
    assert first.index("m054") < first.index("m010") and "m004" not in first
    older = hidden(first.replace('href="/folder/INBOX?before=', 'name="before" value="'), "before")
    second = (await alice.get(f"/folder/INBOX?before={older}")).text
    assert "m004" in second and "m000" in second and "m054" not in second


async def test_chinese_by_accept_language(alice: httpx.AsyncClient) -> None:
    page = await alice.get("/folder/INBOX", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert "收件箱" in page.text and 'lang="zh-CN"' in page.text
    english = await alice.get("/folder/INBOX", headers={"Accept-Language": "en-US"})
    assert "收件箱" not in english.text


async def test_draft_saved_resumed_and_dropped_when_sent(alice: httpx.AsyncClient, webmail: tuple[WebApp, Services]) -> None:
    _, services = webmail
    csrf = await csrf_of(alice, "/compose")
    form = {"csrf": csrf, "action": "draft", "to": f"bob@{DOMAIN}", "bcc": "carol@example.test", "subject": "Half done", "body": "So far."}
    saved = await alice.post("/send", data=form, files={"attachment": ("notes.txt", b"kept", "text/plain")})
    assert saved.status_code == 303 and "mode=draft" in saved.headers["location"]
    account = await services.mail.get_account(f"alice@{DOMAIN}")
    assert account is not None
    drafts = await services.mail.get_mailbox(account, "Drafts")
    [record] = await services.mail.list_messages(drafts)
    assert "\\Draft" in record.flags
    resumed = await alice.get(saved.headers["location"])
    assert hidden(resumed.text, "draft_uid") == str(record.uid)
    assert 'value="Half done"' in resumed.text and "So far." in resumed.text and "notes.txt" in resumed.text
    assert hidden(resumed.text, "bcc") == "carol@example.test"
    form = {
        "csrf": csrf, "action": "send", "to": f"bob@{DOMAIN}", "subject": "Half done", "body": "Done.",
        "draft_uid": str(record.uid), "forward_folder": "Drafts", "forward_uid": str(record.uid),
    }
    sent = await alice.post("/send", data=form)
    assert sent.status_code == 303, sent.text
    assert await services.mail.list_messages(drafts) == []
    bob = await services.mail.get_account(f"bob@{DOMAIN}")
    assert bob is not None
    [delivered] = await services.mail.list_messages(await services.mail.get_mailbox(bob, "INBOX"))
    data = await services.mail.read(await services.mail.get_content(delivered.content_id))
    assert b"notes.txt" in data and b"Bcc" not in data


async def test_autosave_answers_json(alice: httpx.AsyncClient) -> None:
    csrf = await csrf_of(alice, "/compose")
    response = await alice.post(
        "/send", data={"csrf": csrf, "action": "draft", "subject": "auto"}, headers={"X-Requested-With": "fetch"}
    )
    assert response.status_code == 200 and response.json()["folder"] == "Drafts"
    bad = await alice.post(
        "/send", data={"csrf": csrf, "action": "draft", "subject": "a\nb"}, headers={"X-Requested-With": "fetch"}
    )
    assert bad.status_code == 400 and "error" in bad.json()


async def test_addresses_completed_from_past_correspondents(alice: httpx.AsyncClient, webmail: tuple[WebApp, Services]) -> None:
    _, services = webmail
    await services.mail.deliver(PLAIN, [f"alice@{DOMAIN}"])
    page = await alice.get("/compose")
    assert '<datalist id="addresses">' in page.text and '<option value="bob@example.test">' in page.text


async def test_search_by_text_and_date_range_in_one_or_all_folders(
    alice: httpx.AsyncClient, webmail: tuple[WebApp, Services]
) -> None:
    _, services = webmail
    def dated(subject: str, date: str) -> bytes:
        return f"From: bob@example.test\r\nSubject: {subject}\r\nDate: {date}\r\n\r\nbody of {subject}\r\n".encode()

    await services.mail.deliver(dated("apples early", "Mon, 02 Jan 2023 10:00:00 +0000"), [f"alice@{DOMAIN}"])
    await services.mail.deliver(dated("apples late", "Fri, 01 Dec 2023 10:00:00 +0000"), [f"alice@{DOMAIN}"])
    account = await services.mail.get_account(f"alice@{DOMAIN}")
    assert account is not None
    await services.mail.append(account, "Archive", dated("archived apples", "Sat, 02 Dec 2023 10:00:00 +0000"))
    everywhere = (await alice.get("/search", params={"q": "apples"})).text
    assert "apples early" in everywhere and "apples late" in everywhere and "archived apples" in everywhere
    inbox_only = (await alice.get("/search", params={"q": "apples", "folder": "INBOX"})).text
    assert "archived apples" not in inbox_only and "apples late" in inbox_only
    ranged = (await alice.get("/search", params={"q": "apples", "since": "2023-06-01", "before": "2023-12-01"})).text
    assert "apples late" in ranged and "apples early" not in ranged and "archived apples" not in ranged
    by_subject = (await alice.get("/search", params={"q": "body of apples early", "field": "body"})).text
    assert "apples early" in by_subject and "apples late" not in by_subject


async def test_folder_create_rename_into_a_parent_and_delete(alice: httpx.AsyncClient, webmail: tuple[WebApp, Services]) -> None:
    _, services = webmail
    csrf = await csrf_of(alice)
    assert (await alice.post("/folders", data={"csrf": csrf, "action": "create", "name": "Projects"})).status_code == 303
    assert (await alice.post("/folders", data={"csrf": csrf, "action": "create", "name": "Old"})).status_code == 303
    moved = await alice.post("/folders", data={"csrf": csrf, "action": "rename", "name": "Projects", "new": "Old/Projects"})
    assert moved.status_code == 303 and moved.headers["location"] == "/folder/Old/Projects"
    account = await services.mail.get_account(f"alice@{DOMAIN}")
    assert account is not None
    names = {m.name for m in await services.mail.list_mailboxes(account)}
    assert "Old/Projects" in names and "Projects" not in names
    refused = await alice.post("/folders", data={"csrf": csrf, "action": "delete", "name": "Old"})
    assert refused.status_code == 409  # it has a child
    assert (await alice.post("/folders", data={"csrf": csrf, "action": "delete", "name": "Old/Projects"})).status_code == 303
    assert (await alice.post("/folders", data={"csrf": csrf, "action": "delete", "name": "INBOX"})).status_code == 403


async def test_attachment_byte_ranges(alice: httpx.AsyncClient, webmail: tuple[WebApp, Services]) -> None:
    import base64

    _, services = webmail
    payload = bytes(range(256)) * 400  # 100 KiB: a part of its own in the part store
    encoded = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    message = (
        b"From: bob@example.test\r\nSubject: ranged\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n"
        b"--m\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b"--m\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=data.bin\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded + b"--m--\r\n"
    )
    uid = (await services.mail.deliver(message, [f"alice@{DOMAIN}"])).records[0].uid
    url = f"/message/{uid}/part/2?folder=INBOX"
    whole = await alice.get(url)
    assert whole.status_code == 200 and whole.content == payload and whole.headers["accept-ranges"] == "bytes"
    before = services.blobs.bytes_read
    part = await alice.get(url, headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == payload[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(payload)}"
    assert services.blobs.bytes_read - before <= 1000  # only the range was read
    tail = await alice.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == payload[-10:]
    beyond = await alice.get(url, headers={"Range": f"bytes={len(payload)}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(payload)}"
    several = await alice.get(url, headers={"Range": "bytes=0-1,5-6"})
    assert several.status_code == 206 and several.headers["content-type"].startswith("multipart/byteranges")


async def test_conversations_grouped_by_in_reply_to(alice: httpx.AsyncClient, webmail: tuple[WebApp, Services]) -> None:
    _, services = webmail

    def msg(subject: str, mid: str, parent: str = "", day: int = 1) -> bytes:
        extra = f"In-Reply-To: <{parent}>\r\n" if parent else ""
        return (
            f"From: bob@example.test\r\nSubject: {subject}\r\nMessage-ID: <{mid}>\r\n{extra}"
            f"Date: {day:02d} Mar 2024 10:00:00 +0000\r\n\r\nx\r\n"
        ).encode()

    for data in (msg("topic A", "a@x", day=1), msg("topic B", "b@x", day=2), msg("Re: topic A", "a2@x", "a@x", day=3)):
        await services.mail.deliver(data, [f"alice@{DOMAIN}"])
    flat = (await alice.get("/folder/INBOX")).text
    assert flat.index("Re: topic A") < flat.index("topic B") < flat.index(">topic A<")
    grouped = (await alice.get("/folder/INBOX?threads=1")).text
    # topic A's conversation has the newest message, so it comes first, in date order.
    assert grouped.index(">topic A<") < grouped.index("Re: topic A") < grouped.index("topic B")
    assert grouped.count(' reply"') == 1  # the reply is indented under its thread


async def test_conversations_span_the_whole_folder_and_page_by_conversation(
    alice: httpx.AsyncClient, webmail: tuple[WebApp, Services]
) -> None:
    """The oldest message and its newest reply, 56 messages apart, are one conversation on
    the first page; the reply names it only in References (its In-Reply-To is a message
    not in the folder); the second page goes on by conversation, repeating none."""
    _, services = webmail
    inbox = f"alice@{DOMAIN}"

    def msg(subject: str, mid: str, day: int, headers: str = "") -> bytes:
        return (
            f"From: bob@example.test\r\nSubject: {subject}\r\nMessage-ID: <{mid}>\r\n{headers}"
            f"Date: {1 + day // 24:02d} Mar 2024 {day % 24:02d}:00:00 +0000\r\n\r\nx\r\n"
        ).encode()

    await services.mail.deliver(msg("opening question", "root@x", 0), [inbox])
    for n in range(1, 56):
        await services.mail.deliver(msg(f"unrelated {n:02d}", f"u{n}@x", n), [inbox])
    reply = msg("late answer", "late@x", 60, "In-Reply-To: <gone@x>\r\nReferences: <root@x> <gone@x>\r\n")
    await services.mail.deliver(reply, [inbox])

    first = (await alice.get("/folder/INBOX?threads=1")).text
    assert first.index(">opening question<") < first.index(">late answer<") < first.index(">unrelated 55<")
    assert ">unrelated 07<" in first and ">unrelated 06<" not in first  # 50 conversations a page
    older = re.search(r'rel="next" href="([^"]+)"', first)
    assert older is not None
    second = (await alice.get(older.group(1).replace("&amp;", "&"))).text
    shown = re.findall(r">(unrelated \d\d|opening question|late answer)<", second)
    assert shown == [f"unrelated {n:02d}" for n in range(6, 0, -1)]
    assert 'rel="next"' not in second

    # A new message joins its conversation at once (the grouping follows the folder).
    await services.mail.deliver(msg("Re: unrelated 01", "r1@x", 61, "In-Reply-To: <u1@x>\r\n"), [inbox])
    again = (await alice.get("/folder/INBOX?threads=1")).text
    assert again.index(">unrelated 01<") < again.index(">Re: unrelated 01<") < again.index(">opening question<")


async def test_sender_is_the_user_or_one_of_their_aliases(alice: httpx.AsyncClient, webmail: tuple[WebApp, Services]) -> None:
    _, services = webmail
    await services.mail.add_alias(f"sales@{DOMAIN}", f"alice@{DOMAIN}")
    page = await alice.get("/compose")
    assert '<option value="sales@example.test">' in page.text
    csrf = hidden(page.text, "csrf")
    form = {"csrf": csrf, "to": f"bob@{DOMAIN}", "subject": "as sales", "body": "x", "from": f"sales@{DOMAIN}"}
    assert (await alice.post("/send", data=form)).status_code == 303
    forged = {**form, "from": f"bob@{DOMAIN}", "subject": "as bob"}
    assert (await alice.post("/send", data=forged)).status_code == 403
    bob = await services.mail.get_account(f"bob@{DOMAIN}")
    assert bob is not None
    [only] = await services.mail.list_messages(await services.mail.get_mailbox(bob, "INBOX"))
    data = await services.mail.read(await services.mail.get_content(only.content_id))
    assert b"From: sales@example.test" in data and b"Return-Path: <sales@example.test>" in data


async def test_forward_takes_the_attachments_from_the_store_without_copying_them(
    alice: httpx.AsyncClient, webmail: tuple[WebApp, Services]
) -> None:
    """Forwarding a message with a large attachment stores no new blob: bob's copy names
    the original's part blob, and the blob store grows by less than the attachment (only
    the new message's own octets: its headers and text). The part is streamed from the
    store, never held whole: the server's memory peak while sending stays well below
    the attachment's size."""
    import base64
    import os
    import tracemalloc

    _, services = webmail
    video = os.urandom(8_000_000)
    encoded = base64.encodebytes(video).replace(b"\n", b"\r\n")
    original = (
        b"From: carol@example.test\r\nTo: alice@example.test\r\nSubject: the clip\r\n"
        b"Message-ID: <clip@x>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n"
        b"--zz\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b'--zz\r\nContent-Type: video/webm\r\nContent-Disposition: attachment; filename="clip.webm"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded + b"--zz--\r\n"
    )
    delivered = await services.mail.deliver(original, [f"alice@{DOMAIN}"])
    source = await services.mail.get_content(delivered.records[0].content_id)
    [clip_blob] = [b for b in source.blob_ids if services.blobs.size(b) == len(video)]
    before = services.blobs.total_size()  # type: ignore[attr-defined]

    page = await alice.get(f"/compose?mode=forward&folder=INBOX&uid={delivered.records[0].uid}")
    assert "clip.webm" in page.text
    form = {
        "csrf": hidden(page.text, "csrf"), "to": f"bob@{DOMAIN}", "subject": hidden(page.text, "subject"),
        "body": "for you", "forward_folder": "INBOX", "forward_uid": str(delivered.records[0].uid),
    }  # fmt: skip
    tracemalloc.start()
    try:
        assert (await alice.post("/send", data=form)).status_code == 303
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < len(video) // 2, peak

    bob = await services.mail.get_account(f"bob@{DOMAIN}")
    assert bob is not None
    [record] = await services.mail.list_messages(await services.mail.get_mailbox(bob, "INBOX"))
    forwarded = await services.mail.get_content(record.content_id)
    assert clip_blob in forwarded.blob_ids  # the stored part itself, not a copy
    structure = services.mail.bodystructure(forwarded)
    clip = next(p for p in structure.root.children if p.filename == "clip.webm")
    assert await services.mail.read_part(forwarded, clip.section) == video
    grown = services.blobs.total_size() - before  # type: ignore[attr-defined]
    assert grown < 20_000, grown  # the new skeleton at most (Sent keeps the same content)
