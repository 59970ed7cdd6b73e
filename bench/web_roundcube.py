"""Benchmark: postoffice's webmail beside Roundcube over Dovecot, on the same mail.

Run: ``.venv/bin/python bench/web_roundcube.py [--messages N] [--requests N]``
(``make bench`` installs what it needs: Debian's roundcube, roundcube-sqlite3, php-cli,
dovecot-imapd and chromium). One folder of N messages (default 100,000) is written as a
Maildir; Dovecot serves it to Roundcube (PHP's built-in web server, SQLite database),
and ``postoffice import`` loads the same Maildir into a postoffice serving its webmail.
The same Playwright script, in Debian's headless chromium, signs in to each and times,
from the browser, the server's answer (Resource Timing: responseStart - requestStart)
for: the first list page, a list page deep in the folder, and opening a message. It
prints p50/p99 of each and the ratio Roundcube / postoffice.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._servers import Unavailable, free_port, start_dovecot, wait_port  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PASSWORD = "bench-secret"
RC_SHARE = Path("/var/lib/roundcube")
VENV_BIN = Path(sys.executable).parent


def write_maildir(root: Path, count: int) -> None:
    """``root/<user>/Maildir`` with ``count`` messages in cur/ (seen), oldest first."""
    cur = root / "alice" / "Maildir" / "cur"
    for sub in ("cur", "new", "tmp"):
        (cur.parent / sub).mkdir(parents=True, exist_ok=True)
    body = "A line of a reasonably ordinary message body, see https://example.org/.\r\n" * 40
    for n in range(count):
        when = 1_600_000_000 + n * 60
        date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(when))
        text = (
            f"From: Ann Example <ann@example.test>\r\nTo: alice@example.test\r\nSubject: message number {n}\r\n"
            f"Date: {date}\r\nMessage-ID: <{n}@bench.test>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
        )
        path = cur / f"{when}.M{n}P1.bench:2,S"
        path.write_bytes(text.encode())
        os.utime(path, (when, when))


def start_roundcube(workdir: Path, imap_port: int) -> tuple[subprocess.Popen[bytes], int]:
    php = shutil.which("php")
    if php is None or not (RC_SHARE / "public_html").exists():
        raise Unavailable("roundcube or php-cli is not installed (apt-get install roundcube roundcube-sqlite3 php-cli)")
    config = workdir / "rc-config"
    config.mkdir(parents=True, exist_ok=True)
    for sub in ("temp", "logs"):
        (workdir / sub).mkdir(exist_ok=True)
    shutil.copy("/etc/roundcube/defaults.inc.php", config / "defaults.inc.php")
    shutil.copy("/etc/roundcube/mimetypes.php", config / "mimetypes.php")
    db = workdir / "roundcube.sqlite"
    subprocess.run(["sqlite3", str(db)], input=(RC_SHARE / "SQL" / "sqlite.initial.sql").read_bytes(), check=True)
    (config / "config.inc.php").write_text(
        "<?php\n$config = [];\n"
        f"$config['db_dsnw'] = 'sqlite:///{db}?mode=0646';\n"
        f"$config['imap_host'] = '127.0.0.1:{imap_port}';\n"
        "$config['smtp_host'] = '';\n"
        "$config['des_key'] = 'bench-des-key-24-chars!!';\n"
        "$config['plugins'] = [];\n"
        "$config['skin'] = 'elastic';\n"
        f"$config['temp_dir'] = '{workdir / 'temp'}/';\n"
        f"$config['log_dir'] = '{workdir / 'logs'}/';\n"
        "$config['mail_pagesize'] = 50;\n"
        "$config['enable_installer'] = false;\n"
        "$config['login_rate_limit'] = 0;\n"
    )
    port = free_port()
    env = {**os.environ, "ROUNDCUBE_CONFIG_DIR": str(config), "PHP_CLI_SERVER_WORKERS": "1"}
    proc = subprocess.Popen(
        [php, "-S", f"127.0.0.1:{port}", "-t", str(RC_SHARE / "public_html")],
        cwd=RC_SHARE / "public_html", env=env, stdout=subprocess.DEVNULL, stderr=(workdir / "php.log").open("wb"),
    )  # fmt: skip
    wait_port(port, proc)
    return proc, port


def start_postoffice(workdir: Path, maildir: Path) -> tuple[subprocess.Popen[bytes], int]:
    http, imap = free_port(), free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "postoffice.toml"
    config.write_text(
        f'data_dir = "{workdir / "data"}"\ndomains = ["example.test"]\n'
        f'[listen]\nhttp = "127.0.0.1:{http}"\nimap = "127.0.0.1:{imap}"\n'
    )
    exe = str(VENV_BIN / "postoffice")
    subprocess.run([exe, "--config", str(config), "user", "add", "alice@example.test", "--password-stdin"],
                   input=(PASSWORD + "\n").encode(), check=True, capture_output=True)  # fmt: skip
    subprocess.run([exe, "--config", str(config), "import", str(maildir), "--user", "alice@example.test"],
                   check=True, capture_output=True)  # fmt: skip
    proc = subprocess.Popen([exe, "--config", str(config), "serve"], stdout=subprocess.DEVNULL,
                            stderr=(workdir / "postoffice.log").open("wb"))  # fmt: skip
    wait_port(http, proc)
    return proc, http


TIMED_FETCH = """async ([url, headers]) => {
    performance.clearResourceTimings();
    const response = await fetch(url, { credentials: "same-origin", headers });
    await response.text();
    if (!response.ok) throw new Error(url + " -> " + response.status);
    const entry = performance.getEntriesByType("resource").find(e => e.name.endsWith(url) || e.name === new URL(url, location.href).href);
    return entry.responseStart - entry.requestStart;
}"""


FETCH_TEXT = """async ([url, headers]) => (await (await fetch(url, { credentials: "same-origin", headers })).text())"""


def check(page: object, url: str, headers: dict[str, str], expected: str) -> None:
    """The measured URL really answers with the mail (not a login or error page)."""
    text = str(page.evaluate(FETCH_TEXT, [url, headers]))  # type: ignore[attr-defined]
    if expected not in text:
        raise RuntimeError(f"{url} does not show {expected!r}: {text[:300]!r}")


def report(label: str, times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    p50 = statistics.median(times)
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"  {label:<28} p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   ({len(times)} requests)", flush=True)
    return p50, p99


def measure(page: object, paths: list[str], headers: dict[str, str]) -> list[float]:
    return [float(page.evaluate(TIMED_FETCH, [path, headers])) for path in paths]  # type: ignore[attr-defined]


def run(count: int, requests: int) -> int:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)
        t0 = time.perf_counter()
        write_maildir(work / "maildirs", count)
        print(f"wrote {count} messages as a Maildir in {time.perf_counter() - t0:.0f} s", flush=True)

        def fill(mail_root: Path) -> None:
            shutil.copytree(work / "maildirs" / "alice", mail_root / "alice")

        dovecot = start_dovecot(work / "dovecot", {"alice": PASSWORD}, fill=fill)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            rc_proc, rc_port = start_roundcube(work / "roundcube", dovecot.port)
            procs.append(rc_proc)
            t0 = time.perf_counter()
            po_proc, po_port = start_postoffice(work / "postoffice", work / "maildirs" / "alice" / "Maildir")
            procs.append(po_proc)
            print(f"postoffice imported the Maildir in {time.perf_counter() - t0:.0f} s", flush=True)
            results: dict[str, dict[str, tuple[float, float]]] = {}
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                # Roundcube: list pages are its AJAX action, a message its "show" page.
                page = browser.new_page()
                base = f"http://127.0.0.1:{rc_port}"
                page.goto(base + "/")
                page.fill("#rcmloginuser", "alice")
                page.fill("#rcmloginpwd", PASSWORD)
                page.click("#rcmloginsubmit")
                page.wait_for_function("window.rcmail && rcmail.env.request_token && rcmail.env.messagecount !== undefined", timeout=600_000)
                token = page.evaluate("rcmail.env.request_token")
                ajax = {"X-Roundcube-Request": token}
                pages = max(1, count // 50)
                check(page, "?_task=mail&_action=list&_mbox=INBOX&_page=1&_remote=1", ajax, f"message number {count - 1}")
                check(page, f"?_task=mail&_action=show&_uid={count}&_mbox=INBOX", {}, f"message number {count - 1}")
                print("roundcube over dovecot:", flush=True)
                rc = {
                    "list: first page": report("list: first page", measure(page, ["?_task=mail&_action=list&_mbox=INBOX&_page=1&_remote=1"] * requests, ajax)),
                    "list: deep page": report("list: deep page", measure(page, [f"?_task=mail&_action=list&_mbox=INBOX&_page={pages // 2 + n % 10}&_remote=1" for n in range(requests)], ajax)),
                    "open a message": report("open a message", measure(page, [f"?_task=mail&_action=show&_uid={count - n}&_mbox=INBOX" for n in range(requests)], {})),
                }
                results["roundcube"] = rc
                page.close()
                # postoffice: the same three things through its pages.
                page = browser.new_page()
                base = f"http://127.0.0.1:{po_port}"
                page.goto(base + "/login")
                page.fill("#address", "alice@example.test")
                page.fill("#password", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(base + "/folder/INBOX", timeout=600_000)
                check(page, "/folder/INBOX", {}, f"message number {count - 1}")
                check(page, f"/message/{count}?folder=INBOX", {}, f"message number {count - 1}")
                print("postoffice:", flush=True)
                po = {
                    "list: first page": report("list: first page", measure(page, ["/folder/INBOX"] * requests, {})),
                    "list: deep page": report("list: deep page", measure(page, [f"/folder/INBOX?before={count // 2 - n}" for n in range(requests)], {})),
                    "open a message": report("open a message", measure(page, [f"/message/{count - n}?folder=INBOX" for n in range(requests)], {})),
                }
                results["postoffice"] = po
                browser.close()
            print("ratio roundcube / postoffice (above 1: postoffice faster):", flush=True)
            for action in po:
                (rp50, rp99), (pp50, pp99) = rc[action], po[action]
                print(f"  {action:<28} p50 x{rp50 / pp50:5.1f}   p99 x{rp99 / pp99:5.1f}", flush=True)
            return 0
        finally:
            for proc in procs:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            dovecot.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args(argv)
    try:
        return run(args.messages, args.requests)
    except Unavailable as exc:
        print(f"skipped: {exc}", flush=True)
        return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
