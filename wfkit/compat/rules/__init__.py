"""The codes of ``wfkit compat`` (WF3xx): one module per code, discovered by
:mod:`wfkit.compat.catalog`, each a :class:`wfkit.compat.rule.CompatRule` with its docs and
old/new example pairs. A ``VALID`` pair whose old code starts with ``# near miss`` is a change
that looks risky and is safe; an ``INVALID`` pair starting with ``# alias`` reaches the
durable API through an import alias.
"""
