"""Every package declares what it imports (deptry: no undeclared, unused or only-transitive imports), and
the images' lock holds what the packages need at run time, without the test tools."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEPTRY = Path(sys.executable).with_name("deptry")
DEV_TOOLS = {"pytest", "pytest-timeout", "ruff", "schemathesis", "openapi-spec-validator", "hypothesis", "deptry",
             "pandas", "persist-queue", "moto"}


def makefile_list(name: str) -> list[str]:
    line = re.search(rf"^{name}\s*:?=\s*([^#\n]+)", (ROOT / "Makefile").read_text(), re.M)
    return line.group(1).split()


def pinned(lock: str) -> set[str]:
    return {re.split(r"[=<>~!\s]", line, maxsplit=1)[0].lower().replace("_", "-")
            for line in (ROOT / lock).read_text().splitlines() if line and not line.startswith(("#", "-"))}


@pytest.mark.parametrize("package", makefile_list("PACKAGES") + makefile_list("TEST_PACKAGES"))
def test_the_package_declares_what_it_imports(package):
    assert DEPTRY.exists() or shutil.which("deptry"), "deptry is not installed (requirements-dev.lock)"
    done = subprocess.run([str(DEPTRY), "src", "--no-ansi"], cwd=ROOT / package, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, f"{package}: {done.stdout}{done.stderr}"


def test_the_runtime_lock_has_no_test_tools_and_the_dev_lock_adds_them():
    runtime, dev = pinned("requirements.lock"), pinned("requirements-dev.lock")
    assert not runtime & DEV_TOOLS, f"requirements.lock (what images install) pins test tools: {runtime & DEV_TOOLS}"
    assert dev >= DEV_TOOLS, f"requirements-dev.lock lacks {DEV_TOOLS - dev}"
    assert not runtime & dev, f"pinned twice: {runtime & dev}"
    assert "-r requirements.lock" in (ROOT / "requirements-dev.lock").read_text().splitlines()


def test_an_undeclared_import_is_caught(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "probe"\nversion = "0"\ndependencies = ["flask"]\n')
    (tmp_path / "src" / "probe").mkdir(parents=True)
    (tmp_path / "src" / "probe" / "__init__.py").write_text("import flask\nimport sqlalchemy\n")
    done = subprocess.run([str(DEPTRY), "src", "--no-ansi"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "DEP003 'sqlalchemy'" in done.stderr + done.stdout
