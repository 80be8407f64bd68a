"""`wfkit compat` benchmark (not a test): is the upgrade check as cheap as issue 14 promises?

It generates a git repository of workflow modules (default 1,000, a third each wfkit,
Temporal and DBOS, each with a branch, a loop, a helper and eight operations), commits it, and
measures, in fresh processes as a user or CI runs them:

1. a typical pull request: 10 changed files (five with a step inserted, five with a step
   appended), ``wfkit compat --base HEAD`` against ``wfkit lint --no-cache`` of the same 10
   files (target <= 2x);
2. the whole tree changed (a line of code added to every file, so both sides of every file
   are parsed: a comment or formatting change is not even read): ``wfkit compat --base HEAD``
   against a cold whole-tree ``wfkit lint --no-cache`` (target <= 1.5x), twice:
   - *cold*: ``--no-cache``, both sides of every file read (a first CI run);
   - *warm*: the cache holds the base side from an earlier run and every file is edited again
     before each timed run, so the new side is read afresh (CI re-checking a pull request
     against the same base, pre-commit before the next commit). The target is measured warm.

The pull request and the cold whole tree run with ``--no-cache`` (a fresh CI machine).

It also checks the verdicts: the five inserted steps are reported (WF301), nothing else.

    python bench/compat_bench.py                  # the full run
    python bench/compat_bench.py --modules 200    # a quick look
    python bench/compat_bench.py --markdown       # also print the table for docs/performance.md

Each figure is the best of ``--repeat`` runs (other work on a shared machine only adds time).
Exit status 0 when the targets and checks hold, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = 10
CHANGED = 10

WFKIT = """\
from wfkit import Context, step, workflow

from flows.{package}.helpers_{i} import settle_{i}


@step
def reserve_{i}(order: str) -> str:
    return order.upper()


@step(name="charge-{i}")
def charge_{i}(order: str) -> str:
    return order + "-charged"


@step
def ship_{i}(order: str) -> str:
    return order


@step
def notify_{i}(order: str) -> str:
    return order


@workflow(name="orders-{i}")
def process_{i}(ctx: Context, order: str, lines: list) -> str:
    ctx.step(reserve_{i}, order)
    if len(lines) > 3:
        ctx.step(charge_{i}, order, name="bulk-charge-{i}")
    else:
        ctx.step(charge_{i}, order)
    for line in lines:
        ctx.step(ship_{i}, line)
    ctx.sleep(60, name="cool-off")
    ctx.wait_for_event("approved")
    settle_{i}(ctx, order)
    ctx.step(notify_{i}, order)
    return order
"""

WFKIT_HELPERS = """\
from wfkit import Context, step


@step
def audit_{i}(order: str) -> str:
    return order


def settle_{i}(ctx: Context, order: str) -> None:
    ctx.step(audit_{i}, order)
"""

TEMPORAL = """\
from datetime import timedelta

from temporalio import activity, workflow

T = timedelta(seconds=30)


@activity.defn
async def reserve_{i}(order: str) -> str:
    return order.upper()


@activity.defn(name="charge-{i}")
async def charge_{i}(order: str) -> str:
    return order


@activity.defn
async def ship_{i}(order: str) -> str:
    return order


@activity.defn
async def notify_{i}(order: str) -> str:
    return order


@workflow.defn(name="Orders{i}")
class Orders{i}:
    def __init__(self) -> None:
        self.approved = False

    @workflow.signal
    def approve(self) -> None:
        self.approved = True

    @workflow.run
    async def run(self, order: str, lines: list) -> str:
        await workflow.execute_activity(reserve_{i}, order, start_to_close_timeout=T)
        if len(lines) > 3:
            await workflow.execute_activity(charge_{i}, order, start_to_close_timeout=T * 2)
        else:
            await workflow.execute_activity(charge_{i}, order, start_to_close_timeout=T)
        for line in lines:
            await workflow.execute_activity(ship_{i}, line, start_to_close_timeout=T)
        await workflow.sleep(timedelta(minutes=1))
        await workflow.wait_condition(lambda: self.approved)
        await self._settle(order)
        await workflow.execute_activity(notify_{i}, order, start_to_close_timeout=T)
        return order

    async def _settle(self, order: str) -> None:
        await workflow.execute_activity("audit", order, start_to_close_timeout=T)
"""

DBOS = """\
from dbos import DBOS


@DBOS.step()
def reserve_{i}(order: str) -> str:
    return order.upper()


@DBOS.step(name="charge-{i}")
def charge_{i}(order: str) -> str:
    return order


@DBOS.step()
def ship_{i}(order: str) -> str:
    return order


@DBOS.step()
def notify_{i}(order: str) -> str:
    return order


@DBOS.transaction()
def record_{i}(order: str) -> None:
    pass


def settle_{i}(order: str) -> None:
    record_{i}(order)


@DBOS.workflow(name="orders-{i}")
def process_{i}(order: str, lines: list) -> str:
    reserve_{i}(order)
    if len(lines) > 3:
        charge_{i}(order)
    for line in lines:
        ship_{i}(line)
    DBOS.sleep(60)
    DBOS.recv("approved")
    settle_{i}(order)
    notify_{i}(order)
    return order
"""

# the last operation of each dialect's workflow, and what goes before it (inserted) or after
# it (appended) in a changed module
LAST = {
    "wfkit": "    ctx.step(notify_{i}, order)\n",
    "temporal": (
        "        await workflow.execute_activity(notify_{i}, order, start_to_close_timeout=T)\n"
    ),
    "dbos": "    notify_{i}(order)\n",
}
EXTRA = {
    "wfkit": "    ctx.step(ship_{i}, order)\n",
    "temporal": "        await workflow.execute_activity(ship_{i}, order, start_to_close_timeout=T)\n",
    "dbos": "    ship_{i}(order)\n",
}


def dialect_of(i: int) -> str:
    return ("wfkit", "temporal", "dbos")[i % 3]


def module_text(i: int) -> str:
    template = {"wfkit": WFKIT, "temporal": TEMPORAL, "dbos": DBOS}[dialect_of(i)]
    return template.format(i=i, package=f"p{i % PACKAGES}")


def make_repo(where: Path, modules: int) -> list[Path]:
    """The repository with one commit; returns the workflow modules."""
    flows = where / "flows"
    flows.mkdir(parents=True)
    (flows / "__init__.py").write_text("")
    out = []
    for package in range(PACKAGES):
        (flows / f"p{package}").mkdir()
        (flows / f"p{package}" / "__init__.py").write_text("")
    for i in range(modules):
        folder = flows / f"p{i % PACKAGES}"
        path = folder / f"wf_{i}.py"
        path.write_text(module_text(i))
        if dialect_of(i) == "wfkit":
            (folder / f"helpers_{i}.py").write_text(WFKIT_HELPERS.format(i=i))
        out.append(path)
    for args in (
        ["init", "-q", "-b", "main"],
        ["config", "user.email", "bench@wfkit.invalid"],
        ["config", "user.name", "bench"],
        ["config", "commit.gpgsign", "false"],
        ["add", "."],
        ["commit", "-q", "-m", "base"],
    ):
        subprocess.run(["git", *args], cwd=where, check=True, capture_output=True)
    return out


def change(path: Path, i: int, insert: bool) -> None:
    dialect = dialect_of(i)
    last, extra = LAST[dialect].format(i=i), EXTRA[dialect].format(i=i)
    text = path.read_text()
    path.write_text(text.replace(last, extra + last if insert else last + extra))


def _run(command: list[str], cwd: Path) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall time and CPU time (user + system, the process and its workers) of one run: the
    CPU time hardly moves with the machine's load, the wall time does."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    before, start = os.times(), time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    wall, after = time.perf_counter() - start, os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu, done


def timed(
    command: list[str], cwd: Path, repeat: int, edit: Callable[[int], None] | None = None
) -> tuple[float, float, subprocess.CompletedProcess]:
    """Best wall time and best CPU time of ``repeat`` runs, after one untimed run (it writes
    the .pyc files; with the cache on, it fills the cache). ``edit(n)``, when given, runs
    (untimed) before each timed run: only the side it leaves alone comes from the cache."""
    _run(command, cwd)
    best, best_cpu, done = float("inf"), float("inf"), None
    for n in range(repeat):
        if edit is not None:
            edit(n)
        wall, cpu, done = _run(command, cwd)
        best, best_cpu = min(best, wall), min(best_cpu, cpu)
    assert done is not None
    return best, best_cpu, done


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    wfkit = [args.python, "-m", "wfkit.cli.main"]
    ok = True
    with tempfile.TemporaryDirectory(prefix="wfkit-compat-bench-") as tmp:
        repo = Path(tmp) / "repo"
        modules = make_repo(repo, args.modules)
        step = max(1, len(modules) // CHANGED)
        picked = [(i, modules[i]) for i in range(0, len(modules), step)][:CHANGED]
        for n, (i, path) in enumerate(picked):
            change(path, i, insert=n % 2 == 0)
        files = [str(path.relative_to(repo)) for _, path in picked]

        command = [*wfkit, "compat", "--base", "HEAD", "--format", "json"]
        compat_pr, compat_pr_cpu, done = timed([*command, "--no-cache"], repo, args.repeat)
        found = json.loads(done.stdout)["findings"] if done.stdout else []
        expected = sum(1 for n in range(len(picked)) if n % 2 == 0)
        verdicts = [f["code"] for f in found]
        if verdicts != ["WF301"] * expected:
            print(f"unexpected verdicts: {verdicts} (stderr: {done.stderr[-500:]})")
            ok = False
        lint_pr, lint_pr_cpu, _ = timed([*wfkit, "lint", "--no-cache", *files], repo, args.repeat)

        subprocess.run(["git", "checkout", "-q", "--", "."], cwd=repo, check=True)
        tree = sorted((repo / "flows").rglob("*.py"))
        originals = {path: path.read_text() for path in tree}

        def edit(n: int) -> None:
            for path, text in originals.items():
                # code, not a comment: a file whose syntax tree is unchanged is not read at all
                path.write_text(text + f"REVISION = {n + 2}\n")

        edit(0)
        compat_all, compat_all_cpu, done = timed([*command, "--no-cache"], repo, args.repeat)
        if done.returncode != 0:
            print(f"whole-tree compat found something: {done.stdout[-500:]} {done.stderr[-500:]}")
            ok = False
        compat_warm, compat_warm_cpu, done = timed(
            command, repo, args.repeat, lambda n: edit(n + 1)
        )
        if done.returncode != 0 or json.loads(done.stdout)["findings"]:
            print(f"warm whole-tree compat found something: {done.stdout[-500:]}")
            ok = False
        lint_all, lint_all_cpu, _ = timed(
            [*wfkit, "lint", "--no-cache", "flows"], repo, args.repeat
        )
        total = len(list((repo / "flows").rglob("*.py")))

    # (case, files, compat s, lint s, compat CPU s, lint CPU s, target)
    rows = [
        ("pull request", f"{CHANGED} changed", compat_pr, lint_pr, compat_pr_cpu, lint_pr_cpu, 2.0),
        (
            "whole tree, cold",
            f"{total} changed",
            compat_all,
            lint_all,
            compat_all_cpu,
            lint_all_cpu,
            0,
        ),
        (
            "whole tree, warm",
            f"{total} changed",
            compat_warm,
            lint_all,
            compat_warm_cpu,
            lint_all_cpu,
            1.5,
        ),
    ]
    print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores")
    for name, files_text, compat_s, lint_s, compat_cpu, lint_cpu, target in rows:
        ratio = compat_s / lint_s
        verdict = "" if not target else "ok" if ratio <= target else "OVER TARGET"
        aim = f"(target <= {target}x)" if target else "(no target: measured warm)"
        print(
            f"{name:17} {files_text:>12}: compat {compat_s:6.2f} s, lint --no-cache "
            f"{lint_s:6.2f} s, {ratio:.2f}x {aim} {verdict}; CPU {compat_cpu:.2f} s / "
            f"{lint_cpu:.2f} s = {compat_cpu / lint_cpu:.2f}x"
        )
        ok = ok and (not target or ratio <= target)
    if args.markdown:
        print(
            "\n| case | files | wfkit compat --base HEAD | wfkit lint --no-cache | ratio | target "
            "| CPU time, compat / lint | CPU ratio |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, files_text, compat_s, lint_s, compat_cpu, lint_cpu, target in rows:
            print(
                f"| {name} | {files_text} | {compat_s:.2f} s | {lint_s:.2f} s | "
                f"{compat_s / lint_s:.2f}x | {f'<= {target}x' if target else '-'} | "
                f"{compat_cpu:.2f} s / {lint_cpu:.2f} s | {compat_cpu / lint_cpu:.2f}x |"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
