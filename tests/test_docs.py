"""The docs say what the code does: each script's --help is the one docs/reference.md shows,
and every file a page links to or shows exists."""

import re

from seqpred import parsers

import pytest

from conftest import ROOT

SCRIPTS = ("main", "compare_results", "adding_task", "sweep")
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def words(text: str) -> list[str]:
    """The text's words, in order: line wrapping differs between Python versions."""
    return text.split()


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_reference_shows_each_script_s_help_as_it_is(script, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    shown = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    block = re.search(rf"```text\n\$ python {script}\.py --help\n(.*?)\n```", shown, re.S)
    assert block, f"docs/reference.md has no help block for {script}.py"
    actual = parsers.parser(f"{script}.py").format_help()
    assert words(block.group(1)) == words(actual), (
        f"docs/reference.md's help of {script}.py is out of date; it now reads:\n{actual}"
    )


def anchors(page) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to
    hyphens."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_linked_file_and_heading_exists(page):
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    targets = re.findall(r"\]\(([^)\s]+)\)", text)  # [text](target) and ![alt](target)
    local = [t for t in targets if not re.match(r"[a-z]+:", t)]
    assert local or page.name != "README.md", "the README links to nothing"
    missing = []
    for target in local:
        name, _, anchor = target.partition("#")
        linked = page.parent / name if name else page
        if not linked.exists() or (anchor and anchor not in anchors(linked)):
            missing.append(target)
    assert not missing, f"{page.name} links to files or headings that do not exist: {missing}"
