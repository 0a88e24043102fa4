"""House rules the code keeps: short functions, and a predict path that does not load the training stack."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import PROJECT_ROOT

MAX_FUNCTION_LINES = 50


def test_no_function_in_the_package_is_longer_than_50_lines() -> None:
    long = []
    for path in sorted((PROJECT_ROOT / "face2sketch").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            is_function = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno is not None
            if is_function and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES:
                long.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno} {node.name}")
    assert not long, long


def test_predict_imports_neither_lightning_nor_albumentations_nor_torchvision() -> None:
    """A cold predict with a shipped or exported model pays for none of the training stack's imports."""
    heavy = "{'lightning', 'albumentations', 'torchvision', 'torchmetrics'}"
    probe = f"import sys, face2sketch.predict; print(sorted({{m.split('.')[0] for m in sys.modules}} & {heavy}))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=PROJECT_ROOT, check=True)
    assert result.stdout.strip() == "[]"
