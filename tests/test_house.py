"""House rules the code keeps: short functions and modules, imports that run down the layers docs/architecture.md gives, and the
end-to-end command runs kept in tests/commands/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

MAX_FUNCTION_LINES = 50
# a module longer than this holds more than one concept: split it into its own room
MAX_MODULE_LINES = 350


def test_no_function_in_the_package_is_longer_than_50_lines() -> None:
    long = []
    for path in sorted((PROJECT_ROOT / "face2sketch").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            is_function = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno is not None
            if is_function and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES:
                long.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno} {node.name}")
    assert not long, long


def test_no_module_in_the_package_is_longer_than_350_lines() -> None:
    long = [
        f"{path.relative_to(PROJECT_ROOT)}: {lines}"
        for path in sorted((PROJECT_ROOT / "face2sketch").rglob("*.py"))
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    assert not long, long


# -- the layers of docs/architecture.md against the imports ------------------------------------------------------------
PACKAGE = "face2sketch"


def package_modules() -> dict[str, Path]:
    """Every module of the package by its dotted name (a package's ``__init__`` under the package's name)."""
    modules = {}
    for path in sorted((PROJECT_ROOT / PACKAGE).rglob("*.py")):
        parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports anywhere in its code (functions' own imports too)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            found |= {f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module for alias in node.names}
    return {module for module in found if module in modules and module != name}


def documented_floors() -> dict[str, str]:
    """docs/architecture.md's layer table: each module it names (``report.py``, ``perf/measure.py``, ``data/`` for every
    module under it) with its floor ("1" to the top, or "apart")."""
    text = (PROJECT_ROOT / "docs" / "architecture.md").read_text()
    table = text.split("## The layers", 1)[1].split("\n## ", 1)[0]
    floors: dict[str, str] = {}
    modules = package_modules()
    for row in table.splitlines():
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        if len(cells) < 2 or not (cells[0].isdigit() or cells[0] == "apart"):
            continue
        for named in re.findall(r"`([\w/]+(?:\.py|/))`", cells[1]):
            prefix = f"{PACKAGE}." + named.removesuffix(".py").removesuffix("/").replace("/", ".")
            covered = [m for m in modules if m == prefix or (named.endswith("/") and m.startswith(prefix + "."))]
            assert covered, f"the layer table names {named}, which is not a module of the package"
            for module in covered:
                assert module not in floors, f"{module} is on two floors of the layer table"
                floors[module] = cells[0]
    return floors


def test_the_layer_table_names_every_module_once_and_every_import_runs_down_or_level() -> None:
    modules = package_modules()
    floors = documented_floors()
    faces = {name for name, path in modules.items() if path.name == "__init__.py"}
    assert sorted(set(modules) - faces - set(floors)) == [], "modules the layer table does not place"
    level = {name: int(floor) for name, floor in floors.items() if floor.isdigit()}
    assert sorted(set(level.values())) == list(range(1, max(level.values()) + 1)), "floors are numbered 1 up, none empty"
    upward = []
    for name, floor in level.items():
        for imported in imports_of(name, modules[name], modules) - faces:
            if floors.get(imported) == "apart" or level.get(imported, 0) > floor:
                upward.append(f"{name} (floor {floor}) imports {imported} (floor {floors.get(imported)})")
    assert not upward, upward


def test_no_two_modules_import_each_other_even_through_others() -> None:
    modules = package_modules()
    graph = {name: imports_of(name, path, modules) for name, path in modules.items()}

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), list(graph[start])
        while todo:
            current = todo.pop()
            if current == goal:
                return True
            if current not in seen:
                seen.add(current)
                todo += graph[current]
        return False

    circles = sorted({tuple(sorted((a, b))) for a in graph for b in graph[a] if reaches(b, a)})
    assert not circles, circles


# -- where the end-to-end command runs live ------------------------------------------------------------------------
COMMAND_RUNNERS = {"run_cli", "run_evaluate"}  # tests/conftest.py: python -m <module> as a user types it


def command_runs(path: Path) -> list[str]:
    """Each place in ``path`` that starts a face2sketch command in a new process (``line: command``): a call of
    ``run_cli``/``run_evaluate``, or a call whose string arguments hold ``"-m", "face2sketch.<module>"``. A command
    started from inside a ``python -c`` script (``runpy``) is not seen."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        first = node.args[0] if node.args else None
        if name == "run_evaluate" or (name == "run_cli" and not (isinstance(first, ast.Constant) and str(first.value).startswith("tests."))):
            found.append(f"{node.lineno}: {name}")
        strings = [e.value for e in ast.walk(node) if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        modules = [b for a, b in zip(strings, strings[1:], strict=False) if a == "-m" and re.fullmatch(r"face2sketch(\.\w+)+", b)]
        if name not in COMMAND_RUNNERS and modules:
            found.append(f"{node.lineno}: python -m {modules[0]}")
    return found


def test_every_end_to_end_command_run_is_in_tests_commands() -> None:
    """A test that starts ``python -m face2sketch.<command>`` belongs in tests/commands/, a file per command."""
    tests = PROJECT_ROOT / "tests"
    unit_tests = [path for path in sorted(tests.rglob("test_*.py")) if "commands" not in path.relative_to(tests).parts]
    outside = [f"{path.relative_to(PROJECT_ROOT)}:{run}" for path in unit_tests for run in command_runs(path)]
    inside = [run for path in sorted((tests / "commands").glob("test_*.py")) for run in command_runs(path)]
    assert not outside, outside
    assert len(inside) >= 40, "the finder sees the command runs that tests/commands/ holds (50 when this was written)"


# each rule about pictures, the pattern that writes it, and its one home
RULES_WRITTEN_ONCE = {
    "the pixel limit": (r"MAX_PIXELS\s*=|\* height >", "pictures/images.py"),
    "the [0, 1] mapping": (r"-\s*low\)?\s*/\s*\(?\s*high\s*-\s*low", "pictures/images.py"),
    "the faces check": (r"not in FACE_CHOICES", "pictures/alignment.py"),
    "the batch-size check": (r"batch_size\)?\s*<\s*1\b", "inference/api.py"),
    "the shipped models' route": (r"(?<!def )load_pretrained\(", "inference/loading.py"),
}


@pytest.mark.parametrize("rule", sorted(RULES_WRITTEN_ONCE))
def test_each_rule_about_pictures_is_written_once(rule: str) -> None:
    """Guards a second copy of a rule about pictures (the pixel limit, the [0, 1] mapping, the faces and batch-size
    checks, the route to the shipped models) written beside its home instead of calling it: predict, the demo, video
    and the service reach them through ``face2sketch.load``, and evaluate's 'pretrained/<direction>' through the same loader."""
    pattern, home = RULES_WRITTEN_ONCE[rule]
    homes = sorted(
        str(path.relative_to(PROJECT_ROOT / PACKAGE))
        for path in (PROJECT_ROOT / PACKAGE).rglob("*.py")
        if re.search(pattern, re.sub(r"(?m)^\s*#.*$", "", path.read_text()))
    )
    assert homes == [home], f"{rule} is written in {homes}"


def test_inference_reads_pictures_through_pictures_and_imports_nothing_from_data() -> None:
    """Guards the inference layer reaching into the dataset code (``face2sketch.data``) for a picture rule: an app that
    translates pictures needs ``pictures/``, not the training pipeline."""
    reached = []
    for path in sorted((PROJECT_ROOT / PACKAGE / "inference").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names] if isinstance(node, ast.Import) else []
            reached += [f"{path.name}: {name}" for name in names if name == "face2sketch.data" or name.startswith("face2sketch.data.")]
    assert not reached, reached


def test_the_tests_mirror_the_package_a_folder_per_package_folder() -> None:
    """Guards a test file dropped where it does not belong: a test of ``face2sketch/<folder>/`` lies in
    ``tests/<folder>/``; the commands' own tests and the house rules at the top, end-to-end runs in ``tests/commands/``,
    what tests share in ``tests/helpers/``."""
    tests = PROJECT_ROOT / "tests"
    package_folders = {path.parent.relative_to(PROJECT_ROOT / PACKAGE) for path in (PROJECT_ROOT / PACKAGE).rglob("__init__.py")}
    test_folders = {path.parent.relative_to(tests) for path in tests.rglob("*.py") if "__pycache__" not in path.parts}
    assert sorted(map(str, test_folders - package_folders - {Path("commands"), Path("helpers")})) == []
    loose = {path.stem for path in tests.glob("test_*.py")}
    commands = {path.stem for path in (PROJECT_ROOT / PACKAGE).glob("*.py")} - {"__init__"}
    assert sorted(loose - {f"test_{command}" for command in commands} - {"test_house", "test_docs"}) == [], "a test of a command, or a house rule"
