"""Opt-in mutation testing (mutmut) of the modules where a wrong number goes unnoticed; never part of the default run.

    python -m tests.helpers.mutation AREA [AREA ...] [--max-children N] [--keep] [--module PATH]
    python -m tests.helpers.mutation run_folder sampling
    python -m tests.helpers.mutation augmentation --module face2sketch/realworld/foreground.py   # one module of an area

mutmut changes the area's modules one small edit at a time (a mutant: ``<`` for ``<=``, ``and`` for ``or``, a
string or number changed, an argument dropped) and, for each, runs the area's tests that call the changed function.
A mutant every test passes on (a survivor) is an edit the tests let through: either a missing assertion or an edit
with no observable effect. The command prints each module's counts and each survivor's diff, and exits 0 whatever
survives: it reports, it does not gate. It fails only when mutmut cannot run (e.g. the unmutated tests fail).

An area's tests are the files in ``tests/`` (not ``tests/commands/``) that import one of its modules or are named
after one, plus those listed with it that reach it through another module. ``tests/commands/`` is left out: its tests
run ``python -m face2sketch...`` in a new process, where mutmut cannot see which functions a test calls, so it would
never pick them for a mutant. The addopts markers still apply (no slow or browser tests); real-data tests are skipped
unless ``$FACE2SKETCH_CUHK`` names a copy (the mutated copy has none beside it). Each area works in
``.mutation/<area>/``, where mutmut copies the sources into ``mutants/``, with ``pyproject.toml``'s ``[tool.mutmut]``
section plus the area's modules and tests: the checkout itself is never edited.

What mutmut does not mutate: decorated functions other than static and class methods (``@property``,
``@torch.no_grad()``, ``@lru_cache``), and module or class constants. Torch runs single-threaded here: mutmut forks a
process per mutant from one that has already run tests, and a fork of a process whose OpenMP threads have run hangs
in libgomp (reported as a timeout). Each mutmut process gets a share of the memory (``memory_share``).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import resource
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK_ROOT = ROOT / ".mutation"
# what the mutated copy needs beside the package: its configs (config.py finds conf/ beside the package) and the tests
LINKED = ("face2sketch", "conf", "tests")
# one OpenMP thread: a forked mutant process never waits on the threads of the process it was forked from
SINGLE_THREADED = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NO_ALBUMENTATIONS_UPDATE": "1"}
# face2sketch.core.run_folder.xǁRunFolderǁconfig__mutmut_3 or face2sketch.core.run_folder.x_locate_run__mutmut_8
MUTANT_NAME = re.compile(r"^(?P<module>.+?)\.x(?:ǁ(?P<cls>[^ǁ]+)ǁ|_)(?P<function>.+)__mutmut_\d+$")


@dataclass(frozen=True)
class Area:
    """Modules to mutate (globs from the checkout's root) and test files that reach them through another module."""

    modules: tuple[str, ...]
    indirect_tests: tuple[str, ...] = ()


AREAS = {
    "pictures": Area(tuple(f"face2sketch/pictures/{name}.py" for name in ("images", "tensors", "alignment", "face_detection"))),
    "augmentation": Area(
        tuple(f"face2sketch/realworld/{name}.py" for name in ("augmentation", "conditions", "sketch_styles", "backgrounds", "foreground", "photographed")),
        ("tests/data/test_datamodule.py",),
    ),
    "metrics": Area(("face2sketch/metrics/*.py",), ("tests/models/test_fidelity.py",)),
    "sampling": Area(
        ("face2sketch/data/sampling.py", "face2sketch/training/callbacks/resume.py", "face2sketch/data/in_memory.py"),
        ("tests/data/test_datamodule.py", "tests/training/test_callbacks.py"),
    ),
    "run_folder": Area(("face2sketch/core/run_folder.py",), ("tests/evaluation/test_report.py",)),
    "release": Area(("face2sketch/release/*.py",)),
}


def module_name(path: Path) -> str:
    """face2sketch/data/sampling.py -> face2sketch.data.sampling (a package's __init__.py -> the package)."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(test_file: Path) -> set[str]:
    """Every module a file imports; ``from a.b import c`` counts as a.b and a.b.c, since c may be a module."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(test_file.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def area_tests(area: Area) -> list[str]:
    """The test files that claim the area: they import one of its modules, are named after one, or are listed with it."""
    modules = [path for pattern in area.modules for path in sorted(ROOT.glob(pattern))]
    names = {module_name(path) for path in modules}
    named_after = {f"test_{path.stem}.py" for path in modules}
    tests = [test for test in (ROOT / "tests").rglob("test_*.py") if "commands" not in test.relative_to(ROOT).parts]
    claiming = {str(test.relative_to(ROOT)) for test in tests if test.name in named_after or imported_modules(test) & names}
    return sorted(claiming | {test for test in area.indirect_tests if (ROOT / test).is_file()})


def area_pyproject(area: Area, tests: list[str]) -> str:
    """The checkout's pyproject.toml with the area's modules and tests added to its [tool.mutmut] section."""
    text = (ROOT / "pyproject.toml").read_text()
    header = "[tool.mutmut]\n"
    keys = f"only_mutate = {json.dumps(list(area.modules))}\npytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
    return text.replace(header, header + keys, 1) if header in text else f"{text}\n{header}{keys}"


def prepare_work_folder(name: str, area: Area, keep: bool) -> Path:
    """``.mutation/<name>/``: links to the checkout and the area's pyproject.toml; the last run's verdicts dropped
    unless ``keep`` (mutmut keeps a verdict while the function is unchanged, even after its tests changed)."""
    work = WORK_ROOT / name
    if not keep:
        shutil.rmtree(work / "mutants", ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    for entry in LINKED:
        if not (work / entry).is_symlink():
            (work / entry).symlink_to(ROOT / entry)
    tests = area_tests(area)
    (work / "pyproject.toml").write_text(area_pyproject(area, tests))
    print(f"== area {name}: mutating {', '.join(area.modules)}\n   with {' '.join(tests)}", flush=True)
    return work


def mutmut(work: Path, *args: str, capture: bool = False, memory_share: int | None = None) -> subprocess.CompletedProcess:
    """Run the mutmut command (not ``python -m mutmut``, which mutmut warns re-executes its main module) in ``work``,
    each of its processes limited to ``memory_share`` bytes of data."""
    executable = Path(sys.executable).with_name("mutmut")
    command = [str(executable if executable.is_file() else "mutmut"), *args]
    limit = None if memory_share is None else lambda: resource.setrlimit(resource.RLIMIT_DATA, (memory_share, memory_share))
    env = {**os.environ, **SINGLE_THREADED}
    return subprocess.run(command, cwd=work, env=env, capture_output=capture, text=True, preexec_fn=limit)


def memory_share(max_children: int) -> int:
    """Bytes of data each mutmut process may hold: a mutant that grows a list forever (``number = 32`` for
    ``number >>= 32`` in a ``while number:`` loop) fails with MemoryError instead of filling the machine until the
    kernel's OOM killer picks a process, maybe not mutmut's, before mutmut's timeout does."""
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // (max_children + 2)


def report(work: Path) -> None:
    """Each module's verdict counts, the functions no test of the area calls, and each survivor's diff."""
    listing = mutmut(work, "results", "--all", "true", capture=True).stdout
    verdicts = dict(line.strip().rsplit(": ", 1) for line in listing.splitlines() if ": " in line)
    by_module: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for mutant, verdict in verdicts.items():
        match = MUTANT_NAME.match(mutant)
        by_module[match["module"] if match else "?"].append((mutant, verdict))
    for module, mutants in sorted(by_module.items()):
        counts = Counter(verdict for _, verdict in mutants)
        print(f"\n== {module}: {len(mutants)} mutants, " + ", ".join(f"{count} {verdict}" for verdict, count in counts.most_common()))
        untested = sorted({function_name(mutant) for mutant, verdict in mutants if verdict == "no tests"})
        if untested:
            print(f"   no test of the area calls: {', '.join(untested)}")
        for mutant, verdict in mutants:
            if verdict not in ("killed", "no tests"):
                print(f"\n-- {verdict}: {function_name(mutant)}\n{mutmut(work, 'show', mutant, capture=True).stdout.strip()}")


def function_name(mutant: str) -> str:
    """RunFolder.config for face2sketch.core.run_folder.xǁRunFolderǁconfig__mutmut_3."""
    match = MUTANT_NAME.match(mutant)
    if not match:
        return mutant
    return f"{match['cls']}.{match['function']}" if match["cls"] else match["function"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.helpers.mutation", description=__doc__.split("\n\n")[0])
    parser.add_argument("areas", nargs="+", choices=sorted(AREAS), metavar="AREA", help=f"one or more of {', '.join(AREAS)}")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1, help="mutants tested at once (default: one per core)")
    parser.add_argument("--keep", action="store_true", help="reuse the last run's verdicts of unchanged functions (stale if tests changed)")
    parser.add_argument("--module", help="mutate only this module of the area (its own work folder, .mutation/<area>-<module>/)")
    options = parser.parse_args(argv)
    for name in options.areas:
        area, folder = AREAS[name], name
        if options.module:
            if options.module not in {str(path.relative_to(ROOT)) for pattern in area.modules for path in ROOT.glob(pattern)}:
                parser.error(f"--module {options.module} is not one of area {name}'s modules: {', '.join(area.modules)}")
            area, folder = Area((options.module,), area.indirect_tests), f"{name}-{Path(options.module).stem}"
        work = prepare_work_folder(folder, area, options.keep)
        run = mutmut(work, "run", "--max-children", str(options.max_children), memory_share=memory_share(options.max_children))
        if run.returncode != 0:
            print(f"mutmut could not test area {name} (exit status {run.returncode}); its output is above", file=sys.stderr)
            return run.returncode
        report(work)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
