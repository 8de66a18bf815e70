"""The layout rules of docs/design.md, checked on the source (read with ``ast``, nothing imported).

* Layers: a module imports only from its own layer or the ones below (imports inside
  ``if TYPE_CHECKING:`` are for type checkers and do not count).
* Private stays private: no module imports another module's underscore names or reaches for
  them as ``module._name`` / ``Class._name`` on something it imported, and no module assigns
  another module's globals (``engine.grad_enabled = False``): engine state changes only through
  the functions that own it (``no_grad``, ``listen`` ...).
* The engine (``engine.py``, ``primitives.py``, ``tensor_core.py``) stays small enough to read in one
  sitting: under the 1,232 lines it had before the redesign of issue 12.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tinygrad_mlp"

# docs/design.md's layers, bottom (0) to top. A subpackage counts as one module.
LAYERS = {
    "errors": 0, "version": 0, "_blas": 0, "_interrupt": 0, "_guard": 0, "_schema": 0,
    "primitives": 1, "dtypes": 1,
    "random": 1,  # (imports only errors) the in-place random fills use its generator
    "engine": 2, "ops": 2, "methods": 2, "inplace": 2, "numpy_protocol": 2, "convolution": 2,
    "tensor_core": 3, "grad_mode": 3,
    "nn": 4, "optim": 4, "jit": 4, "inline": 4, "native": 4, "autograd": 4, "function": 4, "anomaly": 4, "gradcheck": 4,
    "threeway": 4, "viz": 4, "creation": 4, "functions": 4, "backprop": 4, "exercises": 4, "learning": 4,
    "train": 5, "checkpoint": 5, "data": 5, "runs": 5, "utils": 5, "serialization": 5,
    "cli": 6,
}
LAYERS["web"] = 6  # the page of `tinygrad-mlp serve`, beside the command line
FRONT_DOORS = {"__init__", "__main__"}  # the package itself may import anything
ENGINE = ("engine.py", "primitives.py", "tensor_core.py")
ENGINE_LINE_BUDGET = 1232


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def top_module(path: Path) -> str:
    """The package-level module a file belongs to: ``nn/functional.py`` -> ``nn``, ``tensor_core.py`` -> ``tensor_core``."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def _type_checking_blocks(tree: ast.Module) -> set[int]:
    """ids of the nodes inside ``if TYPE_CHECKING:`` blocks."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for stmt in node.body:
                inside.update(id(n) for n in ast.walk(stmt))
    return inside


def imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """``(line, top-level module imported, names imported from it)`` for every import of the package's own modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_blocks(tree)
    package_parts = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]  # e.g. ('tinygrad_mlp', 'nn')
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(package_parts[: len(package_parts) - (node.level - 1)])
            target = base + (node.module.split(".") if node.module else [])
            names = [a.name for a in node.names]
            if len(target) == 1:  # `from . import x, y`: each name is a module (or the package's own attribute)
                found += [(node.lineno, name, []) for name in names]
            else:
                found.append((node.lineno, target[1], names))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "tinygrad_mlp" and len(parts) > 1:
                    found.append((node.lineno, parts[1], []))
    return found


def test_every_module_has_a_layer():
    unplaced = {top_module(p) for p in sources()} - set(LAYERS) - FRONT_DOORS
    assert not unplaced, f"put {sorted(unplaced)} in a layer of LAYERS (and of docs/design.md)"


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_from_a_layer_above(path):
    me = top_module(path)
    if me in FRONT_DOORS:
        return
    above = [f"line {line}: {target} (layer {LAYERS[target]})" for line, target, _ in imports(path)
             if target in LAYERS and LAYERS[target] > LAYERS[me]]
    assert not above, f"{me} (layer {LAYERS[me]}) imports from above: {'; '.join(above)}"


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_uses_another_modules_private_names(path):
    me = top_module(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    private = lambda name: name.startswith("_") and not name.startswith("__")  # noqa: E731
    found = [f"line {line}: from {target} import {name}" for line, target, names in imports(path)
             for name in names if private(name) and target != me]
    foreign = set()  # names bound by importing something from another module of the package
    for line, target, names in imports(path):
        if target != me:
            foreign.update(names or [target])
    for node in ast.walk(tree):
        if isinstance(node, ast.alias) and node.asname and node.name in foreign:
            foreign.add(node.asname)
    found += [f"line {node.lineno}: {node.value.id}.{node.attr}" for node in ast.walk(tree)
              if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.value.id in foreign and private(node.attr)]
    assert not found, f"{path.relative_to(PACKAGE)} uses another module's private names: {'; '.join(found)}"


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_assigns_another_modules_globals(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = {target for _, target, names in imports(path) if not names}  # `from . import engine`, `import ...`
    for line, target, names in imports(path):
        modules.update(name for name in names if name in LAYERS)  # `from .. import primitives as P`: see aliases
    for node in ast.walk(tree):
        if isinstance(node, ast.alias) and node.asname and node.name in modules:
            modules.add(node.asname)
    targets = [t for node in ast.walk(tree) if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign))
               for t in (node.targets if isinstance(node, ast.Assign) else [node.target])]
    found = [f"line {t.lineno}: {t.value.id}.{t.attr} = ..." for t in targets
             if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id in modules
             and t.value.id != top_module(path)]
    assert not found, f"{path.relative_to(PACKAGE)} assigns another module's globals: {'; '.join(found)}"


def test_the_engine_is_small_enough_to_read_in_one_sitting():
    lines = {name: len((PACKAGE / name).read_text(encoding="utf-8").splitlines()) for name in ENGINE}
    assert sum(lines.values()) < ENGINE_LINE_BUDGET, (
        f"the engine has {sum(lines.values())} lines ({lines}); the budget is {ENGINE_LINE_BUDGET}: "
        "move what is not autograd itself to ops.py, methods.py or above")


# ---------------------------------------------------------------------- the command line is a thin layer

CLI_FUNCTION_LINES = 40  # a cli/ function parses, calls the library and prints: it fits on a screen


def _library_sources() -> list[Path]:
    return [p for p in sources() if top_module(p) not in ("cli", *FRONT_DOORS)]


@pytest.mark.parametrize("path", _library_sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_library_module_prints(path):
    """Only the command line talks to the terminal: the library returns text, notices or warnings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [f"line {node.lineno}: {ast.unparse(node.func)}" for node in ast.walk(tree) if isinstance(node, ast.Call)
             and (ast.unparse(node.func) == "print"
                  or ast.unparse(node.func) in ("sys.stdout.write", "sys.stderr.write"))]
    assert not found, f"{path.relative_to(PACKAGE)} prints: {'; '.join(found)} (return the text instead)"


def test_cli_functions_are_short():
    long = []
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > CLI_FUNCTION_LINES:
                    long.append(f"cli/{path.name}: {node.name} ({lines} lines)")
    assert not long, (f"over {CLI_FUNCTION_LINES} lines: {', '.join(long)}; a decision that needs more belongs in "
                      "the library")


# ---------------------------------------------------------------------- no import cycles


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_level_imports(path: Path) -> set[str]:
    """The package's modules ``path`` imports when it is imported (not inside functions or TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_blocks(tree)
    known = {_module_name(p) for p in sources()}
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    body = [n for n in tree.body if id(n) not in skip]
    for node in body:
        for inner in ast.walk(node) if isinstance(node, (ast.If, ast.Try)) else [node]:
            if id(inner) in skip:
                continue
            if isinstance(inner, ast.ImportFrom):
                if inner.level:
                    base = package.split(".")[: len(package.split(".")) - (inner.level - 1)]
                    target = ".".join(base + (inner.module.split(".") if inner.module else []))
                else:
                    target = inner.module or ""
                for alias in inner.names:  # `from . import x` names a module x when there is one
                    found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in known else target)
            elif isinstance(inner, ast.Import):
                found.update(alias.name for alias in inner.names)
    return {m for m in found if m in known and m != me}


def test_no_import_cycles():
    graph = {_module_name(p): _module_level_imports(p) for p in sources()}
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if start in state:
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        state[start] = 1
        while stack:  # iterative depth-first search
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                state[node] = 2
            elif state.get(child) == 1:
                cycles.append(" -> ".join([*path[path.index(child):], child]))
            elif child not in state:
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph[child]))))
    assert not cycles, f"import cycles: {'; '.join(cycles[:5])}"


def test_the_compiler_and_the_optimizers_do_not_import_each_other():
    """tm.compile hears the optimizers and the layers through the engine's listeners (engine.announce), so neither
    ``optim`` nor ``nn`` imports ``jit`` and ``jit`` does not import ``optim``, not even inside a function (the
    cycle jit <-> optim, hidden in functions, is what issue 21 removed)."""
    found = [f"{top_module(p)} imports {target} (line {line})" for p in sources() for line, target, _ in imports(p)
             if (top_module(p) in ("optim", "nn") and target == "jit") or (top_module(p) == "jit" and target == "optim")]
    assert not found, "; ".join(found)


def test_the_compiler_reads_no_interpreter_frames():
    """``tm.compile`` learns where a walk starts and ends from the engine's events (``Listener.on_walk_start`` /
    ``on_walk_end``), not by reading the interpreter's frames, which broke with any change to ``Tensor.backward``."""
    names = {node.attr for node in ast.walk(ast.parse((PACKAGE / "jit.py").read_text(encoding="utf-8")))
             if isinstance(node, ast.Attribute)}
    assert not names & {"_getframe", "f_back", "f_locals", "f_code", "currentframe", "stack"}
