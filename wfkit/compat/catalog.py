"""The WF3xx codes, discovered from :mod:`wfkit.compat.rules` like the linter's rules.

A module with a :class:`~wfkit.compat.rule.CompatRule` subclass is a code: its docstring's
What / Why / Use instead, its message and its example pairs become the rule page, the SARIF
rule descriptor and the test cases. Entries have the fields the linter's formats read
(:class:`wfkit.lint.formats.RuleMeta`), so ``wfkit compat`` renders with them unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from wfkit.compat import rules as rules_package
from wfkit.compat.rule import CompatRule, Pair
from wfkit.errors import UsageError
from wfkit.lint.catalog import classes_in_modules, doc_sections


@dataclass(frozen=True)
class CompatRuleInfo:
    code: str
    name: str
    message: str
    what: str
    why: str
    use_instead: str
    docstring: str
    valid: tuple[Pair, ...]
    invalid: tuple[Pair, ...]
    fixable: bool = False
    opt_in: bool = False


@lru_cache(maxsize=1)
def _all() -> tuple[CompatRuleInfo, ...]:
    found = [_info(cls, doc) for cls, doc in classes_in_modules(rules_package, CompatRule)]
    return tuple(sorted(found, key=lambda info: info.code))


def _info(cls: type[CompatRule], doc: str) -> CompatRuleInfo:
    sections = doc_sections(doc)
    return CompatRuleInfo(
        cls.CODE,
        cls.NAME,
        cls.MESSAGE,
        sections.get("What", ""),
        sections.get("Why", ""),
        sections.get("Use instead", ""),
        doc.strip(),
        tuple(cls.VALID),
        tuple(cls.INVALID),
    )


def compat_rules() -> list[CompatRuleInfo]:
    """Every WF3xx code, sorted."""
    return list(_all())


def get_compat_rule(code: str) -> CompatRuleInfo:
    wanted = code.strip().upper()
    for info in _all():
        if info.code == wanted:
            return info
    raise UsageError(
        f"unknown compat code {code!r}",
        hint="known codes: " + ", ".join(info.code for info in _all()),
    )
