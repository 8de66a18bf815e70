"""The package as a user meets it: `import tinygrad_mlp` stays light, yet every submodule is an attribute
(`tm.nn`, `tm.optim`, `tm.data`, `tm.viz`, ...), imported on first use."""

import subprocess
import sys

import pytest

import tinygrad_mlp

# What `import tinygrad_mlp` must not pull in: the optional plotting library, the network and CLI machinery,
# the progress bar, and the submodules that bring those.
HEAVY = ("matplotlib", "urllib.request", "http.client", "argparse", "tqdm", "threadpoolctl",
         "tinygrad_mlp.nn", "tinygrad_mlp.optim", "tinygrad_mlp.data", "tinygrad_mlp.viz", "tinygrad_mlp.train",
         "tinygrad_mlp.cli", "tinygrad_mlp.checkpoint", "tinygrad_mlp.autograd")


def _python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_pulls_in_nothing_heavy():
    out = _python(f"import sys, tinygrad_mlp; print([m for m in {HEAVY!r} if m in sys.modules])")
    assert out.strip() == "[]", f"import tinygrad_mlp imported {out.strip()}"


def test_submodules_are_attributes_imported_on_first_use():
    out = _python(
        "import sys, tinygrad_mlp as tm\n"
        "assert 'tinygrad_mlp.nn' not in sys.modules\n"
        "tm.nn.MLP([4, 3]); tm.optim.SGD; tm.autograd.grad; tm.data.load_synthetic; tm.checkpoint.save\n"
        "tm.train.fit; tm.backprop.backprop; tm.threeway.three_way_check; tm.viz; tm.nn.functional.quadratic_cost\n"
        "print(sorted(m for m in sys.modules if m.startswith('tinygrad_mlp.nn')))")
    assert "'tinygrad_mlp.nn'" in out


@pytest.mark.parametrize("name", ["nn", "optim", "autograd", "data", "viz", "checkpoint", "train", "backprop",
                                  "threeway", "cli", "tensor_core", "primitives", "errors"])
def test_dir_lists_every_submodule(name):
    assert name in dir(tinygrad_mlp)
    assert getattr(tinygrad_mlp, name).__name__ == f"tinygrad_mlp.{name}"


def test_unknown_and_private_names_are_attribute_errors():
    with pytest.raises(AttributeError, match="module 'tinygrad_mlp' has no attribute 'no_such_thing'"):
        tinygrad_mlp.no_such_thing  # noqa: B018
    with pytest.raises(AttributeError):
        tinygrad_mlp._no_such_private  # noqa: B018
    assert not hasattr(tinygrad_mlp, "__main__")  # a submodule name, but never imported as an attribute


def test_gradcheck_stays_the_function():
    assert callable(tinygrad_mlp.gradcheck) and tinygrad_mlp.gradcheck.__name__ == "gradcheck"


def test_the_version_has_one_home():
    import importlib.metadata

    from tinygrad_mlp import checkpoint, cli, version

    assert tinygrad_mlp.__version__ == version.__version__ == checkpoint.__version__ == cli.__version__
    try:  # the installed metadata (pyproject.toml reads tinygrad_mlp/version.py)
        installed = importlib.metadata.version("tinygrad_mlp")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("tinygrad_mlp is not installed (run from a source tree)")
    assert installed == version.__version__


def test_star_import_leaves_pythons_builtins_alone():
    # tm.max, tm.sum, tm.float ... are PyTorch's names; `from tinygrad_mlp import *` must not replace the builtins
    # (red when __all__ lists them: max([1, 2]) would then call the Tensor function)
    namespace: dict = {}
    exec("from tinygrad_mlp import *", namespace)
    assert not {"max", "min", "sum", "abs", "round", "pow", "any", "all", "float", "int", "bool"} & set(namespace)
    assert {"tensor", "einsum", "sin", "cat"} <= set(namespace)
