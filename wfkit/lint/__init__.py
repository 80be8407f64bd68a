"""The determinism linter: parse once, resolve names once, run every rule in one pass.

It reads code through the static model in :mod:`wfkit.static` (resolver, dialect knowledge,
workflow/step discovery, call graph, positions) and adds what makes it a linter. Map of the
package (one job per module):

- ``api``         ``lint_paths(paths, LintOptions) -> LintResult``: the whole run; never prints.
- ``config``      ``[tool.wfkit.lint]``: found by walking up, validated on load.
- ``files``       which files, their module names, reading and decoding (WF000 on failure).
- ``pipeline``    one file: marker check, parse, analyze, suppressions -> ``FileSummary``.
- ``analyzer``    the single pass: own tree walk, function/class frames, exempt regions,
                  knowledge hits, rule hook dispatch.
- ``services``    what rules may ask (durable calls, set/dict expressions) and ``report``.
- ``settings``    what one file's analysis depends on besides its text.
- ``summary``     per-file results (functions, calls, raw findings): cache and call-graph unit.
- ``reporting``   which raw findings stand, once the call graph says what is workflow code,
                  and where: a hazard in a file not named is reported at the call leading there.
- ``suppressions`` ``# wfkit: ignore[...]`` / ``# noqa: WF...`` and WF900.
- ``fixes``       applying fixes as text edits plus needed imports.
- ``cache``       per-file summaries keyed by content, config, rules and engine.
- ``baseline``    findings recorded once and then ignored.
- ``formats``     output formats (text, JSON, SARIF, GitHub annotations, statistics).
- ``catalog``     the rules discovered in ``lint_rules/`` with their documentation.
- ``rule``        the ``LintRule`` base class and case types for rule authors.
- ``hit``         ``Hit``: a use of a name the knowledge table knows (``on_hit``'s argument).
- ``lazycst``     libcst loaded on first use, for rule modules.
"""
