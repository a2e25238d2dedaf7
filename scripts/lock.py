"""`make lock`: pin `requirements.lock` (what the packages need at run time, which images install) and
`requirements-dev.lock` (requirements-dev.in's test and benchmark tools, on top of it), resolved in a
scratch virtualenv. The current pins are kept as constraints unless `--upgrade`."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = "# {what}: pinned by `make lock` (scripts/lock.py) from {source}\n"


def packages() -> list[str]:
    line = re.search(r"^PACKAGES\s*:?=\s*([^#\n]+)", (ROOT / "Makefile").read_text(), re.M)
    return line.group(1).split()


def name(requirement: str) -> str:
    return re.split(r"[=<>~!\s]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def freeze(python: Path) -> list[str]:
    out = subprocess.run([str(python), "-m", "pip", "freeze", "--exclude-editable"], check=True,
                         capture_output=True, text=True).stdout
    return sorted((line for line in out.splitlines() if line and " @ " not in line), key=name)  # not ours


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upgrade", action="store_true", help="take the newest versions, not the current pins")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([sys.executable, "-m", "venv", scratch], check=True)
        python = Path(scratch) / "bin" / "python"
        pip = [str(python), "-m", "pip", "install", "-q"]
        constraints = []
        if not args.upgrade:
            pins = [line for lock in ("requirements.lock", "requirements-dev.lock") if (ROOT / lock).exists()
                    for line in (ROOT / lock).read_text().splitlines() if line and not line.startswith(("#", "-"))]
            (Path(scratch) / "pins.txt").write_text("\n".join(pins) + "\n")
            constraints = ["-c", str(Path(scratch) / "pins.txt")]
        subprocess.run([*pip, *constraints, *(str(ROOT / p) for p in packages())], check=True)
        runtime = freeze(python)
        subprocess.run([*pip, *constraints, "-r", str(ROOT / "requirements-dev.in")], check=True)
        taken = {name(r) for r in runtime}
        dev = [r for r in freeze(python) if name(r) not in taken]
    for package in packages():  # what pip's in-tree builds leave
        shutil.rmtree(ROOT / package / "build", ignore_errors=True)
    (ROOT / "requirements.lock").write_text(
        HEADER.format(what="requirements.lock", source="the packages' dependencies") + "\n".join(runtime) + "\n")
    (ROOT / "requirements-dev.lock").write_text(
        HEADER.format(what="requirements-dev.lock", source="requirements-dev.in")
        + "-r requirements.lock\n" + "\n".join(dev) + "\n")
    print(f"requirements.lock: {len(runtime)} pins; requirements-dev.lock: {len(dev)} more")


if __name__ == "__main__":
    main()
