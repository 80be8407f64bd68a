"""The static model of workflow code: what source says, read without running or importing it.

Files -> parse -> this model -> (lint rules | ``wfkit graph`` | compatibility checks) -> report.
The linter (:mod:`wfkit.lint`), the graph renderer (:mod:`wfkit.graph`) and any later reader
(``wfkit compat``) build on this package; it imports none of them, nor the engine (only
:mod:`wfkit.errors`, for the one usage error a parse can raise), and it never prints.

The documented API (everything else in the package is an implementation detail):

Parsing
    ``parse_guard.check_source(text, ParseLimits())`` -> ``Rejection | None``: whether libcst's
    native parser may be trusted with the text (size and nesting bounds); run it first.
    ``skeleton.parse_source(text, path, limits)`` -> ``libcst.Module``: guard plus parse, a
    ``UsageError`` naming ``path:line:column`` on bad input.

Names
    ``resolver.BindingCollector(module, is_package, prefix).statements(body)`` -> ``Bindings``
    of a module or function body (imports, aliases, assignments, shadowing);
    ``resolver.Resolver(bindings).resolve(expr)`` -> the qualified name an expression means
    (``wf.now`` -> ``temporalio.workflow.now``), ``push``/``pop`` for nested scopes;
    ``resolver.dotted(expr)`` -> the name as written.

Dialects (:mod:`~wfkit.static.knowledge`, data only)
    ``WFKIT``, ``TEMPORAL``, ``DBOS``; which decorators make a workflow
    (``WORKFLOW_DECORATORS``, ``TEMPORAL_CLASS_DECORATOR``, ``TEMPORAL_HANDLER_DECORATORS``) or a
    step (``STEP_DECORATORS``); the durable operations of each dialect (``WFKIT_CTX_DURABLE``,
    ``TEMPORAL_DURABLE``, ``DBOS_DURABLE``); and ``Knowledge``, the table of non-deterministic
    names with their rule code and per-dialect replacement.

Workflows and steps
    ``discovery.function_kind(funcdef, resolver.resolve)`` -> ``("workflow", dialect)``,
    ``("step", "")`` or ``("helper", "")``; ``discovery.is_temporal_workflow_class(classdef,
    resolve)``. Per module: ``module_index.index_module(module, name, is_package, extra_wf,
    extra_step)`` -> ``ModuleIndex`` with ``workflows`` (``WorkflowInfo``: registered name,
    dialect, body), ``steps`` (``StepInfo``: kind, registered name, decorator options) and
    ``compensations``; ``skeleton.list_workflows(...)`` -> their names.

Which functions are workflow code
    ``callgraph.CallGraph(per_file_facts).reach()``: from every workflow, the helpers it calls
    across files (through imports and re-exports) with the chain that reaches them and its
    hops (``call_site(hop)``: where each call is); the facts are any records shaped like
    ``callgraph.ModuleFacts``.

The durable-operation skeleton of a workflow
    ``skeleton.build_graph(module, path, workflow, module_name, ...)`` -> ``Graph``: its
    durable operations (``Node`` of a kind in ``OP_KINDS``: step, activity, child, wait,
    sleep, patch, send, parallel, ...) with their names and options, and the control flow
    around them (decisions, loops, try blocks, compensations) as ``Edge`` and ``Group`` lists
    in source order (the graph's classes are defined in ``graph_model`` and importable from
    ``skeleton``). An operation node also carries the name the engine records for it
    (``name``), why that name is only known at run time (``computed``) and where it is
    (``path``, ``line``, ``column``). ``skeleton.build_workflow_graph(index, info)`` draws a
    workflow of an index already built; ``module_index.ModuleSet.around(file, ...,
    reader=...)`` is the package around a file, read through ``reader`` (the disk by
    default; ``wfkit compat`` reads the old side from git).

Where a node is
    ``positions.resolve_positions(module, text, [(node, statement, indent), ...])`` -> code
    ranges, for the few nodes that are reported; ``nodes.semantic_children(node)`` -> the
    children that can hold code, for fast walks.

libcst's private API is used in one module only, :mod:`wfkit.static.libcst_private`, which
names the libcst versions it is known to work with.
"""
