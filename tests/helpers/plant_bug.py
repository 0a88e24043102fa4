"""Plant one bug, run the tests that should catch it, put the file back byte for byte (tests/README.md).

    python -m tests.helpers.plant_bug FILE OLD NEW -- PYTEST-ARGS...
    python -m tests.helpers.plant_bug face2sketch/models/pix2pix.py "self.update(opt_g, g_loss)" "self.update(opt_g, g_adv)" -- tests/models/test_pix2pix.py

OLD must occur exactly once in FILE. Prints the tests that failed; exits 0 when at least one did (the bug was
caught), 1 when every test passed (nothing guards against it), 2 when OLD is not found once.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if "--" not in argv or argv.index("--") != 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, old, new = Path(argv[0]), argv[1], argv[2]
    original = path.read_bytes()
    count = original.decode().count(old)
    if count != 1:
        print(f"'{old}' occurs {count} times in {path}: give a longer, unique piece", file=sys.stderr)
        return 2
    try:
        path.write_text(original.decode().replace(old, new))
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *argv[4:]], capture_output=True, text=True)
    finally:
        path.write_bytes(original)
    lines = result.stdout.strip().splitlines()
    failed = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
    print(f"planted in {path}: {old!r} -> {new!r}; {lines[-1] if lines else 'no pytest output'}")
    print("\n".join(failed) if failed else "NOT CAUGHT: every test passed with the bug in place")
    return 0 if failed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
