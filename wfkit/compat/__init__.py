"""Upgrade safety: does a run recorded under the old code of a workflow replay on the new code?

Both versions are read, never imported or run, through the static model's durable-operation
graph of each workflow. ``paths`` lists what a run under the old code can have recorded (one
path through the old graph, with the branch outcomes that chose it); ``divergence`` replays
each such path on the new graph, taking the same outcomes, and reports the first operation a
recorded run would not meet again.
"""
