"""Writes the shaped test corpus: ``tests/corpus/*.eml`` and ``tests/corpus/expected.json``.

Run ``python tests/corpus/make_corpus.py`` to regenerate (deterministic). Each message
is built from a small tree, so the expected facts (part numbers and content types,
decoded subject, decoded text of text parts) come from the construction, not from the
parser under test. Malformed messages carry hand-written expectations.
"""

from __future__ import annotations

import base64
import json
import quopri
import random
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
rng = random.Random(20261127)

# ---- builders ------------------------------------------------------------------------------


class Leaf:
    def __init__(self, ctype: str, data: bytes, *, cte: str = "7bit", params: str = "", extra: str = "",
                 text: str | None = None, line_length: int = 76) -> None:
        self.ctype, self.data, self.cte, self.params, self.extra = ctype, data, cte, params, extra
        self.text, self.line_length = text, line_length

    def headers(self) -> str:
        h = f"Content-Type: {self.ctype}{'; ' + self.params if self.params else ''}\r\n"
        if self.cte:
            h += f"Content-Transfer-Encoding: {self.cte}\r\n"
        return h + self.extra

    def body(self) -> bytes:
        if self.cte == "base64":
            enc = base64.b64encode(self.data)
            lines = [enc[i : i + self.line_length] for i in range(0, len(enc), self.line_length)]
            return b"\r\n".join(lines) + b"\r\n"
        if self.cte == "quoted-printable":
            return quopri.encodestring(self.data.replace(b"\r\n", b"\n")).replace(b"\n", b"\r\n")
        return self.data


class Multi:
    def __init__(self, subtype: str, parts: list[Any], boundary: str | None = None) -> None:
        self.subtype, self.parts = subtype, parts
        self.boundary = boundary or f"=_b{rng.randrange(10**9)}"

    def headers(self) -> str:
        return f'Content-Type: multipart/{self.subtype}; boundary="{self.boundary}"\r\n'

    def body(self) -> bytes:
        out = b"This is a multi-part message in MIME format.\r\n"
        for p in self.parts:
            out += b"\r\n--" + self.boundary.encode() + b"\r\n" + render_part(p)
        return out + b"\r\n--" + self.boundary.encode() + b"--\r\n"


class Msg:
    """message/rfc822 part holding a whole message."""

    def __init__(self, inner: bytes) -> None:
        self.inner = inner

    def headers(self) -> str:
        return "Content-Type: message/rfc822\r\n"

    def body(self) -> bytes:
        return self.inner


def render_part(p: Any) -> bytes:
    return p.headers().encode() + b"\r\n" + p.body()


def message(top: Any, subject: str = "test", extra: str = "", frm: str = "Ann <ann@example.test>") -> bytes:
    head = (f"From: {frm}\r\nTo: bob@example.test\r\nSubject: {subject}\r\n"
            f"Date: Fri, 27 Nov 2026 12:00:00 +0100\r\nMessage-ID: <{rng.randrange(10**12)}@example.test>\r\n"
            f"MIME-Version: 1.0\r\n{extra}")
    return head.encode("utf-8") + render_part(top)


def shape(top: Any, prefix: str = "", as_message: bool = True) -> list[list[str]]:
    """[[section, type/subtype], ...] as the IMAP part numbers see them."""
    out: list[list[str]] = []
    if isinstance(top, Multi):
        if prefix:
            out.append([prefix, f"multipart/{top.subtype}"])
        for i, p in enumerate(top.parts, 1):
            out += shape(p, f"{prefix}.{i}" if prefix else str(i), as_message=False)
        return out
    section = (f"{prefix}.1" if prefix else "1") if as_message else prefix
    out.append([section, top.ctype if isinstance(top, Leaf) else "message/rfc822"])
    return out


def texts(top: Any, prefix: str = "", as_message: bool = True) -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(top, Multi):
        for i, p in enumerate(top.parts, 1):
            out.update(texts(p, f"{prefix}.{i}" if prefix else str(i), as_message=False))
    elif isinstance(top, Leaf) and top.text is not None:
        out[(f"{prefix}.1" if prefix else "1") if as_message else prefix] = top.text
    return out


CORPUS: dict[str, bytes] = {}
EXPECTED: dict[str, dict[str, Any]] = {}


def add(name: str, top: Any, subject: str = "test", decoded_subject: str | None = None, extra: str = "",
        **facts: Any) -> None:
    CORPUS[name] = message(top, subject, extra)
    EXPECTED[name] = {"shape": shape(top), "texts": texts(top), "subject": decoded_subject or subject, **facts}


def raw(name: str, data: bytes, **facts: Any) -> None:
    CORPUS[name] = data
    EXPECTED[name] = facts


def text_leaf(text: str, charset: str, cte: str, subtype: str = "plain") -> Leaf:
    return Leaf(f"text/{subtype}", text.encode(charset), cte=cte, params=f"charset={charset}", text=text)


# ---- the corpus ----------------------------------------------------------------------------

SAMPLES = {
    "iso-8859-1": "Grüße aus Köln, ça va? Ñandú.",
    "windows-1252": "Smart “quotes” – and the € sign.",
    "koi8-r": "Привет, мир! Съешь же ещё этих мягких булок.",
    "shift_jis": "こんにちは世界、日本語のメールです。",
    "utf-8": "Ünïcödé ✓ 漢字 emoji 🎉 done.",
    "gb2312": "你好，世界。这是一封中文邮件。",
    "iso-2022-jp": "日本語の件名とテキスト",
    "big5": "繁體中文郵件測試",
    "euc-kr": "안녕하세요 세계",
    "iso-8859-15": "Œuvre à 10 €, ŠŽ.",
    "windows-1251": "Кириллица в windows-1251",
    "iso-8859-7": "Καλημέρα κόσμε",
}


def build() -> None:
    add("plain-ascii.eml", Leaf("text/plain", b"Hello, world.\r\nSecond line.\r\n", params="charset=us-ascii",
                                text="Hello, world.\r\nSecond line.\r\n"))
    for cs, sample in SAMPLES.items():
        for cte in ("quoted-printable", "base64", "8bit"):
            if cte == "8bit" and cs not in ("iso-8859-1", "koi8-r", "utf-8", "shift_jis"):
                continue
            ew = base64.b64encode(sample.encode(cs)).decode()
            add(f"charset-{cs}-{cte}.eml", text_leaf(sample + "\r\n", cs, cte),
                subject=f"=?{cs}?B?{ew}?=", decoded_subject=sample)
    add("qp-subject.eml", Leaf("text/plain", b"x\r\n"), subject="=?iso-8859-1?Q?Caf=E9_cr=E8me?= and more",
        decoded_subject="Café crème and more")
    add("adjacent-encoded-words.eml", Leaf("text/plain", b"x\r\n"),
        subject="=?utf-8?B?5pel5pys?= =?utf-8?B?6Kqe?=", decoded_subject="日本語")
    add("split-multibyte-words.eml", Leaf("text/plain", b"x\r\n"),
        subject="=?utf-8?B?" + base64.b64encode("é".encode()[:1]).decode() + "?= =?utf-8?B?"
        + base64.b64encode("é".encode()[1:]).decode() + "?=", decoded_subject="é")
    alt = Multi("alternative", [text_leaf("plain version\r\n", "utf-8", "quoted-printable"),
                                text_leaf("<p>html version</p>\r\n", "utf-8", "quoted-printable", "html")])
    related = Multi("related", [alt, Leaf("image/png", bytes(range(256)) * 40, cte="base64",
                                          extra="Content-ID: <img1@example.test>\r\n")])
    add("nested-mixed-related-alt.eml", Multi("mixed", [related, Leaf("application/pdf", b"%PDF-1.4 fake" * 300,
                                              cte="base64", extra='Content-Disposition: attachment; filename="a.pdf"\r\n')]))
    inner = message(Multi("mixed", [text_leaf("inner text\r\n", "utf-8", "7bit"),
                                    Leaf("application/octet-stream", b"\x00\x01" * 500, cte="base64")]), "inner subject")
    add("rfc822-in-multipart.eml", Multi("mixed", [text_leaf("see attached\r\n", "utf-8", "7bit"), Msg(inner)]),
        inner_subject="inner subject")
    inner_single = message(text_leaf("single inner\r\n", "utf-8", "7bit"), "inner single")
    add("rfc822-single-inner.eml", Multi("mixed", [text_leaf("fwd\r\n", "utf-8", "7bit"), Msg(inner_single)]))
    deep_inner = message(Multi("mixed", [text_leaf("level2\r\n", "utf-8", "7bit"), Msg(inner_single)]), "lvl1")
    add("rfc822-nested-twice.eml", Multi("mixed", [text_leaf("top\r\n", "utf-8", "7bit"), Msg(deep_inner)]))
    add("digest.eml", Multi("digest", [Msg(inner_single), Msg(message(Leaf("text/plain", b"two\r\n"), "two"))]))
    for cte in ("7bit", "8bit", "binary", "quoted-printable", "base64"):
        data = b"line one\r\nline two \xe9\r\n" if cte != "7bit" else b"line one\r\nline two\r\n"
        if cte == "binary":
            data = bytes(range(1, 256)).replace(b"\r", b"").replace(b"\n", b"") + b"\r\n"
        add(f"cte-{cte}.eml", Multi("mixed", [Leaf("application/octet-stream", data, cte=cte)]))
    for ll in (60, 64, 76):
        add(f"base64-lines-{ll}.eml", Multi("mixed", [Leaf("application/octet-stream", bytes(rng.randrange(256) for _ in range(5000)),
                                                           cte="base64", line_length=ll)]))
    add("rfc2231-filename.eml", Multi("mixed", [Leaf("application/octet-stream", b"data", params="name=x.bin",
        extra="Content-Disposition: attachment;\r\n filename*0*=utf-8''na%C3%AFve%20;\r\n filename*1=\"file.txt\"\r\n")]),
        filename={"1": "naïve file.txt"})
    add("uuencode-unknown-cte.eml", Multi("mixed", [Leaf("application/octet-stream", b"begin 644 x\r\n`\r\nend\r\n", cte="x-uuencode")]))
    add("empty-multipart.eml", Multi("mixed", []))
    add("html-only.eml", text_leaf("<html><body><p>Only <b>html</b> &amp; more</p></body></html>\r\n", "utf-8", "7bit", "html"))
    add("unknown-charset.eml", Leaf("text/plain", b"plain words\r\n", params="charset=x-no-such-charset", text="plain words\r\n"))

    # ---- malformations (hand-written) ----
    raw("missing-close-boundary.eml",
        b"Subject: no close\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\none\r\n"
        b"--zz\r\nContent-Type: text/plain\r\n\r\ntwo\r\n",
        shape=[["1", "text/plain"], ["2", "text/plain"]], subject="no close", texts={"1": "one", "2": "two\r\n"})
    raw("bare-lf.eml",
        b"Subject: bare lf\nContent-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: text/plain\n\nlf text\n--q--\n",
        shape=[["1", "text/plain"]], subject="bare lf", texts={"1": "lf text"})
    raw("bare-cr.eml", b"Subject: bare cr\rContent-Type: text/plain\r\rcr body\r", subject_any=True)
    raw("bad-base64.eml",
        b"Subject: bad b64\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"SGVsbG8g!!d29y*bGQ\r\n===\r\n", shape=[["1", "text/plain"]], subject="bad b64")
    raw("broken-encoded-words.eml",
        b"Subject: =?utf-8?B?not base64!?= =?unknown?Q?abc?= =?utf-8?X?zz?= =?utf-8?Q?ok?= tail\r\n\r\nbody\r\n",
        shape=[["1", "text/plain"]], subject_contains=["ok", "tail"])
    raw("eightbit-header-utf8.eml", "Subject: Grüße ohne Kodierung\r\nFrom: Jörg <j@x.test>\r\n\r\nbody\r\n".encode(),
        shape=[["1", "text/plain"]], subject="Grüße ohne Kodierung")
    raw("eightbit-header-latin1.eml", "Subject: Grüße latin1\r\n\r\nbody\r\n".encode("latin-1"),
        shape=[["1", "text/plain"]], subject="Grüße latin1")
    raw("no-blank-line.eml", b"Subject: only headers\r\nX-A: b\r\n", shape=[["1", "text/plain"]], subject="only headers")
    raw("no-headers.eml", b"\r\njust a body\r\n", shape=[["1", "text/plain"]], texts={"1": "just a body\r\n"})
    raw("empty.eml", b"", shape=[["1", "text/plain"]])
    raw("truncated-in-header.eml",
        b"Subject: cut\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: text/pl",
        shape=[["1", "text/pl"]], subject="cut")  # the header as far as it goes
    raw("part-without-blank-line.eml",
        b"Subject: x\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: text/html\r\n--c\r\n"
        b"Content-Type: text/plain\r\n\r\nsecond\r\n--c--\r\n",
        shape=[["1", "text/html"], ["2", "text/plain"]], subject="x")
    raw("boundary-padding.eml",
        b"Subject: pad\r\nContent-Type: multipart/mixed; boundary=pp\r\n\r\n--pp  \t\r\nContent-Type: text/plain\r\n\r\npadded\r\n--pp--  \r\n",
        shape=[["1", "text/plain"]], subject="pad", texts={"1": "padded"})
    raw("boundary-prefix.eml",
        b"Subject: prefix\r\nContent-Type: multipart/mixed; boundary=ab\r\n\r\n--ab\r\nContent-Type: multipart/alternative; boundary=abc\r\n\r\n"
        b"--abc\r\nContent-Type: text/plain\r\n\r\ninner\r\n--abcd\r\nnot a boundary\r\n--abc--\r\n--ab\r\nContent-Type: text/html\r\n\r\n<b>x</b>\r\n--ab--\r\n",
        # RFC 2046 §5.1.1: a line that starts with the delimiter is one ("--abcd" ends part 1.1)
        shape=[["1", "multipart/alternative"], ["1.1", "text/plain"], ["1.2", "text/plain"], ["2", "text/html"]],
        subject="prefix")
    raw("multipart-no-boundary.eml", b"Subject: nb\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\nhello\r\n",
        shape=[["1", "text/plain"]], subject="nb")  # RFC 3501 §7.4.2: one empty part stands in
    raw("bad-content-type.eml", b"Subject: bad ct\r\nContent-Type: garbage\r\n\r\nhello\r\n",
        shape=[["1", "text/plain"]], subject="bad ct")
    raw("duplicate-content-type.eml",
        b"Subject: dup\r\nContent-Type: text/html\r\nContent-Type: image/png\r\n\r\n<b>x</b>\r\n", shape=[["1", "text/html"]])
    raw("nul-bytes.eml", b"Subject: nul\r\nContent-Type: text/plain\r\n\r\na\x00b\x00\r\n", shape=[["1", "text/plain"]], subject="nul")
    raw("outer-closes-inner.eml",
        b"Subject: oc\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n"
        b"--i\r\nContent-Type: text/plain\r\n\r\nin\r\n--o\r\nContent-Type: text/html\r\n\r\nh\r\n--o--\r\n",
        shape=[["1", "multipart/alternative"], ["1.1", "text/plain"], ["2", "text/html"]], subject="oc", texts={"1.1": "in"})
    long_subject = "word " * 3000
    raw("long-header-line.eml", f"Subject: {long_subject}\r\n\r\nbody\r\n".encode(), shape=[["1", "text/plain"]])
    deep = b"Subject: deep\r\nContent-Type: multipart/mixed; boundary=d0\r\n\r\n"
    for i in range(1, 70):
        deep += f"--d{i - 1}\r\nContent-Type: multipart/mixed; boundary=d{i}\r\n\r\n".encode()
    deep += b"--d69\r\nContent-Type: text/plain\r\n\r\nbottom\r\n"
    raw("deep-nesting.eml", deep, subject="deep", max_depth_ok=True)
    raw("mixed-line-ends.eml", b"Subject: mixed\r\nX-A: 1\n\r\nbody\rmore\nend\r\n", subject="mixed")
    raw("address-groups.eml",
        b'From: "Doe, John" <john@x.test>\r\nTo: undisclosed-recipients:;\r\nCc: Team: a@x.test, "B" <b@y.test>;, c@z.test\r\n'
        b"Subject: groups\r\n\r\nbody\r\n", subject="groups", shape=[["1", "text/plain"]])
    raw("header-encoded-filename.eml",
        b'Subject: f\r\nContent-Type: multipart/mixed; boundary=f\r\n\r\n--f\r\nContent-Type: application/pdf; name="=?utf-8?Q?r=C3=A9sum=C3=A9.pdf?="\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--f--\r\n", shape=[["1", "application/pdf"]], filename={"1": "résumé.pdf"})

    tricky()


def tricky() -> None:
    """Hand-made malformations and edge cases, each small; the differential test
    (tests/differential/test_dovecot.py) compares every answer about them with Dovecot's."""
    head = b"From: Ann <ann@example.test>\r\nTo: bob@example.test\r\nDate: Fri, 27 Nov 2026 12:00:00 +0100\r\n"
    raw("addr-comment-name.eml",
        b"From: ann@example.test (Ann Example)\r\nTo: bob@example.test (Bob (the builder))\r\nSubject: comment names\r\n\r\nbody\r\n",
        subject="comment names")
    raw("addr-no-domain.eml",
        b"From: Ann <ann>\r\nTo: bob, carol@\r\nCc: \"Dave\" <dave@>\r\nSubject: no domain\r\n\r\nbody\r\n", subject="no domain")
    raw("addr-route.eml",
        b"From: Ann <@relay.test,@r2.test:ann@example.test>\r\nTo: <bob@example.test>\r\nSubject: route\r\n\r\nbody\r\n",
        subject="route")
    raw("addr-empty-group-and-junk.eml",
        b"From: Ann <ann@example.test>\r\nTo: undisclosed-recipients: ;\r\nCc: ,, , junk@@x, <>\r\nBcc: Hidden:;\r\n"
        b"Subject: junk\r\n\r\nbody\r\n", subject="junk")
    raw("addr-encoded-name.eml",
        b"From: =?utf-8?Q?J=C3=B6rg?= <j@example.test>\r\nTo: \"=?iso-8859-1?Q?Ren=E9?=\" <rene@example.test>\r\n"
        b"Subject: encoded names\r\n\r\nbody\r\n", subject="encoded names")
    raw("header-shift-jis-raw.eml",
        b"From: " + "山田".encode("shift_jis") + b" <yamada@example.test>\r\nSubject: " + "日本語の件名".encode("shift_jis")
        + b"\r\nContent-Type: text/plain; charset=Shift_JIS\r\n\r\n" + "本文".encode("shift_jis") + b"\r\n", subject_any=True)
    raw("header-koi8-raw.eml", b"Subject: " + "Привет".encode("koi8-r") + b"\r\n\r\nbody\r\n", subject_any=True)
    raw("header-nul.eml", b"Subject: nul\x00in subject\r\nX-A: a\x00b\r\n\r\nbody\r\n", subject_any=True)
    raw("header-folded-odd.eml",
        b"Subject: folded\r\n  over\r\n\tthree lines\r\nFrom: Ann\r\n <ann@example.test>\r\n\r\nbody\r\n",
        subject="folded  over\tthree lines")
    raw("header-no-colon-line.eml", b"Subject: nc\r\nthis line has no colon\r\nX-B: b\r\n\r\nbody\r\n", subject="nc")
    raw("header-space-before-colon.eml", b"Subject : spaced\r\nFrom  :  ann@example.test\r\n\r\nbody\r\n", subject_any=True)
    raw("header-empty-values.eml", b"Subject:\r\nFrom:\r\nTo:\r\nDate:\r\nMessage-ID:\r\n\r\nbody\r\n", subject_any=True)
    raw("header-duplicate-subject.eml", b"Subject: first\r\nSubject: second\r\nFrom: a@x.test\r\nFrom: b@y.test\r\n\r\nb\r\n",
        subject="first")
    raw("date-comment.eml", head + b"Subject: date\r\nDate: Fri, 27 Nov 2026 23:30:00 -0800 (PST)\r\n\r\nbody\r\n",
        subject="date")
    raw("date-garbage.eml", b"Subject: bad date\r\nDate: yesterday at noon\r\n\r\nbody\r\n", subject="bad date")
    raw("ct-comment.eml",
        head + b"Subject: ct comment\r\nContent-Type: TEXT/Plain (a comment) ; CharSet=\"UTF-8\" (another)\r\n\r\nhello\r\n",
        subject="ct comment")
    raw("ct-rfc2231-continuation.eml",
        head + b"Subject: 2231\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: application/octet-stream;\r\n name*0=\"long \";\r\n name*1*=%E2%9C%93;\r\n name*2=\" end.bin\"\r\n"
        b"Content-Disposition: attachment; filename*0*=utf-8''caf%C3%A9;\r\n filename*1=\".txt\"\r\n\r\ndata\r\n--b--\r\n",
        subject="2231")
    raw("ct-rfc2231-charset-only.eml",
        head + b"Subject: 2231b\r\nContent-Type: text/plain; title*=us-ascii'en'This%20is%20it; charset=us-ascii\r\n\r\nx\r\n",
        subject="2231b")
    raw("ct-params-odd.eml",
        head + b"Subject: params\r\nContent-Type: text/plain; charset=\"utf-8\"; format=flowed;; delsp=yes; =x; y=\r\n\r\nx\r\n",
        subject="params")
    raw("ct-uppercase-everything.eml",
        head + b"Subject: upper\r\nCONTENT-TYPE: TEXT/HTML; CHARSET=ISO-8859-1\r\nCONTENT-TRANSFER-ENCODING: QUOTED-PRINTABLE\r\n\r\n"
        b"<b>caf=E9</b>\r\n", subject="upper")
    raw("ct-missing-subtype.eml", head + b"Subject: nosub\r\nContent-Type: text\r\n\r\nx\r\n", subject="nosub")
    raw("cte-unknown-token.eml", head + b"Subject: cte\r\nContent-Transfer-Encoding: x-gzip64\r\n\r\nabc\r\n", subject="cte")
    raw("qp-trailing-space.eml",
        head + b"Subject: qp ws\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"trailing spaces   \r\nsoft break with space= \r\ncontinues here\r\nbad =ZZ escape and =\r\n\r\n", subject="qp ws")
    raw("qp-lowercase-hex.eml",
        head + b"Subject: qp lc\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"caf=e9 and =3d and =\r\nend\r\n", subject="qp lc")
    raw("base64-with-junk-lines.eml",
        head + b"Subject: b64 junk\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n  AwQF\r\n*junk*\r\nBgcI=\r\n--b--\r\n",
        subject="b64 junk")
    raw("base64-text-no-padding.eml",
        head + b"Subject: b64 text\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQ\r\n",
        subject="b64 text")
    raw("eightbit-body-no-cte.eml",
        head + b"Subject: 8bit\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nK\xf6ln \xe9t\xe9\r\n", subject="8bit")
    raw("nul-in-multipart.eml",
        head + b"Subject: nul mp\r\nContent-Type: multipart/mixed; boundary=n\r\n\r\n--n\r\nContent-Type: text/plain\r\n\r\n"
        b"x\x00y\r\n--n\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x00\x01\r\n--n--\r\n",
        subject="nul mp")
    raw("rfc822-base64.eml",
        head + b"Subject: b64 message\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\nsee\r\n"
        b"--m\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(b"Subject: inside\r\nFrom: x@example.test\r\n\r\ninner body\r\n") + b"\r\n--m--\r\n",
        subject="b64 message")
    raw("rfc822-qp.eml",
        head + b"Subject: qp message\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"Subject: inside qp\r\n\r\ncaf=C3=A9\r\n", subject="qp message")
    raw("rfc822-empty.eml",
        head + b"Subject: empty inner\r\nContent-Type: multipart/mixed; boundary=e\r\n\r\n--e\r\nContent-Type: message/rfc822\r\n\r\n--e--\r\n",
        subject="empty inner")
    raw("rfc822-headers-only.eml",
        head + b"Subject: hdr inner\r\nContent-Type: multipart/mixed; boundary=e\r\n\r\n--e\r\nContent-Type: message/rfc822\r\n\r\n"
        b"Subject: only a header\r\nFrom: x@example.test\r\n--e--\r\n", subject="hdr inner")
    raw("rfc822-top-level.eml",
        head + b"Subject: top rfc822\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n"
        b"--a\r\nContent-Type: text/plain\r\n\r\nplain\r\n--a\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--a--\r\n",
        subject="top rfc822")
    raw("message-global.eml",
        head + b"Subject: global\r\nContent-Type: multipart/mixed; boundary=g\r\n\r\n--g\r\nContent-Type: message/global\r\n\r\n"
        + "Subject: Grüße\r\nFrom: Jörg <jörg@exämple.test>\r\n\r\nüber\r\n".encode() + b"--g--\r\n", subject="global")
    raw("message-partial.eml",
        head + b"Subject: partial\r\nContent-Type: message/partial; id=\"abc@x\"; number=1; total=2\r\n\r\nSubject: piece\r\n\r\npart one\r\n",
        subject="partial")
    raw("message-external-body.eml",
        head + b"Subject: ext\r\nContent-Type: message/external-body; access-type=URL; URL=\"http://example.test/x\"\r\n\r\n"
        b"Content-Type: text/plain\r\n\r\n", subject="ext")
    raw("multipart-no-boundary-text.eml",
        head + b"Subject: nb2\r\nContent-Type: multipart/alternative\r\n\r\nplain words\r\nsecond line\r\n", subject="nb2")
    raw("multipart-empty-boundary.eml",
        head + b"Subject: eb\r\nContent-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\nContent-Type: text/plain\r\n\r\nx\r\n----\r\n",
        subject="eb")
    raw("multipart-only-preamble.eml",
        head + b"Subject: pre\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\nonly a preamble, no delimiter\r\n", subject="pre")
    raw("multipart-empty-parts.eml",
        head + b"Subject: ep\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n\r\n--q\r\n--q\r\nContent-Type: text/plain\r\n\r\n"
        b"--q--\r\n", subject="ep")
    raw("multipart-boundary-in-quotes-spaces.eml",
        head + b"Subject: sp\r\nContent-Type: multipart/mixed; boundary=\"a b c\"\r\n\r\n--a b c\r\nContent-Type: text/plain\r\n\r\n"
        b"spaced\r\n--a b c--\r\n", subject="sp")
    raw("multipart-epilogue.eml",
        head + b"Subject: epi\r\nContent-Type: multipart/mixed; boundary=e\r\n\r\npreamble\r\n--e\r\n\r\nno header part\r\n--e--\r\n"
        b"epilogue text\r\n--e\r\nafter close\r\n", subject="epi")
    raw("multipart-nested-same-boundary.eml",
        head + b"Subject: same\r\nContent-Type: multipart/mixed; boundary=s\r\n\r\n--s\r\nContent-Type: multipart/mixed; boundary=s\r\n\r\n"
        b"--s\r\nContent-Type: text/plain\r\n\r\ninner\r\n--s--\r\n--s\r\nContent-Type: text/plain\r\n\r\nouter\r\n--s--\r\n", subject="same")
    raw("multipart-crlf-missing-before-boundary.eml",
        head + b"Subject: tight\r\nContent-Type: multipart/mixed; boundary=t\r\n\r\n--t\r\nContent-Type: text/plain\r\n\r\n--t\r\n"
        b"Content-Type: text/plain\r\n\r\nlast\r\n--t--", subject="tight")
    raw("disposition-odd.eml",
        head + b"Subject: disp\r\nContent-Type: multipart/mixed; boundary=d\r\n\r\n--d\r\nContent-Type: image/gif\r\n"
        b"Content-Disposition: INLINE; FILENAME=\"a.gif\"; size=12; creation-date=\"Fri, 27 Nov 2026 12:00:00 +0100\"\r\n"
        b"Content-Language: en, de\r\nContent-Location: http://example.test/a.gif\r\nContent-ID: <gif@x>\r\n"
        b"Content-Description: a picture\r\nContent-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"R0lGODlhAQABAAAAACw=\r\n--d\r\nContent-Type: text/plain\r\nContent-Disposition: ;\r\n\r\nempty disposition\r\n--d--\r\n",
        subject="disp")
    raw("header-fields-not-no-body.eml", b"Subject: no body at all\r\nFrom: ann@example.test\r\nX-C: c", subject="no body at all")
    raw("mime-empty-part-header.eml",
        head + b"Subject: mime empty\r\nContent-Type: multipart/mixed; boundary=w\r\n\r\n--w\r\n\r\nbody without header\r\n--w--\r\n",
        subject="mime empty")
    raw("header-only-crlf.eml", b"Subject: only header, blank line\r\n\r\n", subject="only header, blank line")
    raw("utf8-everything.eml",
        "From: Jörg Müller <jörg@exämple.test>\r\nTo: 山田 <yamada@例え.jp>\r\nSubject: Grüße 🎉\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Disposition: attachment; filename=\"naïve.txt\"\r\n\r\nüber\r\n".encode(),
        subject="Grüße 🎉")
    raw("in-reply-to-multiple.eml",
        head + b"Subject: refs\r\nIn-Reply-To: <a@x.test> <b@x.test>\r\nMessage-ID:   <id with spaces@x.test>  \r\n\r\nbody\r\n",
        subject="refs")
    raw("sender-replyto-explicit.eml",
        head + b"Subject: roles\r\nSender: Sec <sec@example.test>\r\nReply-To: list@example.test, Ann <ann@example.test>\r\n"
        b"Cc: c@example.test\r\nBcc: d@example.test\r\n\r\nbody\r\n", subject="roles")
    raw("long-line-body.eml", head + b"Subject: long body line\r\n\r\n" + b"x" * 5000 + b"\r\nend\r\n", subject="long body line")
    raw("text-no-final-newline.eml", head + b"Subject: no nl\r\nContent-Type: text/plain\r\n\r\nlast line without end", subject="no nl")


def main() -> None:
    build()
    for old in HERE.glob("*.eml"):
        old.unlink()
    for name, data in CORPUS.items():
        (HERE / name).write_bytes(data)
    (HERE / "expected.json").write_text(json.dumps(EXPECTED, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"{len(CORPUS)} messages written to {HERE}")


if __name__ == "__main__":
    main()
