"""Docs that cannot rot: every setting is documented, the operations table is current, and what
code cites lives in the repository (docs/*.md pages and their headings)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from lockgate.kit.settings import Settings
from tests.contract.client import ContractClient

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


@pytest.mark.database_free
@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_setting__every_field__documented_in_readme(field: str) -> None:
    assert f"`LOCKGATE_{field.upper()}`" in README


@pytest.mark.database_free
def test_readme__operations_table__matches_the_app() -> None:
    result = subprocess.run(
        [sys.executable, "tools/readme_operations.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_openapi__served__lists_console_routes(anonymous: ContractClient) -> None:
    paths = anonymous.get("/openapi.json").json()["paths"]
    assert "/console/v1/keys/{id}/rotate" in paths


# -- docs in the repository, cited by code ---------------------------------------------------

DOCS = ROOT / "docs"
OPERATIONS = (DOCS / "operations.md").read_text()
# Where the project's own words live: everything here is scanned for citations.
SCANNED_DIRS = ("src", "tests", "tools", "bench", "docs")
SCANNED_FILES = ("README.md", "pyproject.toml", "Makefile")
SKIPPED_DIRS = {"node_modules", "__pycache__", ".venv", ".mypy_cache", ".ruff_cache"}
# This file names the outside notes on purpose, to forbid them.
THIS_FILE = Path(__file__).resolve()

# Notes kept outside the repository, which comments must not cite: their names, a section
# number standing alone (which only they have), and the ways of pointing outside.
OUTSIDE_NOTE = re.compile(
    r"\b(?:compile-mapping|sdk-protocol)\b"
    r"|\b(?:console-api|stats|administration|web-console|warehouse-native)\.md\b"
    r"|\.\./shared|shared/reference|reference notes|research notes"
    r"|§\d"
)
DOC_CITATION = re.compile(r"docs/([A-Za-z0-9_-]+)\.md`?")
# After a cited page: "§A", "§A, §B", "§A to §B", "§A and §B".
NEXT_SECTION = re.compile(r"[ \t]*(?:,|\band\b|\bto\b)?[ \t]*§")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
HEADING = re.compile(r"^#{1,6} +(.+?) *$", re.M)
LINK = re.compile(r"\]\(([A-Za-z0-9_-]+\.md)?#([^)]+)\)")


def _text_files() -> list[tuple[str, str]]:
    paths = [ROOT / name for name in SCANNED_FILES]
    for top in SCANNED_DIRS:
        paths += [
            p
            for p in sorted((ROOT / top).rglob("*"))
            if p.is_file() and not SKIPPED_DIRS & set(p.relative_to(ROOT).parts)
        ]
    found = []
    for path in paths:
        if path.resolve() == THIS_FILE:
            continue
        try:
            found.append((path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            continue  # binary fixtures
    return found


def _headings(page: Path) -> list[str]:
    return HEADING.findall(FENCE.sub("", page.read_text()))


def _anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


PAGES = {page.stem: _headings(page) for page in sorted(DOCS.glob("*.md"))}


def _citation_problems(text: str) -> list[str]:
    problems = []
    for match in DOC_CITATION.finditer(text):
        page = match.group(1)
        if page not in PAGES:
            problems.append(f"docs/{page}.md does not exist")
            continue
        at = match.end()
        while step := NEXT_SECTION.match(text, at):
            rest = text[step.end() :]
            fits = [
                h
                for h in PAGES[page]
                if rest.startswith(h) and not rest[len(h) : len(h) + 1].isalnum()
            ]
            if not fits:
                problems.append(f"docs/{page}.md has no heading §{rest[:40]!r}")
                break
            at = step.end() + len(max(fits, key=len))
    return problems


@pytest.mark.database_free
def test_repository__files__cite_no_outside_note() -> None:
    found = [
        f"{name}:{number}: {line.strip()[:120]}"
        for name, text in _text_files()
        for number, line in enumerate(text.splitlines(), start=1)
        if OUTSIDE_NOTE.search(line)
    ]
    assert found == []


@pytest.mark.database_free
def test_doc_citations__every_page_and_section__exist() -> None:
    problems = [
        f"{name}: {problem}" for name, text in _text_files() for problem in _citation_problems(text)
    ]
    assert problems == []


@pytest.mark.database_free
@pytest.mark.parametrize("page", sorted(PAGES))
def test_doc_headings__one_page__unique_and_none_a_prefix_of_another(page: str) -> None:
    # A citation names a heading by its text, so it must name exactly one.
    headings = PAGES[page]
    assert len(headings) == len(set(headings))
    clashes = [(a, b) for a in headings for b in headings if a != b and b.startswith(a + " ")]
    assert clashes == []


@pytest.mark.database_free
@pytest.mark.parametrize("page", sorted(PAGES))
def test_doc_links__anchors__name_existing_headings(page: str) -> None:
    text = FENCE.sub("", (DOCS / f"{page}.md").read_text())
    broken = [
        f"{target or page + '.md'}#{anchor}"
        for target, anchor in LINK.findall(text)
        if anchor not in {_anchor(h) for h in PAGES[(target or page + ".md")[:-3]]}
    ]
    assert broken == []


@pytest.mark.database_free
def test_doc_citations__a_citation_of_a_missing_heading__reported() -> None:
    # The checker itself: a heading that is not there, and one that is.
    assert _citation_problems("see docs/statistics.md §Winsorisation") != []
    assert _citation_problems("see `docs/statistics.md` §CUPED, §Winsorization.") == []
    assert _citation_problems("docs/statistics.md §Deltas to §Confidence intervals") == []
    assert _citation_problems("see docs/nowhere.md") == ["docs/nowhere.md does not exist"]


@pytest.mark.database_free
@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_setting__every_field__documented_in_operations(field: str) -> None:
    assert f"`LOCKGATE_{field.upper()}`" in OPERATIONS


@pytest.mark.database_free
def test_source__invalid_request_prefix__written_once_in_errors() -> None:
    # Every 400 message starts with the same words; errors.py is the one place that says them.
    holders = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "src").rglob("*.py")
        if "Invalid request." in path.read_text()
    }
    assert holders == {"src/lockgate/errors.py"}
