"""The README and docs/: short enough to read, every relative link resolves, no working notes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

DOCUMENTS = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_the_readme_fits_in_250_lines() -> None:
    assert len((PROJECT_ROOT / "README.md").read_text().splitlines()) <= 250


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_every_relative_link_resolves(document: Path) -> None:
    targets = [t for t in LINK.findall(document.read_text()) if not t.startswith(("http://", "https://", "mailto:", "#"))]
    missing = [t for t in targets if not (document.parent / t.split("#")[0]).exists()]
    assert not missing, f"{document.name}: {missing}"


def test_documents_hold_measurements_not_working_notes() -> None:
    for path in [*DOCUMENTS, *(PROJECT_ROOT / "conf").rglob("*.yaml"), *(PROJECT_ROOT / "face2sketch").rglob("*.py")]:
        text = path.read_text()
        assert not re.search(r"\b(lease|leased|this task)\b", text, re.IGNORECASE), path
        assert "../shared" not in text, path


def test_the_architecture_documents_module_map_is_the_codes() -> None:
    """Guards docs/architecture.md's map of the package going stale: a module added, moved or re-described without
    the map written again (python -m tests.helpers.architecture)."""
    from tests.helpers.architecture import DOCUMENT, documented_map, module_map

    assert documented_map(DOCUMENT.read_text()) == module_map()
