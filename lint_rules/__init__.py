"""wfkit's lint rules: one module per rule code, discovered by :mod:`wfkit.lint.catalog`.

Each module holds one :class:`wfkit.lint.rule.LintRule` subclass with its documentation
(What / Why / Use instead), message, and embedded VALID / INVALID cases that the test suite runs.
Case convention: a case whose first line is ``# near miss`` is the same code where it is fine
(outside a workflow, or shadowed); ``# alias`` reaches the name through an import alias.
"""
