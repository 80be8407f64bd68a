"""``wfkit graph``: drawing a workflow's durable-operation skeleton (see :mod:`wfkit.static`)."""
