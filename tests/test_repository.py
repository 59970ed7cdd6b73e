"""The repository explains itself (docs/architecture.md §11): nothing in it cites a
document that lives outside it, and docs/rfc-status.md names only paths that exist."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("postoffice", "tests", "bench", "docs", "README.md", "Makefile", "pyproject.toml")

# Design notes kept outside this repository, by the names they went under.
OUTSIDE = re.compile(r"\b(?:DESIGN|TESTING|STYLE)(?:\.md\b|\s+§)|\.\./shared\b|/work/shared\b")

# A landed migration is never edited (docs/architecture.md §6), not even its comments.
LANDED = {Path("postoffice/store/sqlite/migrations/0001_core.sql")}


def _files() -> list[Path]:
    """The tracked and untracked (not ignored) files under CHECKED, as git sees them."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *CHECKED],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split("\n")  # fmt: skip
    return [Path(name) for name in listed if name and (ROOT / name).is_file()]


def test_no_file_cites_a_document_outside_the_repository() -> None:
    files = _files()
    assert Path("docs/architecture.md") in files
    me = Path(__file__).resolve().relative_to(ROOT)
    found = []
    for path in files:
        if path in LANDED or path == me:
            continue
        try:
            text = (ROOT / path).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # a binary test fixture
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{path}:{number}: {line.strip()}")
    assert not found, "cite docs/architecture.md or an RFC instead:\n" + "\n".join(found)


def test_the_pattern_catches_what_it_should() -> None:
    for cited in (
        "(DESIGN.md §3)",
        "STYLE.md habit 3",
        "see TESTING.md",
        "# DESIGN §7",
        "../shared/x",
        "/work/shared/DESIGN.md",
    ):
        assert OUTSIDE.search(cited), cited
    for fine in ("docs/architecture.md §6", "DESIGNATED", "shared_by_all", "RFC 9051 §6.3.4"):
        assert not OUTSIDE.search(fine), fine


def _named_paths(markdown: str) -> list[str]:
    """Code spans of a markdown text that name a file or a folder."""
    spans = re.findall(r"`([^`\s]+)`", markdown)
    return [s for s in spans if "/" in s or re.search(r"\.(?:py|sql|t|md|toml)$", s)]


def _exists(name: str) -> bool:
    """A path relative to the package or the repository; a ``*`` must match at least one."""
    return any(any(base.glob(name)) if "*" in name else (base / name).exists() for base in (ROOT / "postoffice", ROOT))


def test_rfc_status_names_only_paths_that_exist() -> None:
    names = _named_paths((ROOT / "docs" / "rfc-status.md").read_text(encoding="utf-8"))
    assert len(names) > 10  # the table is there and read
    missing = [n for n in names if not _exists(n)]
    assert not missing, f"docs/rfc-status.md names paths that do not exist: {missing}"


def test_every_cited_section_of_the_architecture_exists() -> None:
    headings = re.findall(
        r"^#{2,3} (\d+(?:\.\d+)?)\.? ", (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8"), re.M
    )
    sections = set(headings)
    assert {"1", "2", "10.2"} <= sections  # the headings are read
    cite = re.compile(r"architecture\.md\s*§\s*(\d+(?:\.\d+)?)")
    wrong = []
    for path in _files():
        try:
            text = (ROOT / path).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        wrong += [f"{path}: §{n}" for n in cite.findall(text) if n not in sections]
    assert not wrong, f"citations of sections docs/architecture.md does not have: {wrong}"
