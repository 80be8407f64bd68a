"""The determinism linter: parse once, resolve names once, run every rule in one pass.

Map of the package (one job per module):

- ``api``         ``lint_paths(paths, LintOptions) -> LintResult``: the whole run; never prints.
- ``config``      ``[tool.wfkit.lint]``: found by walking up, validated on load.
- ``files``       which files, their module names, reading and decoding (WF000 on failure).
- ``pipeline``    one file: marker check, parse, analyze, suppressions -> ``FileSummary``.
- ``analyzer``    the single pass: own tree walk, function/class frames, exempt regions,
                  knowledge hits, rule hook dispatch.
- ``services``    what rules may ask (durable calls, set/dict expressions) and ``report``.
- ``resolver``    import/alias/shadowing resolution without libcst metadata.
- ``knowledge``   the data table: non-deterministic names, their rule, advice and fixes per
                  dialect (wfkit, Temporal, DBOS), and the dialects' decorators.
- ``summary``     per-file results (functions, calls, raw findings): cache and call-graph unit.
- ``callgraph``   combines summaries: which functions are workflow code, through which chain.
- ``positions``   line/column for reported nodes only.
- ``suppressions`` ``# wfkit: ignore[...]`` / ``# noqa: WF...`` and WF900.
- ``fixes``       applying fixes as text edits plus needed imports.
- ``cache``       per-file summaries keyed by content, config, rules and engine.
- ``catalog``     the rules discovered in ``lint_rules/`` with their documentation.
- ``rule``        the ``LintRule`` base class and case types for rule authors.
"""
