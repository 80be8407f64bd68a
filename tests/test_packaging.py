"""What ``pip install`` puts into site-packages: wfkit, and the rules under wfkit's name.

The rules live in the top-level ``lint_rules/`` folder of the repository, but a top-level
``lint_rules`` package in site-packages could collide with any other project's, so
pyproject.toml maps the folder to ``wfkit.lint_rules``. These tests build the wheel and look
inside, and check that the package list in pyproject.toml keeps up with the tree.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]


def test_the_package_list_is_every_package_of_the_tree_and_the_rules():
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "wfkit").rglob("__init__.py")
    }
    config = _setuptools()
    assert set(config["packages"]) == on_disk | {"wfkit.lint_rules"}
    assert config["package-dir"] == {"wfkit.lint_rules": "lint_rules"}


def test_rules_load_as_wfkit_lint_rules_from_the_checkout():
    from wfkit.lint.catalog import RULES_PACKAGE, all_rules, rules_package

    package = rules_package()
    assert package.__name__ == RULES_PACKAGE == "wfkit.lint_rules"
    assert Path(package.__file__).resolve() == ROOT / "lint_rules" / "__init__.py"
    assert all(info.rule_class.__module__.startswith("wfkit.lint_rules.") for info in all_rules())


@pytest.mark.slow
def test_the_wheel_installs_wfkit_only_with_the_rules_inside(tmp_path: Path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("wfkit", "lint_rules"):
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "--disable-pip-version-check",
            str(source),
            "-w",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (wheel,) = tmp_path.glob("wfkit-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "site")
    assert sorted({n.split("/")[0] for n in names}) == [
        "wfkit",
        f"{wheel.name.split('-py')[0]}.dist-info",
    ]
    rules = sorted(n for n in names if n.startswith("wfkit/lint_rules/"))
    assert rules == sorted(f"wfkit/lint_rules/{p.name}" for p in (ROOT / "lint_rules").glob("*.py"))
    # Installed (the wheel's contents first on the path), the catalog finds the rules inside.
    probe = (
        "from wfkit.lint.catalog import all_rules, rules_package; "
        "print(rules_package().__file__); print(len(all_rules()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    where, count = done.stdout.split()
    assert Path(where) == tmp_path / "site" / "wfkit" / "lint_rules" / "__init__.py"
    assert int(count) == len(list((ROOT / "lint_rules").glob("wf*.py")))
