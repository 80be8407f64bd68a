"""The per-file cache of each side's reading: a hit gives exactly the findings a miss gives,
an entry whose helper files changed is not used, a corrupt or foreign entry is ignored, and
``--no-cache`` neither reads nor writes it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from compat_repo import make_repo, write

from wfkit.cli.main import cli
from wfkit.compat.check import CompatOptions, CompatResult, check
from wfkit.compat.side_cache import SCHEMA, blob_id

FLOWS = """\
from wfkit import Context, step, workflow
from shop.helpers import settle


@step
def a(x): return x


@step
def b(x): return x


@workflow
def flow(ctx: Context, x):
    ctx.step(a, x)
    settle(ctx, x)
    ctx.step(b, x)


@workflow(name="renamed_later")
def other(ctx: Context, x, y=1):
    ctx.step(b, x)
"""

HELPERS = """\
from wfkit import Context, step


@step
def c(x): return x


@step
def d(x): return x


@step
def e(x): return x


def settle(ctx: Context, x):
{}
"""

TEMPORAL = """\
from temporalio import activity, workflow


@activity.defn
async def f(x): return x


@activity.defn
async def g(x): return x


@workflow.defn
class Flow:
    @workflow.run
    async def run(self, x):
        await workflow.execute_activity(f, x)
        await workflow.execute_activity(g, x)

    @workflow.signal
    async def approve(self, x) -> None:
        await workflow.execute_activity(f, x)

    @workflow.update(name="change")
    async def change(self, x) -> None:
        await workflow.wait_condition(lambda: x, timeout=5)
"""


def _helpers(*calls: str) -> str:
    return HELPERS.format("\n".join(f"    ctx.step({c}, x)" for c in calls))


OLD = {
    "shop/__init__.py": "",
    "shop/flows.py": FLOWS,
    "shop/helpers.py": _helpers("c", "d"),
    "shop/temporal_flows.py": TEMPORAL,
}
NEW = {
    # flow: a step inserted before settle; other: renamed; a helper step inserted; the
    # Temporal workflow's activities swapped
    "shop/flows.py": FLOWS.replace(
        "    ctx.step(a, x)\n", "    ctx.step(b, x)\n    ctx.step(a, x)\n"
    )
    .replace('name="renamed_later"', 'name="renamed_now"')
    .replace("def other(ctx: Context, x, y=1)", "def other(ctx: Context, x, y=1, z=2)"),
    "shop/helpers.py": _helpers("c", "e", "d"),
    "shop/temporal_flows.py": TEMPORAL.replace("(f, x)", "(TMP, x)")
    .replace("(g, x)", "(f, x)")
    .replace("(TMP, x)", "(g, x)")
    .replace('(name="change")', '(name="alter")'),
}


def _check(repo: Path, cache: Path | None) -> CompatResult:
    return check(CompatOptions("HEAD", (), str(repo), cache_dir=str(cache) if cache else None))


def _as_rows(result: CompatResult) -> list[tuple]:
    return [
        (f.path, f.line, f.column, f.end_line, f.end_column, f.code, f.message)
        for f in result.findings
    ]


def test_blob_id_is_gits() -> None:
    assert blob_id(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_cold_warm_and_uncached_runs_give_the_same_findings(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", OLD)
    write(repo, NEW)
    cache = tmp_path / "cache"
    uncached = _check(repo, None)
    cold = _check(repo, cache)
    warm = _check(repo, cache)
    assert {f.code for f in uncached.findings} == {"WF301", "WF302", "WF306"}
    assert _as_rows(cold) == _as_rows(warm) == _as_rows(uncached)
    assert (cold.files_checked, cold.workflows_checked) == (
        warm.files_checked,
        warm.workflows_checked,
    )
    assert cold.cache_hits == 0
    assert warm.cache_hits == 4  # two files define workflows (helpers.py does not), two sides
    assert uncached.cache_hits == 0


def test_cli_json_is_the_same_cold_warm_and_with_no_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "repo", OLD)
    write(repo, NEW)
    monkeypatch.chdir(repo)

    def run(*extra: str) -> str:
        result = CliRunner().invoke(
            cli, ["compat", "--base", "HEAD", "--format", "json", *extra], catch_exceptions=False
        )
        assert result.exit_code == 1, result.output
        return result.stdout

    uncached = run("--no-cache")
    assert not (repo / ".wfkit_cache").exists()  # --no-cache writes nothing
    cold = run()
    assert any((repo / ".wfkit_cache").rglob("*.json"))
    warm = run()
    assert cold == warm == uncached
    assert {f["code"] for f in json.loads(warm)["findings"]} == {"WF301", "WF302", "WF306"}


def test_an_entry_whose_helper_changed_is_not_used(tmp_path: Path) -> None:
    """flows.py is the same text in both runs; the helper module it inlines is not."""
    repo = make_repo(tmp_path / "repo", OLD)
    cache = tmp_path / "cache"
    write(repo, {"shop/helpers.py": _helpers("c", "d") + "\nX = 1\n"})  # no durable change
    assert _check(repo, cache).findings == ()
    write(repo, {"shop/helpers.py": _helpers("c", "e", "d")})  # inserted: unsafe
    warm = _check(repo, cache)
    assert warm.cache_hits >= 1  # the old side of flows.py still comes from the cache
    assert _as_rows(warm) == _as_rows(_check(repo, None))
    assert [f.code for f in warm.findings] == ["WF301"]


def test_a_new_init_file_changes_the_module_name_and_misses(tmp_path: Path) -> None:
    """The ``__init__.py`` files around a file name its module: one appearing in the work
    tree makes the new side's reading a miss, not the old side's (git has none there)."""
    flows = FLOWS.replace("from shop.helpers import settle\n", "").replace(
        "    settle(ctx, x)\n", ""
    )
    repo = make_repo(tmp_path / "repo", {"pkg/flows.py": flows})
    cache = tmp_path / "cache"
    write(repo, {"pkg/flows.py": flows + "\nX = 1\n"})
    first = _check(repo, cache)
    assert _check(repo, cache).cache_hits == 2
    write(repo, {"pkg/__init__.py": ""})
    warm = _check(repo, cache)
    assert warm.cache_hits == 1
    assert _as_rows(first) == _as_rows(warm) == _as_rows(_check(repo, None))


def _variant(reading: dict) -> str:
    return json.dumps({"schema": SCHEMA, "summary": {"variants": [reading]}})


@pytest.mark.parametrize(
    "garbage",
    [
        "{not json",
        json.dumps({"schema": 999, "summary": {}}),
        json.dumps({"schema": SCHEMA, "summary": {"variants": 3}}),
        json.dumps({"schema": SCHEMA, "summary": {"variants": [{"workflows": [{"name": "x"}]}]}}),
        _variant({"workflows": [{"name": "x"}], "unparsable": "", "deps": {}}),
        _variant({"workflows": [], "unparsable": 3, "deps": {}}),
        _variant({"workflows": [], "unparsable": "", "deps": 5}),
        _variant({"workflows": 7, "unparsable": "", "deps": {}}),
        json.dumps([1, 2]),
    ],
)
def test_a_corrupt_or_foreign_entry_is_ignored(tmp_path: Path, garbage: str) -> None:
    repo = make_repo(tmp_path / "repo", OLD)
    write(repo, NEW)
    cache = tmp_path / "cache"
    expected = _as_rows(_check(repo, cache))
    entries = sorted(cache.rglob("*.json"))
    assert entries
    for entry in entries:
        entry.write_text(garbage)
    again = _check(repo, cache)
    assert _as_rows(again) == expected
    assert again.cache_hits == 0


def test_a_stale_entry_of_an_older_reading_is_not_used(tmp_path: Path) -> None:
    """An entry recording a dependency that no longer holds (here: every entry claims an
    extra helper file with another content) is a miss, not a wrong answer."""
    repo = make_repo(tmp_path / "repo", OLD)
    write(repo, NEW)
    cache = tmp_path / "cache"
    expected = _as_rows(_check(repo, cache))
    for entry in cache.rglob("*.json"):
        data = json.loads(entry.read_text())
        for variant in data["summary"]["variants"]:
            variant["deps"]["shop/helpers.py"] = "0" * 40
            variant["workflows"] = []  # what a wrong hit would show: nothing
        entry.write_text(json.dumps(data))
    again = _check(repo, cache)
    assert again.cache_hits == 0
    assert _as_rows(again) == expected


def test_a_cached_reading_equals_the_computed_one(tmp_path: Path) -> None:
    """Every field of every workflow (graph nodes, edges, groups, parameters, handlers) comes
    back from an entry as it was computed."""
    from wfkit.compat.reading import SideReader
    from wfkit.compat.side_cache import SideCache, cache_salt
    from wfkit.compat.sides import read_side
    from wfkit.lint.cache import FileCache
    from wfkit.static.parse_guard import ParseLimits

    repo = make_repo(tmp_path / "repo", OLD)
    root = str(repo.resolve())
    files = {name: (repo / name).read_text() for name in OLD}
    reader = SideReader(root, {})
    extra = (frozenset(), frozenset())
    cache = SideCache(
        FileCache(str(tmp_path / "cache"), cache_salt(extra, ParseLimits())), root, reader.blob
    )
    computed = read_side(root, files, reader, cache=cache)
    cached = read_side(root, files, reader, cache=cache)
    assert (computed.hits, cached.hits) == (0, 2)
    assert cached.workflows == computed.workflows
    assert sorted(computed.workflows) == ["Flow", "flow", "renamed_later"]
    assert [h.name for h in cached.workflows["Flow"].handlers] == ["approve", "change"]
    assert any(n.records == "sleep" for n in cached.workflows["Flow"].handlers[1].graph.nodes)


def test_the_cache_in_the_repository_is_not_a_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache directory ignores itself: a second run sees no new file to check."""
    repo = make_repo(tmp_path / "repo", OLD)
    write(repo, NEW)
    monkeypatch.chdir(repo)
    first = CliRunner().invoke(cli, ["compat", "--base", "HEAD", "--format", "json"])
    assert (repo / ".wfkit_cache").is_dir()
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ".wfkit_cache" not in status
    second = CliRunner().invoke(cli, ["compat", "--base", "HEAD", "--format", "json"])
    assert first.stdout == second.stdout and first.exit_code == second.exit_code == 1
