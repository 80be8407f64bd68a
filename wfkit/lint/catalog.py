"""The rule catalog: every rule discovered in ``lint_rules/``, with its documentation.

Rules are content, not registrations: dropping a module with a :class:`LintRule` subclass into
``lint_rules/`` makes it part of the linter, the docs and the test suite. Discovery imports the
package once per process (cached; the result is immutable).

The folder sits at the top of the repository, but it is installed as ``wfkit.lint_rules``
(``package-dir`` in pyproject.toml), never as a top-level ``lint_rules`` that could collide with
another project's. :func:`rules_package` finds it both ways: installed, and in a source checkout
used without installing (``PYTHONPATH=.``) or installed in editable mode, where the rules are
always the ones beside the ``wfkit`` package in use.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import TypeVar

import wfkit
from wfkit.errors import UsageError
from wfkit.lint.rule import Invalid, LintRule, case_source

RULES_PACKAGE = "wfkit.lint_rules"
RULES_FOLDER = "lint_rules"  # in a source checkout: beside the wfkit package
T = TypeVar("T")
_SECTION = re.compile(r"^(What|Why|Use instead):\s*", re.M)


@dataclass(frozen=True)
class RuleInfo:
    code: str
    name: str
    message: str
    what: str
    why: str
    use_instead: str
    docstring: str
    valid: list[str]
    invalid: list[str]
    fixable: bool
    opt_in: bool
    rule_class: type[LintRule] | None = None
    invalid_cases: tuple[Invalid, ...] = ()


def rules_package() -> ModuleType:
    """The rules package, imported as ``wfkit.lint_rules``.

    Installed, it is a subpackage of wfkit. In a source checkout (the ``wfkit`` package has no
    ``lint_rules`` inside, and the checkout's ``lint_rules/`` folder sits beside it) the folder
    is loaded under that name, so the rules come from the same checkout as the linter even
    when another checkout is installed in editable mode."""
    loaded = sys.modules.get(RULES_PACKAGE)
    if loaded is not None:
        return loaded
    here = os.path.dirname(os.path.abspath(wfkit.__file__))
    checkout = os.path.join(os.path.dirname(here), RULES_FOLDER)
    init = os.path.join(checkout, "__init__.py")
    if os.path.isdir(os.path.join(here, "lint_rules")) or not os.path.isfile(init):
        return importlib.import_module(RULES_PACKAGE)
    spec = importlib.util.spec_from_file_location(
        RULES_PACKAGE, init, submodule_search_locations=[checkout]
    )
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules[RULES_PACKAGE] = package
    try:
        spec.loader.exec_module(package)
    except BaseException:
        del sys.modules[RULES_PACKAGE]
        raise
    wfkit.lint_rules = package  # as the import system would
    return package


@lru_cache(maxsize=1)
def rule_classes() -> tuple[tuple[type[LintRule], str], ...]:
    """(rule class, module docstring) for every rule module, sorted by code."""
    found = [(cls, doc) for cls, doc in classes_in_modules(rules_package(), LintRule) if cls.CODE]
    return tuple(sorted(found, key=lambda pair: pair[0].CODE))


def classes_in_modules(package: ModuleType, base: type[T]) -> list[tuple[type[T], str]]:
    """(class, its module's docstring) for each subclass of ``base`` defined in a module of
    ``package`` (modules named ``_...`` aside), by module name: how a rule catalog (the
    linter's, ``wfkit compat``'s) finds its rules, one module each."""
    found: list[tuple[type[T], str]] = []
    for module_info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, base)
                and value is not base
                and value.__module__ == module.__name__
            ):
                found.append((value, module.__doc__ or ""))
    return found


def doc_sections(doc: str) -> dict[str, str]:
    """A rule docstring's ``What:``, ``Why:`` and ``Use instead:`` paragraphs, each on one
    line."""
    parts = _SECTION.split(doc)
    return {parts[i]: " ".join(parts[i + 1].split()) for i in range(1, len(parts) - 1, 2)}


def _info(cls: type[LintRule], doc: str) -> RuleInfo:
    sections = doc_sections(doc)
    invalid = tuple(c if isinstance(c, Invalid) else Invalid(c) for c in cls.INVALID)
    fixable = cls.FIXABLE or any(c.fixed is not None and not c.unsafe for c in invalid)
    return RuleInfo(
        cls.CODE,
        cls.NAME,
        cls.MESSAGE,
        sections.get("What", ""),
        sections.get("Why", ""),
        sections.get("Use instead", ""),
        doc.strip(),
        [case_source(c) for c in cls.VALID],
        [c.source for c in invalid],
        fixable,
        cls.OPT_IN,
        cls,
        invalid,
    )


@lru_cache(maxsize=1)
def _all() -> tuple[RuleInfo, ...]:
    return tuple(_info(cls, doc) for cls, doc in rule_classes())


def all_rules() -> list[RuleInfo]:
    """Every rule, sorted by code."""
    return list(_all())


def known_codes() -> dict[str, bool]:
    """code -> opt_in, for selection."""
    return {info.code: info.opt_in for info in _all()}


def get_rule(code: str) -> RuleInfo:
    """The rule with ``code`` (case-insensitive); UsageError naming the fix if there is none."""
    wanted = code.strip().upper()
    for info in _all():
        if info.code == wanted:
            return info
    raise UsageError(
        f"unknown rule code {code!r}", hint="known codes: " + ", ".join(i.code for i in _all())
    )
