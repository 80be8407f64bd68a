"""A workflow with a large input and a large step result, to count how often each is stored."""

from __future__ import annotations

import random
import string

from wfkit import Context, step, workflow


def payload(size: int, seed: int) -> str:
    """Text that does not compress (PostgreSQL compresses what it keeps out of line)."""
    rng = random.Random(seed)
    return "".join(rng.choices(string.ascii_letters + string.digits, k=size))


@step
def echo_tail(blob: str, size: int) -> str:
    return payload(size, seed=len(blob))  # a large result of its own, unlike the input


@workflow(name="payload-once")
def carry(ctx: Context, blob: str, size: int) -> int:
    return len(ctx.step(echo_tail, blob, size))
