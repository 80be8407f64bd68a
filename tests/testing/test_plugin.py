"""The pytest plugin: autoload, fixtures (the factory under @given), header, profiles, lightness.

Runs in-process through ``pytester`` where nothing global changes; a Hypothesis profile is
process-global, so the profile tests run pytest in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from hypothesis import settings

# pytester's in-process runs unload the modules they import; the engine and the harness are
# loaded here first so that the workflows a run defines and the harness it uses agree.
import wfkit.engine.engine  # noqa: F401
import wfkit.testing.context  # noqa: F401

pytest_plugins = ["pytester"]

FLOWS = """
    from wfkit import Context, step, workflow


    @step
    def greet(name: str) -> str:
        return f"hello {name}"


    @workflow(name="plugin-greet")
    def greeting(ctx: Context, name: str) -> str:
        return ctx.step(greet, name)
"""


def test_the_plugin_autoloads_through_its_entry_point(pytester: pytest.Pytester):
    config = pytester.parseconfigure()
    plugin = config.pluginmanager.get_plugin("wfkit")
    assert plugin is not None and plugin.__name__ == "wfkit.testing.pytest_plugin"
    assert any("workflow:" in line for line in config.getini("markers"))


def test_fixtures_give_a_context_an_engine_and_a_ledger(pytester: pytest.Pytester):
    pytester.makepyfile(flows=FLOWS)
    pytester.makepyfile(
        test_it="""
        import pytest
        from flows import greeting
        from wfkit.testing import Ledger, TestWorkflowContext

        @pytest.mark.workflow
        def test_context(wf_context):
            assert isinstance(wf_context, TestWorkflowContext)
            assert wf_context.run(greeting, "ada") == "hello ada"
            assert wf_context.calls("greet") == [("ada",)]

        def test_engine(wf_engine, tmp_path):
            assert wf_engine.start(greeting, "bob").result(timeout=10) == "hello bob"
            assert (tmp_path / "wfkit.db").is_file()

        def test_ledger(wf_ledger):
            assert isinstance(wf_ledger, Ledger) and wf_ledger.count() == 0
            wf_ledger.record("refund", key="o-1")
            wf_ledger.assert_once("refund", "o-1")
    """
    )
    result = pytester.runpytest("--strict-markers", "-W", "error")
    result.assert_outcomes(passed=3)


def test_the_factory_gives_every_hypothesis_example_a_fresh_context(pytester: pytest.Pytester):
    pytester.makepyfile(flows=FLOWS)
    pytester.makepyfile(
        test_it="""
        from hypothesis import given, settings, strategies as st
        from flows import greeting

        SEEN = []

        @settings(max_examples=15, database=None)
        @given(st.text(alphabet="abc", max_size=4))
        def test_each_example_runs_its_own_workflow(wf_context_factory, name):
            ctx = wf_context_factory(start="2026-03-01T00:00:00Z")
            assert ctx.run(greeting, name) == f"hello {name}"
            SEEN.append(ctx)  # kept alive, so no two share an id()

        def test_contexts_were_fresh():
            assert len(SEEN) == len({id(ctx) for ctx in SEEN}) >= 10
    """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_recorded_histories_land_in_one_folder_per_test_and_context(pytester: pytest.Pytester):
    pytester.makepyfile(flows=FLOWS)
    pytester.makepyfile(
        test_it="""
        from flows import greeting

        def test_one(wf_context, wf_context_factory):
            wf_context.run(greeting, "a")
            wf_context_factory().run(greeting, "b")
    """
    )
    pytester.runpytest("--wfkit-record-histories", "golden").assert_outcomes(passed=1)
    files = sorted(
        p.relative_to(pytester.path / "golden").as_posix()
        for p in (pytester.path / "golden").rglob("*.json")
    )
    assert files == [
        "test_it.py__test_one/1/plugin-greet-test-run.json",
        "test_it.py__test_one/2/plugin-greet-test-run.json",
    ]
    doc = json.loads((pytester.path / "golden" / files[1]).read_text())
    assert doc["run"]["input"] and doc["run"]["status"] == "COMPLETED"
    # ...and they are what --wfkit-histories replays
    result = pytester.runpytest(
        "-p", "no:python", "--wfkit-histories", "golden", "--wfkit-workflows", "flows"
    )
    result.assert_outcomes(passed=2)


def test_the_report_header_is_one_line_with_version_and_profile(pytester: pytest.Pytester):
    pytester.makepyfile(test_it="def test_ok(): pass")
    result = pytester.runpytest()
    header = [line for line in result.outlines if line.startswith("wfkit ")]
    # in-process, the profile is this process's (wfkit-ci when our own suite runs on CI)
    assert header == [f"wfkit 0.1.0: hypothesis profile {settings.get_current_profile_name()}"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("ini", "env", "args", "profile", "header"),
    [
        ("wfkit_ci_profile = true", {"CI": "1"}, [], "wfkit-ci", "wfkit-ci"),
        (
            "wfkit_ci_profile = true",
            {"CI": "1"},
            ["--hypothesis-profile=wfkit-thorough"],
            "wfkit-thorough",
            "wfkit-thorough",
        ),
        # Hypothesis is not loaded at header time: the profile is chosen when the test imports it
        ("wfkit_ci_profile = true", {}, [], "default", None),
        ("", {"CI": "1"}, [], "ci", None),  # opt-in: Hypothesis's own CI profile stays
        ("", {}, ["-v"], "default", "default"),
    ],
    ids=["ci", "asked-for-wins", "not-ci", "not-opted-in", "verbose"],
)
def test_the_ci_profile_is_opt_in_and_never_overrides_a_chosen_one(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    ini: str,
    env: dict[str, str],
    args: list[str],
    profile: str,
    header: str | None,
):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("HYPOTHESIS_PROFILE", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile(
        test_it=f"""
        from hypothesis import settings

        def test_profile():
            assert settings.get_current_profile_name() == {profile!r}
    """
    )
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=1)
    expected = "wfkit 0.1.0" if header is None else f"wfkit 0.1.0: hypothesis profile {header}"
    assert [line for line in result.outlines if line.startswith("wfkit ")] == [expected]


def test_importing_hypothesis_registers_the_wfkit_profiles():
    """Through Hypothesis's entry point, with no pytest and no wfkit import in sight."""
    code = textwrap.dedent("""
        import sys
        from hypothesis import settings
        ci, thorough = settings.get_profile("wfkit-ci"), settings.get_profile("wfkit-thorough")
        print(ci.max_examples, ci.derandomize, thorough.max_examples,
              "wfkit.engine.engine" in sys.modules)
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["25", "True", "2000", "False"]


def test_the_entry_module_imports_nothing_heavy():
    code = textwrap.dedent("""
        import sys
        import wfkit.testing.pytest_plugin
        heavy = ["libcst", "rich", "wfkit.engine.engine", "wfkit.lint.api", "wfkit.testing.context",
                 "wfkit.testing.collect", "freezegun", "hypothesis"]
        print(",".join(name for name in heavy if name in sys.modules))
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""
