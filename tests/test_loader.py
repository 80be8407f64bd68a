"""Loading workflows from ``MODULE:WORKFLOW``: files, dotted modules, and every user mistake
as one UsageError line naming the problem and the fix."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from wfkit.engine.definitions import WorkflowDef
from wfkit.engine.loader import load_modules, load_workflow, parse_spec
from wfkit.errors import UsageError

FLOWS = """
    from wfkit import Context, step, workflow
    from helper import greeting

    @step
    def hello(name: str) -> str:
        return greeting(name)

    @workflow
    def greet(ctx: Context, name: str) -> str:
        return hello(name)

    @workflow(name="say-bye")
    def bye(ctx: Context) -> str:
        return "bye"

    def plain(ctx):
        return 1

    NUMBER = 3
"""


@pytest.fixture
def isolated(user_code_dir: Path) -> Path:
    """Keep sys.path / sys.modules changes made by the loader inside the test."""
    return user_code_dir


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def flows(isolated: Path) -> Path:
    write(isolated / "app" / "helper.py", "def greeting(name):\n    return 'hi ' + name\n")
    return write(isolated / "app" / "flows.py", FLOWS)


def test_a_file_path_loads_with_sibling_imports(flows: Path) -> None:
    wf = load_workflow("app/flows.py:greet")
    assert isinstance(wf, WorkflowDef) and wf.name == "greet"
    assert wf.fn(None, "ada") == "hi ada"  # the sibling import worked


def test_loading_a_file_twice_gives_the_same_workflow_object(flows: Path) -> None:
    assert load_workflow("app/flows.py:greet") is load_workflow(f"{flows}:greet")


def test_two_files_with_one_name_do_not_clash(isolated: Path) -> None:
    write(
        isolated / "a" / "flows.py",
        "from wfkit import workflow\n@workflow\ndef one(ctx):\n    return 'a'\n",
    )
    write(
        isolated / "b" / "flows.py",
        "from wfkit import workflow\n@workflow\ndef one(ctx):\n    return 'b'\n",
    )
    a, b = load_workflow("a/flows.py:one"), load_workflow("b/flows.py:one")
    assert a.fn(None) == "a" and b.fn(None) == "b"


def test_a_workflow_can_be_named_by_its_registered_name(flows: Path) -> None:
    assert load_workflow("app/flows.py:say-bye").fn.__name__ == "bye"


def test_a_dotted_module_loads_from_the_current_directory(flows: Path) -> None:
    write(flows.parent / "__init__.py", "")
    write(flows.parent / "helper.py", "def greeting(name):\n    return 'hey ' + name\n")
    write(flows.parent / "flows.py", FLOWS.replace("from helper", "from app.helper"))
    assert load_workflow("app.flows:greet").fn(None, "bo") == "hey bo"


def test_a_file_inside_a_package_keeps_its_relative_imports(isolated: Path) -> None:
    write(isolated / "pkg" / "__init__.py", "")
    write(isolated / "pkg" / "util.py", "VALUE = 42\n")
    write(
        isolated / "pkg" / "flows.py",
        "from wfkit import workflow\nfrom .util import VALUE\n"
        "@workflow\ndef answer(ctx):\n    return VALUE\n",
    )
    wf = load_workflow("pkg/flows.py:answer")
    assert wf.fn(None) == 42 and wf.fn.__module__ == "pkg.flows"


def test_load_modules_finds_every_workflow_once_in_name_order(flows: Path) -> None:
    write(flows.parent / "more.py", "from flows import greet\n")  # re-exports one
    found = load_modules(["app/flows.py", "app/more.py", "app/flows.py:greet"])
    assert [wf.name for wf in found] == ["greet", "say-bye"]


def test_spec_parsing() -> None:
    assert parse_spec("a/b.py:wf").module == "a/b.py"
    assert parse_spec("a.b:wf").attribute == "wf"
    assert parse_spec("a/b.py").attribute is None
    with pytest.raises(UsageError):
        parse_spec("a/b.py:")
    with pytest.raises(UsageError):
        parse_spec(":wf")


def one_line(err: pytest.ExceptionInfo[UsageError]) -> str:
    line = err.value.one_line()
    assert "\n" not in line and err.value.hint and err.value.exit_code == 2
    return line


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("app/missing.py:greet", "no such file: app/missing.py"),
        ("nosuch:greet", "no module named 'nosuch'"),
        ("no_such_module.flows:greet", "no module named 'no_such_module'"),
        ("app/flows.py:nope", "has no workflow 'nope'"),
        ("app/flows.py:hello", "is a @step, not a @workflow"),
        ("app/flows.py:plain", "is a plain function, not a @workflow"),
        ("app/flows.py:NUMBER", "is an int value, not a @workflow"),
        ("app/flows.py", "does not say which workflow"),
        ("app", "is a directory"),
        ("not-a module:wf", "neither a Python file nor a dotted module"),
    ],
)
def test_user_mistakes_are_one_line_usage_errors(flows: Path, spec: str, expected: str) -> None:
    with pytest.raises(UsageError) as err:
        load_workflow(spec if spec != "app" else "app/:wf")
    assert expected in one_line(err)


def test_a_missing_workflow_lists_the_ones_the_module_defines(flows: Path) -> None:
    with pytest.raises(UsageError) as err:
        load_workflow("app/flows.py:nope")
    assert "app/flows.py:bye" in err.value.hint and "app/flows.py:greet" in err.value.hint


def test_a_module_without_workflows_says_so(isolated: Path) -> None:
    write(isolated / "empty.py", "X = 1\n")
    with pytest.raises(UsageError) as err:
        load_modules(["empty.py"])
    assert "defines no @workflow" in one_line(err)
    with pytest.raises(UsageError) as err:
        load_workflow("empty.py:X")
    assert "defines no @workflow" in err.value.hint


@pytest.mark.parametrize(
    "body, expected",
    [
        ("x = 1\nraise ValueError('bad config')\n", "raised ValueError: bad config (at boom.py:2)"),
        (
            "import no_such_dependency_xyz\n",
            "raised ModuleNotFoundError: No module named 'no_such_dependency_xyz' (at boom.py:1)",
        ),
        ("def f(:\n    pass\n", "raised SyntaxError: invalid syntax (at boom.py:1)"),
        ("import sys\nsys.exit(3)\n", "called sys.exit(3) (at boom.py:2)"),
        (
            "from wfkit import workflow\n@workflow\ndef wf():\n    pass\n",
            "raised DefinitionError: @workflow 'wf' must take the workflow context",
        ),
    ],
)
def test_an_exception_raised_on_import_is_one_line_with_its_location(
    isolated: Path, body: str, expected: str
) -> None:
    write(isolated / "boom.py", body)
    with pytest.raises(UsageError) as err:
        load_workflow("boom.py:wf")
    line = one_line(err)
    assert line.startswith("importing boom.py ") and expected in line
    assert not any(name.startswith("wfkit_user_boom") for name in sys.modules)


def test_an_exception_in_a_dotted_module_names_its_file(isolated: Path) -> None:
    write(isolated / "broken_mod.py", "\n\nraise RuntimeError('nope')\n")
    with pytest.raises(UsageError) as err:
        load_workflow("broken_mod:wf")
    assert "raised RuntimeError: nope (at broken_mod.py:3)" in one_line(err)


def test_no_workflow_module_given() -> None:
    with pytest.raises(UsageError):
        load_modules([])
