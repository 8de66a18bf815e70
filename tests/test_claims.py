"""benchmarks/claims.py: the docs show exactly the committed measurements, its --check notices a number that no
longer holds, and its --quick pipeline runs end to end on tiny data."""

import copy
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "claims.py"


def load_claims():
    spec = importlib.util.spec_from_file_location("claims", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["claims"] = module
    spec.loader.exec_module(module)
    return module


claims = load_claims()
COMMITTED = json.loads(claims.DATA_FILE.read_text())
# While `claims.py` measures the test count it runs this suite, before that claim has a committed value to check.
MEASURING_TESTS = os.environ.get("TINYGRAD_MLP_CLAIMS_MEASURING") == "tests" and "tests" not in COMMITTED


def test_the_docs_show_exactly_the_committed_measurements():
    """Every block between claims markers is what the data file renders to: no number edited by hand, none stale."""
    rendered = claims.render_docs(COMMITTED, ROOT)
    for doc, text in rendered.items():
        assert (ROOT / doc).read_text(encoding="utf-8") == text, (
            f"{doc}: its claims blocks differ from benchmarks/claims.json; run `python benchmarks/claims.py --render`")


def test_every_measured_claim_is_committed_and_shown():
    for name, claim in claims.CLAIMS.items():
        if name == "tests" and MEASURING_TESTS:
            continue
        assert name in COMMITTED and name in COMMITTED["machines"], name
        for block in claim.blocks:
            assert any(f"<!-- claims:{block} -->" in (ROOT / doc).read_text(encoding="utf-8")
                       for doc in claims.DOCS if (ROOT / doc).exists()), block


def test_accuracy_claims_are_over_three_seeds():
    for recipe, runs in COMMITTED["accuracy"].items():
        assert [r["seed"] for r in runs] == [0, 1, 2], recipe
    for name in ("tutorial", "toolbox", "noise"):
        assert [r["seed"] for r in COMMITTED[name]["runs"]] == [0, 1, 2], name


def test_the_96_percent_recipe_holds_as_committed():
    values = [r["accuracy"] for r in COMMITTED["accuracy"]["notes-96"]]
    assert sum(values) / len(values) >= 96.0, values


def test_over_seeds_gives_mean_sd_and_each_runs_own_seed():
    runs = [{"seed": 3, "accuracy": 90.0}, {"seed": 7, "accuracy": 92.0}]
    assert claims.over_seeds(runs, 1) == "91.00 ± 1.41% (seeds 3, 7: 90.0%, 92.0%)"
    assert claims.over_seeds(runs, 2, bold=True) == "**91.00 ± 1.41%** (seeds 3, 7: 90.00%, 92.00%)"
    assert claims.spread([0.5, 0.7], 2, "") == "0.60 ± 0.14"


def test_check_names_each_number_outside_its_spread():
    committed = copy.deepcopy(COMMITTED)
    if MEASURING_TESTS:
        committed["tests"] = {"passed": 10, "skipped": 1, "seconds": 1}
    new = copy.deepcopy(committed)
    assert all(not claims.disagreements(name, committed, new) for name in claims.CLAIMS)
    for r in new["accuracy"]["notes-plain"]:
        r["accuracy"] -= 1.0  # a whole point lower: far outside three standard deviations and 0.3 points
    new["tests"]["passed"] += 1
    example = next(iter(new["examples"]))
    new["examples"][example] = [3 * t for t in new["examples"][example]]
    assert [p.split(":")[0] for p in claims.disagreements("accuracy", committed, new)] == ["accuracy/notes-plain"]
    assert [p.split(":")[0] for p in claims.disagreements("tests", committed, new)] == ["tests/passed"]
    assert [p.split(":")[0] for p in claims.disagreements("examples", committed, new)] == [f"examples/{example}"]


def test_check_compares_the_cli_claims_each_in_its_own_way():
    committed = copy.deepcopy(COMMITTED)
    assert not claims.disagreements("cli", committed, copy.deepcopy(committed))
    new = copy.deepcopy(committed)
    for r in new["cli"]["divergence"]:
        r["loss"] *= 1e2   # two orders of magnitude more: within the committed range widened by 3
    assert not claims.disagreements("cli", committed, new)
    new["cli"]["divergence"][0]["epochs"] = 2          # a run that did not stop after its first bad epoch
    new["cli"]["divergence"][1]["loss"] = 50.0         # a loss that hardly grew
    new["cli"]["eval_seconds"] = [3 * t for t in new["cli"]["eval_seconds"]]
    assert sorted(p.split(":")[0] for p in claims.disagreements("cli", committed, new)) == [
        "cli/divergence/epochs", "cli/divergence/log10 loss", "cli/eval seconds"]


def test_check_compares_the_conv_step_as_a_ratio_to_pytorch():
    committed = copy.deepcopy(COMMITTED)
    new = copy.deepcopy(committed)
    for impl in new["conv"]["cpu_us"]:
        new["conv"]["cpu_us"][impl] *= 2.5   # a slower machine: every step slower, the ratios the same
    assert not claims.disagreements("conv", committed, new)
    new["conv"]["cpu_us"]["compiled"] *= 3    # the compiled step alone three times slower
    assert [p.split(":")[0] for p in claims.disagreements("conv", committed, new)] == ["conv/compiled"]
    del new["conv"]["cpu_us"]["torch"]           # measured where torch is missing: no ratio to compare, said so
    assert [p.split(": ", 1)[1] for p in claims.disagreements("conv", committed, new)] == ["not measured"] * 2
    assert "1.22x" in claims.render_conv({**committed, "conv": {**committed["conv"], "cpu_us": {
        "torch": 1000, "tinygrad_mlp": 1500, "compiled": 1220}}}).replace(" ", "")


def test_check_allows_hidden_neuron_counts_their_spread_over_seeds():
    runs = [{"seed": seed, "layer1": 6, "layer2": 14 + seed} for seed in (0, 1, 2)]
    committed = {"hidden": {"recipe": "notes-cosine", "runs": runs}}
    new = copy.deepcopy(committed)
    for r in new["hidden"]["runs"]:
        r["layer1"] += 2   # two neurons more in each run: the same seeds agreed exactly, but 2 neurons are allowed
    assert not claims.disagreements("hidden", committed, new)
    for r in new["hidden"]["runs"]:
        r["layer1"] += 1
        r["layer2"] -= 4   # beyond 3 standard deviations of 14, 15, 16
    assert [p.split(":")[0] for p in claims.disagreements("hidden", committed, new)] == [
        "hidden/layer1", "hidden/layer2"]


def test_the_test_count_says_why_tests_were_skipped():
    output = ("....\n===== short test summary info =====\n"
              "SKIPPED [1] tests/test_web.py:120: chromedriver is not installed\n"
              "SKIPPED [3] tests/test_oracle.py:5: torch is not installed\n3234 passed, 4 skipped in 496.00s\n")
    reasons = claims.skip_reasons(output)
    assert reasons == ["chromedriver is not installed", "3 x torch is not installed"]
    data = {**COMMITTED, "tests": {"passed": 3234, "skipped": 4, "seconds": 496, "skip_reasons": reasons}}
    if "tests" not in data["machines"]:
        data["machines"] = {**data["machines"], "tests": data["machines"]["accuracy"]}
    rendered = claims.render_tests(data)
    assert rendered.startswith("3,234 passed, 4 skipped in 496 s (")
    assert rendered.endswith("); skipped: chromedriver is not installed; 3 x torch is not installed")


def test_check_compares_each_thread_setting_s_times():
    committed = copy.deepcopy(COMMITTED)
    new = copy.deepcopy(committed)
    two = new["threads"]["seconds"]["relu"]["0"]
    two[:] = [min(two), min(two), max(two)]   # the median moves to the committed range's end: BLAS threads swing so
    new["threads"]["seconds"]["notes"]["1"] = [2.5 * t for t in new["threads"]["seconds"]["notes"]["1"]]
    assert [p.split(":")[0] for p in claims.disagreements("threads", committed, new)] == ["threads/notes/--threads 1"]
    two[:] = [3 * max(two)] * 3
    assert [p.split(":")[0] for p in claims.disagreements("threads", committed, new)] == [
        "threads/notes/--threads 1", "threads/relu/--threads 0"]
    table = claims.render_threads(committed)
    assert table.count("\n| ") == 3 and "| default / 1 thread |" in table   # header and one row per network


def test_a_block_no_claim_renders_is_refused(tmp_path):
    (tmp_path / "docs").mkdir()
    for doc in claims.DOCS:
        if (ROOT / doc).exists():
            (tmp_path / doc).write_text((ROOT / doc).read_text(encoding="utf-8"), encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text() + "\n<!-- claims:nobody -->\nx\n<!-- /claims:nobody -->\n")
    with pytest.raises(SystemExit, match="nobody"):
        claims.render_docs(COMMITTED, tmp_path)


def test_quick_pipeline_runs_end_to_end(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--work", str(tmp_path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "quick run rendered" in proc.stdout
    assert not (ROOT / "benchmarks" / "claims.json").read_text() != json.dumps(COMMITTED, indent=1,
                                                                                 sort_keys=True) + "\n"
