"""Second derivatives at work: Hessian-vector products and Newton's method.

    python examples/higher_order.py

1. The 2-D Rosenbrock function ``f(x, y) = (1 - x)^2 + 100 (y - x^2)^2``: its gradient, its
   Hessian (``autograd.hessian``, reverse over reverse) against the closed form, and a
   Hessian-vector product by both routes (``hvp`` reverse over reverse and forward over reverse).
2. Newton's method from the classic start (-1.2, 1): each step solves ``H d = -g`` with the exact
   2x2 Hessian. It reaches the minimum (1, 1) in a handful of steps, where gradient descent needs
   thousands.
3. Logistic regression on 2,000 synthetic points: Newton-CG, i.e. Newton steps whose linear system
   is solved by conjugate gradients that only ever ask for ``H v`` (``autograd.hvp``), never for
   ``H`` itself; compared with the same number of gradient-descent steps.

Runs in about a second. ``--quick`` and ``--out-dir`` are accepted (the test suite passes them);
this example draws no pictures.
"""

from __future__ import annotations

import argparse

import numpy as np

from tinygrad_mlp import Tensor
from tinygrad_mlp.autograd import grad, hessian, hvp, value_and_grad


def rosenbrock(p: Tensor) -> Tensor:
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def rosenbrock_hessian(x: float, y: float) -> np.ndarray:
    return np.array([[2 - 400 * (y - x * x) + 800 * x * x, -400 * x], [-400 * x, 200.0]])


def part_1() -> None:
    p = np.array([-1.2, 1.0])
    value, g = value_and_grad(rosenbrock)(p)
    H = hessian(rosenbrock)(p).data
    print(f"Rosenbrock at {p}: f = {value.item():.4f}, gradient = {np.round(g.data, 4)}")
    print(f"Hessian by reverse over reverse:\n{np.round(H, 4)}")
    assert np.allclose(H, rosenbrock_hessian(*p), rtol=1e-12)
    print("  equals the closed form [[2 - 400(y - x^2) + 800x^2, -400x], [-400x, 200]]")
    v = np.array([1.0, -2.0])
    hv_rev = hvp(rosenbrock, p, v, mode="reverse").data
    hv_fwd = hvp(rosenbrock, p, v, mode="forward").data
    print(f"H v for v = {v}: reverse over reverse {np.round(hv_rev, 4)}, forward over reverse {np.round(hv_fwd, 4)}, "
          f"H @ v {np.round(H @ v, 4)}")
    assert np.allclose(hv_rev, H @ v) and np.allclose(hv_fwd, H @ v)


def part_2() -> None:
    print("\nNewton's method on Rosenbrock from (-1.2, 1): p <- p - H^-1 g")
    p = np.array([-1.2, 1.0])
    for step in range(1, 21):
        g = grad(rosenbrock)(p).data
        H = hessian(rosenbrock)(p).data
        p = p - np.linalg.solve(H, g)
        f = rosenbrock(Tensor(p)).item()
        print(f"  step {step}: p = ({p[0]: .6f}, {p[1]: .6f}), f = {f:.3e}")
        if f < 1e-20:
            break
    assert np.allclose(p, [1.0, 1.0], atol=1e-8)
    print(f"Newton reached the minimum (1, 1) in {step} steps.")

    q, lr = np.array([-1.2, 1.0]), 1e-3
    for _ in range(step):
        q = q - lr * grad(rosenbrock)(q).data
    print(f"  gradient descent (lr {lr}) after the same {step} steps: p = ({q[0]:.4f}, {q[1]:.4f}), "
          f"f = {rosenbrock(Tensor(q)).item():.3f}")


def conjugate_gradient(matvec, b: np.ndarray, iters: int = 20, tol: float = 1e-10) -> np.ndarray:
    """Solve ``A x = b`` for a symmetric positive definite ``A`` known only through ``matvec``."""
    x = np.zeros_like(b)
    r = b.copy()
    d = r.copy()
    rr = r @ r
    for _ in range(iters):
        ad = matvec(d)
        alpha = rr / (d @ ad)
        x += alpha * d
        r -= alpha * ad
        rr_new = r @ r
        if rr_new < tol**2:
            break
        d = r + (rr_new / rr) * d
        rr = rr_new
    return x


def part_3() -> None:
    rng = np.random.default_rng(0)
    n, dim = 2000, 3
    X = rng.standard_normal((n, dim))
    w_true = np.array([2.0, -1.0, 0.5])
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(X @ w_true + 0.3)))).astype(np.float64)
    Xt, yt = Tensor(X), Tensor(y)

    def loss(w: Tensor) -> Tensor:  # mean logistic loss plus a little L2, w = (weights..., bias)
        p = (Xt @ w[:dim] + w[dim]).sigmoid()
        eps = 1e-12
        nll = -(yt * (p + eps).log() + (1 - yt) * (1 - p + eps).log()).mean()
        return nll + 1e-3 * (w * w).sum()

    print(f"\nLogistic regression, {n} points, {dim} features + bias: Newton-CG (H v only, H never formed)")
    w = np.zeros(dim + 1)
    for step in range(1, 9):
        value, g = value_and_grad(loss)(w)
        d = conjugate_gradient(lambda v: hvp(loss, w, v).data, -g.data)
        w = w + d
        print(f"  step {step}: loss {value.item():.6f}, |gradient| {np.linalg.norm(g.data):.2e}")
        if np.linalg.norm(g.data) < 1e-10:
            break
    final = loss(Tensor(w)).item()
    print(f"Newton-CG: loss {final:.6f}, w = {np.round(w, 3)} (data made with weights {w_true}, bias 0.3)")
    w_gd = np.zeros(dim + 1)
    for _ in range(step):
        w_gd = w_gd - 1.0 * grad(loss)(w_gd).data
    print(f"  gradient descent (lr 1) after the same {step} steps: loss {loss(Tensor(w_gd)).item():.6f}")
    assert final <= loss(Tensor(w_gd)).item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--quick", action="store_true",
                        help="Accepted for the test suite; the default run is already quick.")
    parser.add_argument("--out-dir", default=None,
                        help="Accepted like the other examples' option; this example writes no files.")
    parser.parse_args()
    part_1()
    part_2()
    part_3()


if __name__ == "__main__":
    main()
