"""docs/architecture.md's module map, written from the code: each folder and module of the package with the first
sentence of its docstring, so that the map says what the code says.

    python -m tests.helpers.architecture          # rewrite the map in docs/architecture.md
    python -m tests.helpers.architecture --check  # exit 1 when the map is not the code's (tests/test_docs.py runs it)
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "face2sketch"
DOCUMENT = ROOT / "docs" / "architecture.md"
BEGIN = "<!-- module map: written by python -m tests.helpers.architecture from each module's docstring; do not edit by hand -->"
END = "<!-- end of module map -->"
NAME_WIDTH = 34
WIDTH = 120


def first_sentence(path: Path) -> str:
    """The first sentence of a module's docstring, on one line."""
    text = " ".join((ast.get_docstring(ast.parse(path.read_text())) or "").split())
    match = re.match(r"(.+?\.)(\s|$)", text)
    return match.group(1) if match else text


def entry(name: str, depth: int, about: str) -> list[str]:
    """One line of the map (more where ``about`` wraps), the name indented by its depth."""
    label = "  " * depth + name
    lines = textwrap.wrap(about, WIDTH - NAME_WIDTH) or [""]
    first = f"{label:<{NAME_WIDTH}}{lines[0]}" if len(label) < NAME_WIDTH else f"{label}\n{'':<{NAME_WIDTH}}{lines[0]}"
    return [first, *(f"{'':<{NAME_WIDTH}}{line}" for line in lines[1:])]


def folder_map(folder: Path, depth: int) -> list[str]:
    """The modules of ``folder`` (commands and other modules first), then each subpackage with its own."""
    lines: list[str] = []
    for module in sorted(p for p in folder.glob("*.py") if p.name != "__init__.py"):
        lines += entry(module.name, depth, first_sentence(module))
    for package in sorted(p for p in folder.iterdir() if (p / "__init__.py").is_file()):
        lines += entry(f"{package.name}/", depth, first_sentence(package / "__init__.py"))
        lines += folder_map(package, depth + 1)
    return lines


def module_map() -> str:
    """The map as it stands in the document, between its markers."""
    lines = entry("face2sketch/", 0, first_sentence(PACKAGE / "__init__.py")) + folder_map(PACKAGE, 1)
    return "\n".join([BEGIN, "```", *(line.rstrip() for line in lines), "```", END])


def documented_map(text: str) -> str:
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[start:end]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.helpers.architecture", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/architecture.md's map is not the code's")
    text = DOCUMENT.read_text()
    current, wanted = documented_map(text), module_map()
    if parser.parse_args().check:
        return 0 if current == wanted else 1
    DOCUMENT.write_text(text.replace(current, wanted))
    return 0


if __name__ == "__main__":
    sys.exit(main())
