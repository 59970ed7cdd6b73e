"""Security rules of every web response: headers, CSRF, safe redirects, HTML sanitising.

- Every page: a strict Content-Security-Policy (scripts and styles from this origin
  only, ``frame-ancestors 'none'``), ``X-Content-Type-Options: nosniff``, no referrer.
- HTML mail: cleaned by nh3 (an allow-list of tags, attributes, URL schemes and CSS
  properties), then served on its own URL under a CSP with the ``sandbox`` directive
  and no script source, so even a cleaner bug runs no script; the page frames it in an
  ``<iframe sandbox>``. Remote images are refused by that CSP unless the user asks.
- CSRF: every state-changing request carries the session's token (or, before sign-in,
  a token matching a cookie), and a cross-site Origin is refused outright.
"""

from __future__ import annotations

import hmac
import re

import nh3

__all__ = [
    "PAGE_CSP",
    "frame_csp",
    "download_headers",
    "sanitize_html",
    "safe_next",
    "same_origin",
    "tokens_match",
]

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; font-src 'self'; "
    "connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def frame_csp(remote_images: bool) -> str:
    """CSP of a sanitised HTML body: no script at all, a unique origin (``sandbox``)."""
    images = "data: https: http:" if remote_images else "data:"
    return (
        f"default-src 'none'; img-src {images}; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox"
    )


def download_headers(filename: str, *, inline: bool = False) -> dict[str, str]:
    """Headers of an attachment: never sniffed, never run on our origin (RFC 6266 filename)."""
    from urllib.parse import quote

    ascii_name = re.sub(r'[^A-Za-z0-9._ -]', "_", filename)[:150] or "attachment"
    disposition = "inline" if inline else "attachment"
    return {
        "Content-Disposition": f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename[:200], safe='')}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox",
        "Cache-Control": "private, no-store",
    }


_STYLE_PROPERTIES = {
    "color", "background-color", "font-weight", "font-style", "font-size", "font-family", "text-align",
    "text-decoration", "line-height", "margin", "margin-left", "margin-right", "margin-top", "margin-bottom",
    "padding", "padding-left", "padding-right", "padding-top", "padding-bottom", "border", "border-collapse",
    "width", "max-width", "height", "vertical-align", "white-space", "display",
}  # no url(): no background-image, no list-style-image, no behavior/expression
_ATTRIBUTES = {
    "*": {"title", "lang", "dir", "align", "valign", "width", "height", "style"},
    "a": {"href"},
    "img": {"src", "alt"},
    "td": {"colspan", "rowspan", "bgcolor"},
    "th": {"colspan", "rowspan", "bgcolor"},
    "table": {"border", "cellpadding", "cellspacing", "bgcolor"},
    "font": {"color", "size", "face"},
    "ol": {"start", "type"},
}
_TAGS = (set(nh3.ALLOWED_TAGS) | {"font"}) - {"area", "map"}


def sanitize_html(html: str) -> str:
    """An HTML mail body reduced to inert markup (no script, form, frame, event handler)."""
    return nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags={"script", "style", "title", "noscript", "template", "svg", "math", "object", "iframe"},
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "data"},
        filter_style_properties=_STYLE_PROPERTIES,
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        attribute_filter=_filter_attribute,
    )


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    # data: only as an image; a data: link would open a document the sanitiser never saw.
    if attribute == "href" and value.strip().lower().startswith("data:"):
        return None
    if attribute == "src" and tag != "img":
        return None
    return value


_LOCAL_PATH = re.compile(r"/(?![/\\])[^\s\\]*")


def safe_next(target: str | None) -> str:
    """A same-site path to go to after sign-in; anything else (//host, scheme:, \\) is "/"."""
    if target and len(target) <= 2000 and _LOCAL_PATH.fullmatch(target) and "://" not in target:
        return target
    return "/"


def same_origin(origin: str | None, scheme: str, host: str | None) -> bool:
    """An Origin header names this site (absent: a same-origin form of an old browser)."""
    if origin is None:
        return True
    return host is not None and origin in (f"{scheme}://{host}",)


def tokens_match(presented: str | None, expected: str | None) -> bool:
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())
