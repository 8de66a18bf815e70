"""The docs are kept honest: every ```python block of every page runs (in order, one namespace per page),
the pictures they show exist and are small, and docs/api.md names every public name of every public module."""

import ast
import contextlib
import importlib
import importlib.util
import io
import pkgutil
import re
from pathlib import Path

import pytest

import tinygrad_mlp

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
PAGES = [*sorted(DOCS.glob("*.md")), README]
HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """(line number, code) of each ```python block."""
    text = page.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in BLOCK.finditer(text)]


def test_the_pages_exist():
    names = {p.name for p in PAGES}
    assert {"tutorial.md", "autograd.md", "gradient-checking.md", "api.md"} <= names
    for name in ("tutorial.md", "autograd.md", "gradient-checking.md"):
        assert len(python_blocks(DOCS / name)) >= 5, f"{name} has too few code examples"


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: p.name)
def test_code_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # pictures and files the examples write land here
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": f"docs_{page.stem}"}
    for line, code in python_blocks(page):
        compiled = compile(code, f"{page.name}:{line}", "exec")
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compiled, namespace)
        except Exception as e:
            if "matplotlib is needed" in str(e) and not HAVE_MATPLOTLIB:  # `pip install -e ".[dev]"` has no viz extra
                pytest.skip(f"{page.name}, the block at line {line} draws a picture and matplotlib is not installed "
                            '(pip install -e ".[viz]")')
            pytest.fail(f"{page.name}, the block at line {line} raised {type(e).__name__}: {e}")


def test_readme_set_up_is_two_commands_and_ci_runs_them():
    text = README.read_text(encoding="utf-8")
    setup = re.search(r"^## Set up\n+```bash\n(.*?)^```", text, re.S | re.M)
    assert setup, "README.md has no '## Set up' section with a bash block"
    install, test = setup.group(1).strip().splitlines()  # exactly two commands
    assert install.startswith("pip install -e ")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert any(line.strip().startswith("python -m pip install") and "-e" in line for line in ci)
    assert test in [line.strip() for line in ci], f".ci/run must run the README's test command {test!r} as written"


def test_block_extraction_finds_every_block():
    # a guard on the guard: the regex must not silently skip blocks (e.g. one indented or at the end)
    sample = "text\n```python\na = 1\n```\nmore\n```bash\nls\n```\n```python\nb = a + 1\n```"
    page = DOCS.parent / "tests" / "_sample.md"
    try:
        page.write_text(sample)
        assert python_blocks(page) == [(3, "a = 1\n"), (10, "b = a + 1\n")]
    finally:
        page.unlink()
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert text.count("```python") == len(python_blocks(page)), f"{page.name}: a ```python block is malformed"


def test_pictures_exist_and_are_small():
    linked = set()
    for page in PAGES:
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text(encoding="utf-8")):
            path = (page.parent / target).resolve()
            assert path.is_file(), f"{page.name} shows {target}, which does not exist"
            linked.add(path)
    pictures = list((DOCS / "img").glob("*"))
    assert pictures, "docs/img is empty"
    for picture in pictures:
        assert picture.stat().st_size < 200_000, f"{picture.name} is {picture.stat().st_size} bytes"
        assert picture.resolve() in linked, f"{picture.name} is not shown by any page"


# ---------------------------------------------------------------------- api.md covers the public API


def public_modules() -> list[str]:
    names = ["tinygrad_mlp"]
    for info in pkgutil.walk_packages(tinygrad_mlp.__path__, "tinygrad_mlp."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def public_names(module_name: str) -> list[str]:
    """``__all__``, or else the non-underscore names a module defines itself (def, class, assignment)."""
    module = importlib.import_module(module_name)
    if hasattr(module, "__all__"):
        return [n for n in module.__all__ if not n.startswith("_")]
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return [n for n in dict.fromkeys(names) if not n.startswith("_")]


def api_sections() -> dict[str, str]:
    """The text under each ``## `module` `` heading of api.md."""
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    parts = re.split(r"^## `([\w.]+)`.*$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def test_public_names_are_found():
    # a guard on the guard: the discovery sees modules and names we know are there
    modules = public_modules()
    assert {"tinygrad_mlp", "tinygrad_mlp.tensor_core", "tinygrad_mlp.nn", "tinygrad_mlp.nn.functional",
            "tinygrad_mlp.viz", "tinygrad_mlp.primitives"} <= set(modules)
    assert "graph_tensors" in public_names("tinygrad_mlp.tensor_core")
    assert "Exp" in public_names("tinygrad_mlp.primitives") and "Sigmoid" in public_names("tinygrad_mlp.ops")
    assert "_unbroadcast" not in public_names("tinygrad_mlp.tensor_core")


@pytest.mark.parametrize("module_name", public_modules())
def test_api_md_lists_every_public_name(module_name):
    sections = api_sections()
    names = public_names(module_name)
    package = module_name.rpartition(".")[0]
    if module_name not in sections and package in sections:
        # a module of a subpackage (viz.graph, data.mnist ...) is documented in its package's section,
        # which is only right if the package re-exports everything it makes public
        hidden = sorted(set(names) - set(public_names(package)))
        assert not hidden, f"{package} does not re-export {', '.join(hidden)} of {module_name}"
        module_name = package
    assert module_name in sections, f"docs/api.md has no section '## `{module_name}`'"
    section = sections[module_name]
    missing = [n for n in names if not re.search(rf"`{re.escape(n)}[`(\[ ]", section)]
    assert not missing, f"docs/api.md, section {module_name}, does not describe: {', '.join(missing)}"

