"""``wfkit graph``: a workflow's durable-operation skeleton, drawn for docs and code review.

The skeleton itself is part of the static model (:func:`wfkit.static.skeleton.build_graph`);
this package only presents it (:func:`wfkit.graph.render.render`: table, Mermaid, Graphviz),
as :mod:`wfkit.lint.formats` presents findings. It sits beside :mod:`wfkit.lint` as another
reader of the model, so the model carries no output format and the renderer no libcst.
"""
