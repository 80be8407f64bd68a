"""Upgrade safety: does a run recorded under the old code of a workflow replay on the new code?

Both versions are read, never imported or run, through the static model's durable-operation
graph of each workflow. ``git_source`` reads the change (the old text from git's objects);
``sides`` and ``reading`` index each side's workflows by registered name (old helpers read
from git too; large changes in a process pool), with ``handlers`` (Temporal signal and
update handlers, read like bodies) and ``side_cache`` (each file's reading kept between runs,
keyed by its git blob id, in the linter's cache); ``paths`` lists what a run under the old code
can have recorded (one path through the old graph, with the branch outcomes that chose it);
``divergence`` replays each such path on the new graph, taking the same outcomes, and reports
the first operation a recorded run would not meet again; ``compare`` turns that into the
WF3xx findings, and ``check`` is the whole run (``wfkit compat``). The codes are documented in
``rules/`` (one module each, discovered by ``catalog``; pages by ``docs``).
"""
