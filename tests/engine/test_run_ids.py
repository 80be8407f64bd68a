"""@workflow(workflow_id=...): run ids from the input, checked when decorated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from wfkit import Context, Engine, step, workflow
from wfkit.errors import DefinitionError, UsageError


@dataclass
class Order:
    order_id: str
    cents: int


@step
def charge(order: Order) -> int:
    return order.cents


@workflow(name="orders", workflow_id="order-{order.order_id}")
def process(ctx: Context, order: Order, note: str = "none") -> int:
    return ctx.step(charge, order)


@workflow(name="per-customer", workflow_id=lambda customer, month: f"{customer}/{month:%Y-%m}")
def monthly(ctx: Context, customer: str, month: date) -> str:
    return customer


def test_a_run_is_named_from_its_input_and_starting_it_again_is_the_same_run(
    engine: Engine,
) -> None:
    first = engine.start(process, Order("A-1", 500))
    assert (first.id, first.created) == ("order-A-1", True)
    assert first.result(timeout=5) == 500
    again = engine.start(process, Order("A-1", 999))  # a redelivered request
    assert (again.id, again.created) == ("order-A-1", False)
    assert again.result(timeout=5) == 500 and len(engine.list_runs()) == 1
    explicit = engine.start(process, Order("A-1", 7), workflow_id="manual")
    assert explicit.id == "manual" and explicit.result(timeout=5) == 7


def test_the_template_sees_decoded_input_and_defaults(engine: Engine) -> None:
    """From JSON (as `wfkit run --input` passes it) the template still reads attributes."""
    handle = engine.start(process, {"order_id": "B-2", "cents": 1})
    assert handle.id == "order-B-2"


def test_a_function_names_the_run_from_the_arguments(engine: Engine) -> None:
    assert engine.start(monthly, "acme", date(2026, 11, 1)).id == "acme/2026-11"


@pytest.mark.parametrize(
    "template, message",
    [
        ("order-{order_id}", "has no parameter 'order_id'"),
        ("order-{0}", "positional field"),
        ("order-{}", "positional field"),
        ("order", "names no parameter"),
        ("order-{order", "is not a valid template"),
        (42, "must be a template string or a function"),
    ],
)
def test_a_bad_template_fails_when_decorated(template: object, message: str) -> None:
    with pytest.raises(DefinitionError) as bad:

        @workflow(workflow_id=template)  # type: ignore[arg-type]
        def wf(ctx: Context, order: Order) -> None:
            pass

    assert message in bad.value.message and bad.value.hint


@workflow(name="missing-attribute", workflow_id="x-{order.number}")
def missing_attribute(ctx: Context, order: Order) -> None:
    pass


@workflow(name="empty-id", workflow_id=lambda order: "")
def empty_id(ctx: Context, order: Order) -> None:
    pass


@pytest.mark.parametrize(
    "wf, message",
    [
        (missing_attribute, "AttributeError"),
        (empty_id, "not a non-empty string"),
    ],
)
def test_an_id_that_cannot_be_made_is_a_clear_error_and_stores_nothing(
    engine: Engine, wf: object, message: str
) -> None:
    with pytest.raises(UsageError) as bad:
        engine.start(wf, Order("C-3", 1))  # type: ignore[arg-type]
    assert message in bad.value.message and "--id" in bad.value.hint
    assert engine.list_runs() == []


@workflow(name="parent")
def parent(ctx: Context) -> int:
    return ctx.child(process, Order("D-4", 3))


def test_a_child_keeps_the_id_derived_from_its_parent(engine: Engine) -> None:
    """Two parents may start the same child input; each must wait on its own child."""
    assert engine.start(parent, workflow_id="p").result(timeout=5) == 3
    assert sorted(r.id for r in engine.list_runs()) == ["p", "p/1"]
