"""The backward pass in words: each primitive's own backward, called one node at a time and narrated,
and the notes' one-neuron chain (or a tiny network) to narrate."""


from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..engine import enable_grad, graph_tensors, walk
from ..errors import GraphError, ShapeError
from ..nn import parse_sizes
from ..tensor_core import Tensor
from .graph import check_graph, d_of, display_names, expanded, format_value

__all__ = ["explain_backward", "one_neuron_chain", "explain", "EXPLAIN_MAX_WIDTH"]

# ---------------------------------------------------------------------- the backward pass in words

def _local_jacobian(rule, inputs, i: int) -> np.ndarray:
    """d out / d inputs[i] for out = rule(*inputs), as a (out.size, input.size) matrix.

    Row k is what the engine's walk passes to that input from the one-hot seed e_k, on a
    fresh copy of the op (so the walk in progress on the real graph is not disturbed).
    """
    xs = [Tensor(x.data, requires_grad=j == i) for j, x in enumerate(inputs)]
    with enable_grad():
        out = Tensor.apply(rule, *xs)
    rows = []
    for k in range(out.numel()):
        seed = np.zeros(out.data.shape, dtype=out.data.dtype)
        seed.reshape(-1)[k] = 1
        gx = next(walk([out], [seed], keep_graph=True))[4][i]
        rows.append(np.zeros(xs[i].numel()) if gx is None else np.asarray(gx, dtype=np.float64).reshape(-1))
    return np.array(rows)


def _describe_jacobian(jac: np.ndarray, out_shape, parent_shape, precision: int) -> str:
    if jac.size == 1:
        return format_value(jac, precision)
    if tuple(out_shape) == tuple(parent_shape) and np.allclose(jac, np.diag(np.diag(jac))):
        return f"diag({format_value(np.diag(jac), precision)})  (elementwise)"
    return (f"{jac.shape[0]}x{jac.shape[1]} Jacobian {format_value(jac, precision)}  (a row per output element, "
            "a column per input element)")


def explain_backward(root: Tensor, *, precision: int = 4, max_jacobian: int = 64) -> tuple[str, dict[int, np.ndarray]]:
    """Run the backward pass of ``root`` by hand, one primitive at a time, and describe each step.

    This is the engine's own walk (:func:`tinygrad_mlp.engine.walk`), narrated: it
    visits the nodes from the last one made back to the first (every node is
    reached after all the nodes that used it). At each node the text shows the
    rule's derivative in words, the gradient arriving (dC/d node), each input's
    local derivative (the Jacobian d node / d input, got from the rule's backward
    with one-hot seeds when it is at most ``max_jacobian`` numbers), and the
    product passed on to that input, summed back over broadcast axes.

    ``root`` must have one element and a live graph (call this before
    ``backward()``). The tensors are not modified and no ``.grad`` is set.
    Returns ``(text, grads)`` with ``grads`` mapping ``id(tensor)`` to dC/d tensor
    for every tensor of the graph that needs a gradient.
    """
    check_graph(root, "explain_backward")
    if root.numel() != 1:
        raise ShapeError(f"explain_backward: the root must be a one-element cost, got shape {root.shape}")
    if not root.requires_grad:
        raise GraphError("explain_backward: the root does not require grad, so it has no graph to walk")
    tensors = graph_tensors(root)
    names = display_names(tensors)
    rname = names[id(root)]
    grads: dict[int, np.ndarray] = {id(root): np.ones(root.data.shape, dtype=root.data.dtype)}
    sources: dict[int, int] = {id(root): 1}
    lines = [(f"Backward pass: start at {rname} with {d_of(rname)}/{d_of(rname)} = 1, then visit every op from the "
              "last one made back to the first,"),
             "multiplying the gradient that arrives by each input's local derivative (the chain rule):",
             ""]
    steps = walk([root], [grads[id(root)]], keep_graph=True)
    for number, (t, rule, inputs, g, input_grads, _) in enumerate(steps, start=1):
        pnames = ", ".join(names[id(x)] for x in inputs)
        lines.append(f"step {number}: {names[id(t)]} = {rule.name}({pnames}) = {format_value(t.data, precision)}")
        if rule.derivative:
            lines.append(f"    rule      {rule.derivative}")
        summed = f"  (sum of {sources[id(t)]} contributions)" if sources.get(id(t), 1) > 1 else ""
        lines.append(f"    incoming  {d_of(rname)}/{d_of(names[id(t)])} = {format_value(g, precision)}{summed}")
        for i, (x, gx) in enumerate(zip(inputs, input_grads, strict=True)):
            if gx is None:
                continue
            xname = names[id(x)]
            if t.numel() * x.numel() <= max_jacobian:
                jac = _local_jacobian(rule, inputs, i)
                local = _describe_jacobian(jac, t.shape, x.shape, precision)
                lines.append(f"    local     {d_of(names[id(t)])}/{d_of(xname)} = {local}")
            if g.size == 1 and gx.size == 1 and t.numel() * x.numel() <= max_jacobian:
                product = (f"{format_value(g, precision)} x {format_value(jac, precision)} = "
                           f"{format_value(gx, precision)}")
            else:
                product = format_value(gx, precision)
            lines.append(f"    passes    {d_of(rname)}/{d_of(xname)} {'+' if id(x) in grads else ''}= {product}")
            if id(x) in grads:
                grads[id(x)] = grads[id(x)] + gx
                sources[id(x)] += 1
            else:
                grads[id(x)] = gx
                sources[id(x)] = 1
        lines.append("")
    leaves = [t for t in tensors if t.node is None and t.requires_grad]
    if leaves:
        lines.append("Gradients that reached the parameters (leaves):")
        width = max(len(names[id(t)]) for t in leaves)
        for t in leaves:
            value = grads.get(id(t))
            lines.append(f"    {d_of(rname)}/{d_of(names[id(t)]):<{width + 1}} = "
                         f"{format_value(value, precision) if value is not None else '0 (not reached)'}")
    return "\n".join(lines), grads


# ---------------------------------------------------------------------- the notes' examples, explained


def _rounded(rng: np.random.Generator, shape, scale: float = 1.0) -> np.ndarray:
    return np.round(rng.standard_normal(shape) * scale, 2)


EXPLAIN_MAX_WIDTH = 8


def one_neuron_chain(sizes: Sequence[int] | str = (1, 1, 1, 1), *, seed: int = 0, x=None,
                     y=None) -> tuple[Tensor, dict]:
    """Build the notes' cost C0 = sum((a(L) - y)^2) with a(l) = sigmoid(W(l) a(l-1) + b(l)), in float64.

    With every width 1 (the default: input and three layers of one neuron) it is
    the notes' chain of scalars, ``z_l = w_l a_(l-1) + b_l``; otherwise a tiny
    network with column vectors, ``z(l) = W(l) @ a(l-1) + b(l)`` (e.g. sizes 2-2-1).
    Weights and biases are random (rounded to 2 decimals, from ``seed``); ``x``
    defaults to random pixel-like values, ``y`` to 1 for the first output, 0 elsewhere.

    Returns ``(C0, parts)``: ``parts`` maps the notes' names (a0, y, w1, b1, z1, a1 ...)
    to the Tensors, every one of them named for :func:`to_dot` and :func:`explain_backward`.
    """
    sizes = parse_sizes(sizes, "one_neuron_chain: sizes", "1-1-1-1 or 2-2-1")
    rng = np.random.default_rng(seed)
    scalar = all(n == 1 for n in sizes)
    L = len(sizes) - 1
    x = np.round(rng.uniform(0.1, 0.9, sizes[0]), 2) if x is None else np.asarray(x, dtype=np.float64)
    yv = np.eye(sizes[-1])[0] if y is None else np.asarray(y, dtype=np.float64)
    parts: dict[str, Tensor] = {}
    if scalar:  # one-element vectors rather than 0-d arrays: every op keeps a real ndarray
        a = Tensor(np.reshape(x, -1)[:1].astype(np.float64), name="a0")
        target = Tensor(np.reshape(yv, -1)[:1].astype(np.float64), name="y")
    else:
        a = Tensor(np.reshape(x, (sizes[0], 1)).astype(np.float64), name="a0")
        target = Tensor(np.reshape(yv, (sizes[-1], 1)).astype(np.float64), name="y")
    parts["a0"], parts["y"] = a, target
    for l in range(1, L + 1):
        n_in, n_out = sizes[l - 1], sizes[l]
        if scalar:
            w = Tensor(_rounded(rng, 1), requires_grad=True, name=f"w{l}")
            b = Tensor(_rounded(rng, 1, 0.5), requires_grad=True, name=f"b{l}")
            wa = w * a
            wa.name = f"w{l}*a{l - 1}"
        else:
            w = Tensor(_rounded(rng, (n_out, n_in)), requires_grad=True, name=f"W{l}")
            b = Tensor(_rounded(rng, (n_out, 1), 0.5), requires_grad=True, name=f"b{l}")
            wa = w @ a
            wa.name = f"W{l}@a{l - 1}"
        z = wa + b
        z.name = f"z{l}"
        a = z.sigmoid()
        a.name = f"a{l}"
        parts.update({name: t for t in (w, b, wa, z, a) if (name := t.name)})  # each named just above
    diff = a - target
    diff.name = f"a{L}-y"
    sq = diff**2
    if scalar:
        cost = sq
    else:
        sq.name = f"(a{L}-y)^2"
        cost = sq.sum()
        parts[sq.name] = sq
    cost.name = "C0"
    parts[diff.name], parts["C0"] = diff, cost
    return cost, parts


def _closed_form(parts: dict, L: int, scalar: bool) -> list[tuple[str, str, np.ndarray]]:
    """The notes' closed form, written out by hand (the only hand derivatives here): for the comparison."""
    a = {l: parts[f"a{l}"].data for l in range(L + 1)}
    y = parts["y"].data
    W = {l: parts[f"w{l}" if scalar else f"W{l}"].data for l in range(1, L + 1)}
    rows = []
    # delta(L) = sigmoid'(z(L)) 2(a(L) - y), sigmoid'(z) = a (1 - a); delta(l) = sigmoid'(z(l)) W(l+1)^T delta(l+1)
    delta = a[L] * (1 - a[L]) * 2 * (a[L] - y)
    chain = "sigmoid'(z{L}) 2(a{L} - y)"
    for l in range(L, 0, -1):
        wname, bname = (f"w{l}", f"b{l}") if scalar else (f"W{l}", f"b{l}")
        if scalar:
            rows.append((wname, f"a{l - 1} {chain.format(L=L)}", a[l - 1] * delta))
        else:
            rows.append((wname, f"delta{l} a{l - 1}^T", delta @ a[l - 1].T))
        rows.append((bname, chain.format(L=L) if scalar else f"delta{l}", delta))
        if l > 1:
            delta = a[l - 1] * (1 - a[l - 1]) * (W[l] * delta if scalar else W[l].T @ delta)
            chain = f"sigmoid'(z{l - 1}) w{l} " + chain
    return rows


def explain(sizes: Sequence[int] | str = (1, 1, 1, 1), *, seed: int = 0, x=None, y=None,
            precision: int = 4, expand: bool = False) -> str:
    """The text of ``tinygrad-mlp explain``: the notes' chain (or a tiny network) forward, backward, and checked.

    ``sizes`` is a list of widths or a string like ``"1-1-1-1"`` (the default:
    one neuron per layer, three layers, C0 = (a3 - y)^2) or ``"2-2-1"``. Prints
    the forward values, the backward pass node by node (:func:`explain_backward`),
    then the parameters' gradients three ways: from that walk, from the engine's
    ``backward()``, and from the notes' closed form dC0/dw(L) = a(L-1) sigmoid'(z(L)) 2(a(L) - y).
    With ``expand``, the walk is the one of the graph with each fused rule (``Sigmoid``) replaced by its basis
    ops (:func:`~tinygrad_mlp.viz.graph.expanded`: ``Neg``, ``Exp``, ``Add``, ``Div``).
    """
    sizes = parse_sizes(sizes, "explain: sizes", "1-1-1-1 or 2-2-1")
    if max(sizes) > EXPLAIN_MAX_WIDTH:
        raise ShapeError(f"explain: layer widths up to {EXPLAIN_MAX_WIDTH} keep the printout readable, got "
                         f"{'-'.join(map(str, sizes))}; try 1-1-1-1 or 2-2-1")
    cost, parts = one_neuron_chain(sizes, seed=seed, x=x, y=y)
    if expand:
        cost = expanded(cost)
    L, scalar = len(sizes) - 1, all(n == 1 for n in sizes)
    p = precision
    out = []
    if scalar:
        out.append(f"The notes' chain: one neuron per layer, {L} layers, one training example.")
        out.append("  z_l = w_l a_(l-1) + b_l,   a_l = sigmoid(z_l),   C0 = (a_L - y)^2")
    else:
        out.append(f"A tiny network {'-'.join(map(str, sizes))}, one training example (column vectors).")
        out.append("  z(l) = W(l) @ a(l-1) + b(l),   a(l) = sigmoid(z(l)),   C0 = sum((a(L) - y)^2)")
    out.append("")
    out.append("Forward pass:")
    out.append(f"  a0 = {format_value(parts['a0'].data, p)} (input),  y = {format_value(parts['y'].data, p)} (target)")
    for l in range(1, L + 1):
        wn = f"w{l}" if scalar else f"W{l}"
        out.append(f"  {wn} = {format_value(parts[wn].data, p)},  b{l} = {format_value(parts[f'b{l}'].data, p)}  ->  "
                   f"z{l} = {format_value(parts[f'z{l}'].data, p)},  "
                   f"a{l} = sigmoid(z{l}) = {format_value(parts[f'a{l}'].data, p)}")
    out.append(f"  C0 = {format_value(cost.data, p)}")
    out.append("")
    text, grads = explain_backward(cost, precision=p)
    out.append(text)
    out.append("")
    cost.backward()  # the engine's own walk, for the comparison (this releases the graph)
    out.append("The same gradients three ways: the walk above, the engine's backward(), and the closed form")
    out.append("(notes: dC0/dw_L = a_(L-1) sigmoid'(z_L) 2(a_L - y), dC0/db_L = sigmoid'(z_L) 2(a_L - y);")
    if scalar:
        out.append(" each earlier layer adds one factor w sigmoid'(z) to the chain):")
    else:
        out.append(" with vectors: delta(L) = sigmoid'(z(L)) * 2(a(L) - y), "
                   "delta(l) = sigmoid'(z(l)) * W(l+1)^T delta(l+1),")
        out.append(" dC0/dW(l) = delta(l) a(l-1)^T, dC0/db(l) = delta(l); sigmoid'(z) = a (1 - a)):")
    for name, formula, value in _closed_form(parts, L, scalar):
        t = parts[name]
        engine = t.grad.data if t.grad is not None else np.zeros_like(t.data)
        walked = grads[id(t)]
        agree = np.allclose(walked, engine, rtol=1e-9, atol=1e-12) and np.allclose(value, engine, rtol=1e-9,
                                                                                   atol=1e-12)
        out.append(f"  dC0/d{name}: walk {format_value(walked, p)} | backward() {format_value(engine, p)} | "
                   f"{formula} = {format_value(value, p)}  {'(agree)' if agree else '(DISAGREE)'}")
    return "\n".join(out) + "\n"
