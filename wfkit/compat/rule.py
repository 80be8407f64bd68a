"""What a compatibility rule is: a code with its documentation and old/new example pairs.

The checks themselves live in :mod:`wfkit.compat.compare` (they compare two versions of a
workflow, not one tree, so they are not linter visitors); a rule module is the code's
documentation: a docstring with What / Why / Use instead, a message, and ``VALID`` and
``INVALID`` pairs of old and new code that the test suite runs through ``wfkit compat`` in a
real git repository, and that the rule pages in ``docs/rules/`` show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

__all__ = ["CompatRule", "Pair"]


@dataclass(frozen=True)
class Pair:
    """The code of ``flows.py`` at the base (``old``) and in the work tree (``new``)."""

    old: str
    new: str


class CompatRule:
    """Base of every WF3xx code. Subclasses set the class attributes."""

    CODE: ClassVar[str] = ""
    NAME: ClassVar[str] = ""
    MESSAGE: ClassVar[str] = ""
    VALID: ClassVar[list[Pair]] = []
    INVALID: ClassVar[list[Pair]] = []
