"""Linter throughput benchmark (not a test): is `wfkit lint` as fast as issue 3 promises?

It measures, in one run and with the same number of processes throughout:

1. a synthetic tree of Temporal-style modules (default 1,000 modules, ~90k lines): activities
   that legitimately read the clock and make uuids, and workflows with planted violations;
2. a tree with no workflow code: the installed sources of rich, hypothesis, click and libcst;

and for each: libcst parse-only time of the same files (the floor any libcst-based linter pays),
`wfkit lint` cold (empty cache) and warm (same cache, nothing changed), with ratios; plus one
`wfkit lint FILE` run in a fresh process (what an editor or pre-commit pays). It then checks
precision where it is knowable: no finding inside an activity, and every planted violation found.

    python bench/lint_bench.py                   # the full run, ~1-2 minutes on 2 cores
    python bench/lint_bench.py --modules 200     # a quick look
    python bench/lint_bench.py --markdown        # also print the table for docs/performance.md
    python bench/lint_bench.py --python .venv/bin/python   # single-file runs from a venv

The single-file runs measure what a user's process pays, so they run the way users do: with
bytecode caching on (PYTHONDONTWRITEBYTECODE is removed from their environment, and a warm-up
run writes any missing ``.pyc`` files first), and with ``--python`` (default: the interpreter
running the bench) pointing at a venv with wfkit installed as the README says. A system
interpreter can pay tens of milliseconds in ``site`` for unrelated packages' ``.pth`` files.

Targets (issue 3): workflow tree cold <= 2.0x parse-only; no-workflow tree cold <= 0.2x its
parse-only; warm <= 0.1x cold on the workflow tree (its files have findings; the no-workflow
tree's cold run already skips parsing, so its warm/cold ratio is shown, not judged); single file
<= 0.25 s; zero findings in activities; every planted
violation found. Exit status 0 when every target and check holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

NO_WORKFLOW_PACKAGES = ("rich", "hypothesis", "click", "libcst")
SINGLE_REPEATS = 5  # fresh-process runs per single-file figure

# (code, statement) planted in workflow bodies; {i} is the module number.
PLANTS: tuple[tuple[str, str], ...] = (
    ("WF101", "stamp = datetime.now()"),
    ("WF102", "request_id = uuid.uuid4()"),
    ("WF103", "jitter = random.random()"),
    ("WF104", "first = next(iter(set(order.items)))"),
    ("WF106", "bucket = hash(order.order_id) % 16"),
    ("WF107", "time.sleep(1)"),
    ("WF109", "region = os.environ.get('REGION', 'eu')"),
)


@dataclass
class Module:
    """One generated file and what the checks need to know about it."""

    path: Path
    lines: int
    planted: list[tuple[int, str]] = field(default_factory=list)  # (line, code)
    activity_ranges: list[tuple[int, int]] = field(default_factory=list)  # inclusive


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, text: str = "") -> int:
        """Append one line; returns its 1-based number."""
        self.lines.append(text)
        return len(self.lines)

    def block(self, text: str) -> None:
        for line in text.strip("\n").splitlines():
            self.add(line)


def module_source(i: int) -> tuple[str, list[tuple[int, str]], list[tuple[int, int]]]:
    """A realistic Temporal module: 2 activities, helpers, a workflow class with 1-2 plants."""
    w = _Writer()
    w.block(f'''
"""Order processing, shard {i}: activities do I/O; the workflow only orchestrates."""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio import activity, workflow

RETRY_LIMIT = {3 + i % 4}


@dataclass
class Order{i}:
    order_id: str
    amount: int
    items: list[str] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
''')
    activities = []
    w.add()
    w.add()
    start = w.add("@activity.defn")
    w.block(f'''
async def reserve_stock_{i}(order: Order{i}) -> str:
    """Talks to the warehouse: reading the clock and making ids is fine here."""
    stamp = datetime.now().isoformat()
    token = uuid.uuid4().hex
    await asyncio.sleep(random.random() / 100)
    return f"{{order.order_id}}-{{stamp}}-{{token}}"
''')
    activities.append((start, len(w.lines)))
    w.add()
    w.add()
    start = w.add("@activity.defn")
    w.block(f"""
def charge_card_{i}(order: Order{i}) -> dict[str, object]:
    started = time.time()
    with open(os.devnull, "w") as sink:
        sink.write(str(order.amount))
    return {{"order": order.order_id, "took": time.time() - started}}
""")
    activities.append((start, len(w.lines)))
    w.block(f"""


def _line_total_{i}(order: Order{i}) -> int:
    total = 0
    for position, item in enumerate(sorted(order.items)):
        total += (position + 1) * len(item)
    return total + order.amount


def _receipt_{i}(order: Order{i}, token: str) -> str:
    parts = [f"order {{order.order_id}}", f"token {{token}}"]
    for key, value in sorted(order.notes.items()):
        parts.append(f"{{key}}={{value}}")
    parts.append(f"total {{_line_total_{i}(order)}}")
    return "\\n".join(parts)
""")
    plants: list[tuple[int, str]] = []
    helper_plant = i % 5 == 0
    if helper_plant:  # a violation in a helper, reached only through the workflow
        w.add()
        w.add()
        w.add(f"def _stamp_{i}() -> str:")
        plants.append((w.add("    return datetime.now().isoformat()"), "WF101"))
    w.block(f'''


@workflow.defn
class OrderWorkflow{i}:
    """Reserve stock, charge twice, wait for a person's approval, then build the receipt.

    Every decision depends only on the inputs and on recorded activity results.
    """

    def __init__(self) -> None:
        self.approved = False
        self.history: list[str] = []

    @workflow.signal
    def approve(self) -> None:
        self.approved = True

    @workflow.query
    def status(self) -> str:
        return "approved" if self.approved else "waiting"

    @workflow.run
    async def run(self, order: Order{i}) -> str:
        started = workflow.now()
        token = await workflow.execute_activity(
            reserve_stock_{i}, order, start_to_close_timeout=timedelta(seconds=30))
        charges = await asyncio.gather(*(
            workflow.execute_activity(charge_card_{i}, order,
                                      start_to_close_timeout=timedelta(seconds=10))
            for _ in range(2)))
        for item in sorted(set(order.items)):
            self.history.append(item)
''')
    for offset in range(1 + i % 2):
        code, statement = PLANTS[(i + offset * 3) % len(PLANTS)]
        plants.append((w.add(f"        {statement}"), code))
    if helper_plant:
        w.add(f"        self.history.append(_stamp_{i}())")
    w.block(f"""
        await workflow.wait_condition(lambda: self.approved)
        elapsed = workflow.now() - started
        self.history.append(str(elapsed))
        if len(charges) < RETRY_LIMIT:
            await asyncio.sleep(5)
        return _receipt_{i}(order, token)
""")
    return "\n".join(w.lines) + "\n", plants, activities


def generate_tree(root: Path, count: int) -> list[Module]:
    modules = []
    for i in range(count):
        package = root / f"shard_{i // 100:02d}"
        package.mkdir(parents=True, exist_ok=True)
        init = package / "__init__.py"
        if not init.exists():
            init.write_text("")
        source, plants, activities = module_source(i)
        path = package / f"orders_{i:04d}.py"
        path.write_text(source)
        modules.append(Module(path, source.count("\n"), plants, activities))
    return modules


def python_files(roots: Sequence[Path]) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*.py") if p.is_file())


def count_lines(files: Sequence[Path]) -> int:
    return sum(p.read_bytes().count(b"\n") for p in files)


def _parse_one(path: str) -> int:
    import libcst

    try:
        libcst.parse_module(Path(path).read_bytes())
    except Exception:  # noqa: BLE001 - a file libcst cannot parse still costs the attempt
        return 0
    return 1


def libcst_parse_seconds(files: Sequence[Path], jobs: int) -> float:
    """Read and parse every file with libcst on ``jobs`` processes (pool start-up included)."""
    names = [str(p) for p in files]
    started = time.perf_counter()
    if jobs <= 1:
        for name in names:
            _parse_one(name)
    else:
        with ProcessPoolExecutor(jobs) as pool:
            list(pool.map(_parse_one, names, chunksize=16))
    return time.perf_counter() - started


def timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def lint_seconds(paths: Sequence[Path], jobs: int, cache_dir: Path) -> tuple[float, object]:
    from wfkit.lint.api import LintOptions, lint_paths

    options = LintOptions(jobs=jobs, use_cache=True, cache_dir=str(cache_dir))
    return timed(lambda: lint_paths([str(p) for p in paths], options))


def user_env() -> dict[str, str]:
    """The environment of the fresh-process runs: this one, with bytecode caching on.

    Users run with ``.pyc`` files (pip compiles them at install; an editable install writes
    them on first import). With PYTHONDONTWRITEBYTECODE set (as in some CI and sandbox
    environments) every fresh process would compile wfkit and the rules from source again
    (~40 ms), a cost no user pays.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def single_file_seconds(
    python: str, path: Path, *, cached: bool, repeats: int = SINGLE_REPEATS
) -> tuple[float, float]:
    """(best, median) of a few `wfkit lint FILE` runs in a fresh interpreter (what an editor
    pays), after one warm-up run that also writes any missing bytecode.

    ``cached=False`` is a file just edited (no cache entry); ``cached=True`` is a re-run on an
    unchanged file (the cache lives next to the file, in the generated tree).
    """
    command = [python, "-m", "wfkit", "lint", "--exit-zero", str(path)]
    if not cached:
        command.insert(4, "--no-cache")
    env = user_env()
    subprocess.run(command, capture_output=True, check=False, cwd=path.parent, env=env)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False, cwd=path.parent, env=env)
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)


def fresh_process_seconds(python: str, code: str, repeats: int = SINGLE_REPEATS) -> float:
    """Best wall time of ``python -c code`` in a fresh interpreter."""
    env = user_env()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([python, "-c", code], capture_output=True, check=False, env=env)
        times.append(time.perf_counter() - started)
    return min(times)


def wfkit_location(python: str) -> str:
    """Where ``python`` imports wfkit from (it should be this checkout)."""
    code = "import os, wfkit; print(os.path.dirname(wfkit.__file__))"
    done = subprocess.run(
        [python, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env=user_env(),
        cwd=tempfile.gettempdir(),
    )
    return done.stdout.strip() or f"wfkit not importable: {done.stderr.strip()[-200:]}"


def check_precision(modules: Sequence[Module], findings: Sequence[object]) -> dict[str, int]:
    by_path: dict[str, list[object]] = {}
    for finding in findings:
        by_path.setdefault(os.path.realpath(finding.path), []).append(finding)  # type: ignore[attr-defined]
    planted = found = in_activities = extra = 0
    for module in modules:
        got = by_path.get(os.path.realpath(module.path), [])
        got_keys = {(f.line, f.code) for f in got}  # type: ignore[attr-defined]
        planted += len(module.planted)
        found += sum(1 for key in module.planted if key in got_keys)
        for finding in got:
            line = finding.line  # type: ignore[attr-defined]
            if any(start <= line <= end for start, end in module.activity_ranges):
                in_activities += 1
            elif (line, finding.code) not in module.planted:  # type: ignore[attr-defined]
                extra += 1
    return {"planted": planted, "found": found, "in_activities": in_activities, "extra": extra}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--keep", type=Path, default=None, help="generate the synthetic tree here and keep it"
    )
    parser.add_argument(
        "--repeat", type=int, default=2, help="take the best of this many runs of each measurement"
    )
    parser.add_argument("--markdown", action="store_true", help="also print a markdown table")
    parser.add_argument(
        "--python",
        default=sys.executable,
        metavar="PATH",
        help="interpreter for the fresh-process single-file runs (default: this "
        "one); measure from a venv with wfkit installed, as users run it",
    )
    args = parser.parse_args(argv)
    jobs = args.jobs

    work = Path(tempfile.mkdtemp(prefix="wfkit-lint-bench-"))
    try:
        tree = args.keep or work / "tree"
        modules = generate_tree(tree, args.modules)
        wf_files = python_files([tree])
        wf_lines = count_lines(wf_files)
        roots = []
        for name in NO_WORKFLOW_PACKAGES:
            spec = importlib.util.find_spec(name)
            if spec and spec.submodule_search_locations:
                roots.append(Path(list(spec.submodule_search_locations)[0]))
        plain_files = python_files(roots)
        plain_lines = count_lines(plain_files)

        import libcst  # noqa: F401 - import cost is not part of any measurement

        import wfkit.lint.api  # noqa: F401
        from wfkit.lint.catalog import all_rules

        all_rules()  # rule discovery happens once per process; not part of a tree's time

        def measure(
            name: str, files: list[Path], lines: int, paths: list[Path]
        ) -> tuple[tuple[str, int, int, float, float, float], object]:
            """Best of ``--repeat`` for each figure: a shared machine only ever adds time."""
            parse = min(libcst_parse_seconds(files, jobs) for _ in range(args.repeat))
            colds = [
                lint_seconds(paths, jobs, work / f"cache-{name}-{n}") for n in range(args.repeat)
            ]
            cold, result = min(colds, key=lambda pair: pair[0])
            warm = min(
                lint_seconds(paths, jobs, work / f"cache-{name}-0")[0] for _ in range(args.repeat)
            )
            return (name, len(files), lines, parse, cold, warm), result

        wf_row, wf_result = measure("workflow tree", wf_files, wf_lines, [tree])
        plain_row, plain_result = measure("no-workflow tree", plain_files, plain_lines, roots)
        rows = [wf_row, plain_row]
        single, single_median = single_file_seconds(args.python, modules[0].path, cached=False)
        single_warm, _ = single_file_seconds(args.python, modules[0].path, cached=True)
        interpreter = fresh_process_seconds(args.python, "pass")
        libcst_import = fresh_process_seconds(args.python, "import libcst") - interpreter
        location = wfkit_location(args.python)
        checks = check_precision(modules, wf_result.findings)  # type: ignore[attr-defined]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"wfkit lint benchmark: {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} cores, jobs={jobs}, "
        f"best of {args.repeat}"
    )
    header = (
        f"{'tree':<17}{'files':>7}{'lines':>9}{'parse s':>9}{'cold s':>9}{'warm s':>9}"
        f"{'cold/parse':>12}{'warm/cold':>11}{'klines/s':>10}"
    )
    print(header)
    for name, files, lines, parse, cold, warm in rows:
        print(
            f"{name:<17}{files:>7}{lines:>9}{parse:>9.2f}{cold:>9.2f}{warm:>9.2f}"
            f"{cold / parse:>12.2f}{warm / cold:>11.3f}{lines / cold / 1000:>10.1f}"
        )
    print(
        f"single file (`{args.python} -m wfkit lint FILE` in a fresh process, bytecode "
        f"cached, best of {SINGLE_REPEATS}; wfkit from {location}):"
    )
    print(
        f"  {single:.3f} s edited (--no-cache; median {single_median:.3f} s), "
        f"{single_warm:.3f} s unchanged (cached); interpreter start alone {interpreter:.3f} s, "
        f"`import libcst` alone {libcst_import:.3f} s"
    )
    checkout = str(Path(__file__).resolve().parents[1] / "wfkit")
    if location != checkout:
        print(f"  note: {args.python} imports wfkit from {location}, not from {checkout}")
    print(
        f"planted violations found: {checks['found']}/{checks['planted']}; findings inside "
        f"activities: {checks['in_activities']}; other findings: {checks['extra']}; "
        f"no-workflow tree findings: {len(plain_result.findings)}"
    )  # type: ignore[attr-defined]

    (_, _, _, wf_p, wf_c, wf_w), (_, _, _, pl_p, pl_c, _) = rows
    targets = [
        ("workflow tree cold <= 2.0x parse-only", wf_c / wf_p <= 2.0),
        ("no-workflow tree cold <= 0.2x parse-only", pl_c / pl_p <= 0.2),
        # The warm target is about files that have findings; the no-workflow tree's cold run
        # already skips parsing, so its warm/cold ratio is printed above but not judged.
        ("warm <= 0.1x cold (workflow tree, files with findings)", wf_w / wf_c <= 0.1),
        ("single file <= 0.25 s", single <= 0.25),
        ("zero findings inside activities", checks["in_activities"] == 0),
        ("every planted violation found", checks["found"] == checks["planted"]),
    ]
    for label, ok in targets:
        print(f"  [{'ok' if ok else 'MISSED'}] {label}")
    if args.markdown:
        print()
        print(
            "| tree | files | lines | libcst parse-only | wfkit cold | wfkit warm | "
            "cold / parse | warm / cold |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, files, lines, parse, cold, warm in rows:
            print(
                f"| {name} | {files} | {lines:,} | {parse:.2f} s | {cold:.2f} s | "
                f"{warm:.2f} s | {cold / parse:.2f}x | {warm / cold:.3f}x |"
            )
    return 0 if all(ok for _, ok in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
