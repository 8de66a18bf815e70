"""The computation graph as text: Graphviz DOT source, and a picture of it when Graphviz is installed."""


from __future__ import annotations

import shutil
import subprocess
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .. import ops
from .._guard import atomic_write
from ..engine import enable_grad
from ..errors import ArgumentError, GraphError
from ..tensor_core import Tensor, graph_tensors

__all__ = ["to_dot", "render_dot", "GraphvizMissing", "expanded"]


class GraphvizMissing(UserWarning):
    """:func:`render_dot` wrote DOT text instead of a picture, since Graphviz's ``dot`` is not installed."""

# ---------------------------------------------------------------------- the graph as text


def format_value(a, precision: int = 4) -> str:
    """A number, or a small array on one line."""
    a = np.asarray(a)
    if a.size == 1:
        return f"{float(a.reshape(())):.{precision}g}"
    suffix = ""
    if a.ndim == 2 and a.shape[1] == 1:  # a column vector, as the notes write activations
        a, suffix = a[:, 0], "^T"
    text = np.array2string(a, precision=precision, separator=", ", max_line_width=10_000, suppress_small=True)
    return " ".join(line.strip() for line in text.splitlines()) + suffix


def d_of(name: str) -> str:
    """``d`` in front of a name, with parentheses when the name is an expression: dz1, d(w1*a0)."""
    return f"d{name}" if name.replace("_", "").isalnum() else f"d({name})"


def display_names(tensors: Sequence[Tensor]) -> dict[int, str]:
    """A display name for every tensor: its ``.name``; else a one-element constant's value, const<k>, or t<k>."""
    names, k, c = {}, 0, 0
    for t in tensors:
        if t.name:
            names[id(t)] = str(t.name)
        elif t.node is None and not t.requires_grad:  # a constant: an input, a target, a number
            if t.numel() == 1:
                names[id(t)] = format_value(t.data)
            else:
                names[id(t)] = f"const{c}"
                c += 1
        else:
            names[id(t)] = f"t{k}"
            k += 1
    return names


def check_graph(root: Tensor, what: str) -> None:
    if not isinstance(root, Tensor):
        raise ArgumentError(f"{what}: expected a Tensor, got {type(root).__name__}")
    if root.node is not None and root.node.inputs is None:
        raise GraphError(f"{what}: the graph behind this tensor was released by backward(); draw it before calling "
                         "backward(), or call backward(retain_graph=True)")


def _dot_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _op_label(rule) -> str:
    extras = []
    for attr in ("axis", "axes", "shape"):
        if attr in getattr(type(rule), "__slots__", ()) and hasattr(rule, attr):
            value = getattr(rule, attr)
            if value is not None:
                extras.append(f"{attr}={value}")
    return rule.name + (f"\n{', '.join(extras)}" if extras else "")


def expanded(root: Tensor) -> Tensor:
    """The graph behind ``root`` recorded again with every fused rule (``Linear``, ``Sigmoid``, ``SquaredError``,
    ``WeightedLogSum`` ...) replaced by its decomposition into basis ops (:data:`tinygrad_mlp.ops.DECOMPOSITIONS`).

    The leaves are the same Tensors (so a ``backward()`` of the result fills the same parameters' ``.grad``); every
    other tensor is new, with the name of the one it replaces. Its value equals ``root``'s (to rounding), and so
    does every gradient (tests/test_decompositions.py). The masks and shifts a decomposition needs are constants
    of these values: the result is for looking at, not for ``tm.compile``.
    """
    check_graph(root, "expanded")
    made: dict[int, Tensor] = {}
    with enable_grad():
        for t in graph_tensors(root):
            node = t.node
            if node is None or node.inputs is None:
                made[id(t)] = t
                continue
            inputs = [made[id(x)] for x in node.inputs]
            new = ops.decompose(node.rule, *inputs)
            if not isinstance(new, Tensor):
                new = Tensor.apply(node.rule, *inputs)
            new.name = t.name
            made[id(t)] = new
    return made[id(root)]


def to_dot(root: Tensor, *, rankdir: str = "LR", title: str | None = None, precision: int = 4) -> str:
    """Graphviz DOT source for the computation graph that produced ``root``.

    One box per tensor (its ``.name`` if set, its shape, its value when it has one
    element and, when it has one, the norm of its ``.grad``, or the gradient
    itself for one element) and one ellipse per op, labelled with the primitive's
    name. Parameters (leaves that require grad) are filled blue, constants grey,
    the root orange. Built from :func:`graph_tensors`, so any depth works.

    ``backward()`` releases the graph unless called with ``retain_graph=True``:
    draw before backward, or use ``retain_graph=True`` to see the leaves' gradients.
    """
    check_graph(root, "to_dot")
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ArgumentError(f"to_dot: rankdir must be 'LR', 'RL', 'TB' or 'BT', got {rankdir!r}")
    tensors = graph_tensors(root)
    names = display_names(tensors)
    index = {id(t): i for i, t in enumerate(tensors)}
    lines = [f'digraph "{_dot_escape(title or "graph")}" {{', f"  rankdir={rankdir};",
             '  graph [fontname="Helvetica"];', '  node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=8];']
    if title:
        lines.append(f'  label="{_dot_escape(title)}"; labelloc=t; fontsize=12;')
    for t in tensors:
        i = index[id(t)]
        parts = [names[id(t)]] if (t.name or t.node is not None or t.requires_grad or t.numel() != 1) else []
        if t.numel() == 1:
            parts.append(f"= {format_value(t.data, precision)}" if parts else format_value(t.data, precision))
        else:
            parts.append(f"shape {tuple(t.shape)}")
        if t.grad is not None:
            g = np.asarray(t.grad.data)
            parts.append(f"grad {format_value(g, precision)}" if g.size == 1
                         else f"|grad| {float(np.linalg.norm(g.astype(np.float64))):.{precision}g}")
        if t is root:
            style = 'style=filled, fillcolor="#fdd49e"'
        elif t.node is not None:
            style = 'style=filled, fillcolor="white"'
        elif t.requires_grad:
            style = 'style=filled, fillcolor="#c6dbef"'
        else:
            style = 'style="filled,dashed", fillcolor="#eeeeee"'
        lines.append(f'  t{i} [shape=box, label="{_dot_escape(chr(10).join(parts))}", {style}];')
    for t in tensors:
        node = t.node
        if node is None or node.inputs is None:
            continue
        i = index[id(t)]
        lines.append(f'  op{i} [shape=ellipse, label="{_dot_escape(_op_label(node.rule))}"];')
        many = len(node.inputs) > 1
        for k, p in enumerate(node.inputs):
            attrs = f' [label="{k}"]' if many else ""
            lines.append(f"  t{index[id(p)]} -> op{i}{attrs};")
        lines.append(f"  op{i} -> t{i};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_dot(dot_text: str, out_path, *, quiet: bool = False) -> Path:
    """Render DOT text to ``out_path`` (format from its suffix: .png, .svg, .pdf ...) with Graphviz's ``dot``.

    Graphviz is optional. When ``dot`` is not installed (or ``out_path`` ends in
    ``.dot``) the DOT text is written to ``out_path`` with a ``.dot`` suffix and,
    unless ``quiet``, a warning (:class:`GraphvizMissing`, a ``UserWarning``) says how to render it. Returns the path
    written. Nothing is printed: the command line shows the warning's text.
    """
    if not isinstance(dot_text, str):
        raise ArgumentError(f"render_dot: dot_text must be the DOT source (a str), got {type(dot_text).__name__}")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    dot_path = out_path.with_suffix(".dot")
    dot = shutil.which("dot")
    if out_path.suffix.lower() in ("", ".dot", ".gv") or dot is None:
        atomic_write(dot_path, lambda f: f.write(dot_text.encode("utf-8")), "the graph")
        if not quiet and out_path.suffix.lower() not in ("", ".dot", ".gv"):
            fmt = out_path.suffix.lstrip(".") or "png"
            warnings.warn(GraphvizMissing(
                f"Graphviz 'dot' was not found, so wrote the graph as {dot_path}; render it with "
                f"`dot -T{fmt} {dot_path} -o {out_path}` (install Graphviz, e.g. apt-get install graphviz) "
                "or paste the file into an online Graphviz viewer."), stacklevel=2)
        return dot_path
    fmt = out_path.suffix.lstrip(".").lower()
    result = subprocess.run([dot, f"-T{fmt}"], input=dot_text.encode("utf-8"), capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"render_dot: dot failed ({result.returncode}): "
                           f"{result.stderr.decode('utf-8', 'replace').strip()}")
    # written atomically: a full disk leaves the previous picture, never a truncated one
    return atomic_write(out_path, lambda f: f.write(result.stdout), "the graph")


