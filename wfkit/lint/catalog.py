"""The rule catalog: every rule discovered in ``lint_rules/``, with its documentation.

Rules are content, not registrations: dropping a module with a :class:`LintRule` subclass into
``lint_rules/`` makes it part of the linter, the docs and the test suite. Discovery imports the
package once per process (cached; the result is immutable).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from functools import lru_cache

from wfkit.errors import UsageError
from wfkit.lint.rule import Invalid, LintRule, case_source

RULES_PACKAGE = "lint_rules"
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


@lru_cache(maxsize=1)
def rule_classes() -> tuple[tuple[type[LintRule], str], ...]:
    """(rule class, module docstring) for every rule module, sorted by code."""
    package = importlib.import_module(RULES_PACKAGE)
    found = []
    for module_info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{RULES_PACKAGE}.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, LintRule) and value is not LintRule \
                    and value.__module__ == module.__name__ and value.CODE:
                found.append((value, module.__doc__ or ""))
    return tuple(sorted(found, key=lambda pair: pair[0].CODE))


def _sections(doc: str) -> dict[str, str]:
    parts = _SECTION.split(doc)
    out = {}
    for index in range(1, len(parts) - 1, 2):
        out[parts[index]] = " ".join(parts[index + 1].split())
    return out


def _info(cls: type[LintRule], doc: str) -> RuleInfo:
    sections = _sections(doc)
    invalid = tuple(c if isinstance(c, Invalid) else Invalid(c) for c in cls.INVALID)
    fixable = cls.FIXABLE or any(c.fixed is not None and not c.unsafe for c in invalid)
    return RuleInfo(cls.CODE, cls.NAME, cls.MESSAGE, sections.get("What", ""),
                    sections.get("Why", ""), sections.get("Use instead", ""), doc.strip(),
                    [case_source(c) for c in cls.VALID], [c.source for c in invalid],
                    fixable, cls.OPT_IN, cls, invalid)


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
    raise UsageError(f"unknown rule code {code!r}",
                     hint="known codes: " + ", ".join(i.code for i in _all()))
