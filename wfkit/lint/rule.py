"""What a rule is: one class with a code, a message, embedded cases and visitor hooks.

Hooks are methods named ``visit_<NodeType>(self, node, ctx)`` / ``leave_<NodeType>`` for libcst
node types, and ``on_hit(self, hit, ctx)`` for a use of a name the knowledge table files under
the rule's code. The engine calls hooks only inside code that may be workflow code (function
bodies that are not steps); whether a function *is* workflow code is decided later, by the call
graph, so hooks report through ``ctx.report`` and never filter by reachability themselves.

Rule modules import libcst as ``from wfkit.lint import lazycst as cst`` (same names, loaded on
first use), so building the catalog does not import the parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from wfkit.lint.hit import Hit

if TYPE_CHECKING:
    from wfkit.lint.services import RuleServices

__all__ = ["Case", "Hit", "Invalid", "LintRule", "case_source"]


@dataclass(frozen=True)
class Invalid:
    """An INVALID case; ``fixed`` is the expected source after applying fixes (None: no fix),
    ``unsafe`` says the fix is applied only with unsafe fixes."""

    source: str
    fixed: str | None = None
    unsafe: bool = False


Case = "str | Invalid"


class LintRule:
    """Base of every rule. Subclasses set the class attributes and define hooks."""

    CODE: ClassVar[str] = ""
    NAME: ClassVar[str] = ""
    MESSAGE: ClassVar[str] = ""
    VALID: ClassVar[list[str]] = []
    INVALID: ClassVar[list[str | Invalid]] = []
    OPT_IN: ClassVar[bool] = False
    FIXABLE: ClassVar[bool] = False

    def on_hit(self, hit: Hit, ctx: RuleServices) -> None:
        """Default for knowledge rules: report unless the entry's condition clears the use."""
        if ctx.condition_holds(hit):
            ctx.report_hit(self, hit)


def case_source(case: str | Invalid) -> str:
    return case.source if isinstance(case, Invalid) else case
