"""The plugin's ``wf_temporal_env`` fixture, in a pytest run of its own: it makes environments,
and a recorded history that temporalio's Replayer rejects fails the test at teardown."""

from __future__ import annotations

import pytest

import wfkit.testing.temporal  # noqa: F401  (loaded once: pytester's runs unload modules)

pytest_plugins = ["pytester"]

FLOWS = """
    from datetime import timedelta

    from temporalio import activity, workflow

    # Which activity Greeter calls: a test changes it after the run, as a deploy would.
    VERSION = {"greet": "hello"}


    @activity.defn
    def hello(name: str) -> str:
        return f"hello {name}"


    @activity.defn
    def bonjour(name: str) -> str:
        return f"bonjour {name}"


    @workflow.defn
    class Greeter:
        @workflow.run
        async def run(self, name: str) -> str:
            fn = hello if VERSION["greet"] == "hello" else bonjour
            return await workflow.execute_activity(
                fn, name, start_to_close_timeout=timedelta(seconds=5)
            )
"""

TESTS = """
    import asyncio

    from flows import VERSION, Greeter, bonjour, hello
    from wfkit.testing.temporal import TemporalTestEnvironment


    def test_makes_environments(wf_temporal_env):
        env = wf_temporal_env(workflows=[Greeter], activities=[hello, bonjour])
        assert isinstance(env, TemporalTestEnvironment)
        assert asyncio.run(env.execute(Greeter.run, "ada", id="g-1")) == "hello ada"


    def test_a_history_the_replayer_rejects_fails(wf_temporal_env):
        env = wf_temporal_env(workflows=[Greeter], activities=[hello, bonjour])
        asyncio.run(env.execute(Greeter.run, "bob", id="g-2"))
        VERSION["greet"] = "bonjour"  # the code changed: the recorded history no longer fits
"""


def test_the_fixture_makes_environments_and_replays_their_histories(pytester: pytest.Pytester):
    pytester.makepyfile(flows=FLOWS, test_it=TESTS)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_a_history_the_replayer_rejects_fails*",
            "*recorded Temporal histories do not replay in temporalio:*",
            "*g-2: *Nondeterminism*",
        ]
    )
