"""Every example runs as `python examples/NAME.py --quick --out-dir DIR`, exits 0, says what it should, draws its
pictures into DIR and writes nothing anywhere else."""

import importlib.util
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# name -> (pictures it must draw, phrases its output must contain)
EXPECTED = {
    "mnist_3b1b.py": (["weights.png", "curves.png", "confusion.png", "worst.png"],
                      ["13,002 weights and biases", "epoch  3:", "test accuracy"]),
    "autograd_vs_backprop.py": ([], ["all three agree", "layers.0.weight", "autograd-numerical"]),
    "custom_op.py": ([], ["gradcheck(softplus): backward matches finite differences",
                          "gradcheck(broken softplus) caught the wrong backward", "epoch 2:"]),
    "two_moons.py": (["two_moons.png"], ["test accuracy", "picture:"]),
    "random_noise.py": (["random_noise.png", "real_digit.png"], ["random noise", "above 0.9", "none of these"]),
    "toolbox_digits.py": ([], ["in 2 groups", "epoch 1:", "test accuracy"]),
    "train_lenet.py": ([], ["61,706 weights and biases", "images of shape (1, 28, 28)", "epoch  3:", "test accuracy"]),
    "descent_2d.py": (["descent_2d.png"], ["the global minimum", "the local minimum", "diverged after",
                                           "noisy gradient"]),
}


def run(name, *args, cwd):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, str(EXAMPLES / name), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


ALL = sorted(p.name for p in EXAMPLES.glob("*.py"))


def test_the_examples_are_there():
    assert set(EXPECTED) <= set(ALL)


def learned(stdout):
    accuracies = [float(a) for a in re.findall(r"test accuracy ([\d.]+)%", stdout)]
    return bool(accuracies) and accuracies[-1] > 80  # chance is 10% (50% for the two moons)


# name -> a check on the output beyond the phrases
CHECKS = {"mnist_3b1b.py": learned, "custom_op.py": learned, "two_moons.py": learned, "toolbox_digits.py": learned,
          "train_lenet.py": learned}


@pytest.mark.parametrize("name", ALL)
def test_example_runs(name, tmp_path):
    pictures, phrases = EXPECTED.get(name, ([], []))  # an example not listed above must at least run cleanly
    if pictures and not HAVE_MATPLOTLIB:  # `pip install -e ".[dev]"` has no viz extra; CI installs it
        pytest.skip(f'{name} draws pictures and matplotlib is not installed (pip install -e ".[viz]")')
    out = tmp_path / "out"
    result = run(name, "--quick", "--out-dir", str(out), cwd=tmp_path)
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    for phrase in phrases:
        assert phrase in result.stdout, f"{name}: {phrase!r} not in its output:\n{result.stdout}"
    if name in CHECKS:
        assert CHECKS[name](result.stdout), result.stdout
    for picture in pictures:
        width, height = png_size(out / picture)
        assert width >= 300 and height >= 300 and (out / picture).stat().st_size > 5_000
    if pictures:
        assert sorted(p.name for p in out.iterdir()) == sorted(pictures)
    assert list(tmp_path.iterdir()) == ([out] if pictures else []), "the example wrote outside --out-dir"


def test_examples_on_real_mnist(tmp_path):
    if not os.environ.get("TINYGRAD_MLP_DATA"):
        pytest.skip("real MNIST is not available (set TINYGRAD_MLP_DATA)")
    result = run("mnist_3b1b.py", "--mnist", "--epochs", "1", "--out-dir", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "data: MNIST, 60000 training and 10000 test images" in result.stdout
    assert float(re.search(r"test accuracy ([\d.]+)%", result.stdout).group(1)) > 80


def option_helps(help_text: str) -> dict[str, str]:
    """`--help`'s options section as {option: its help text, lines joined}."""
    section = help_text.split("options:", 1)[1]
    helps: dict[str, str] = {}
    option = None
    for line in section.splitlines():
        match = re.match(r"^  (-\S+)(?:[ ,][^ ].*?)?(?:  +(\S.*))?$", line)
        if match:
            option = match.group(1).rstrip(",")
            helps[option] = match.group(2) or ""
        elif option and line.strip():
            helps[option] = (helps[option] + " " + line.strip()).strip()
    return helps


@pytest.mark.parametrize("name", ALL)
def test_example_help_is_whole_sentences(name, tmp_path):
    result = run(name, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    description = result.stdout.split("\n\n")[1].replace("\n", " ")
    assert description[0].isupper() and description.rstrip().endswith("."), description
    helps = option_helps(result.stdout)
    helps.pop("-h", None)
    assert helps, result.stdout
    for option, text in helps.items():
        assert text[:1].isupper() and text.endswith("."), f"{name} {option}: {text!r} is not a sentence"
