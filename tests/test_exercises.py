"""The planted-bug catalogue of docs/gradient-checking.md: each bug, planted in the notes' hand-written
backprop and checked three ways, fails exactly the (tensor, pair) cells the catalogue says, and no others."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from tinygrad_mlp import ArgumentError, exercises
from tinygrad_mlp.threeway import PAIRS, make_problem, three_way_check


def failing_cells(result) -> set[tuple[str, str, str]]:
    return {(row.name, p.first, p.second) for row in result.rows for p in row.pairs if not p.passed}


def check(bug, sizes=(4, 3, 3, 3), batch_size=5, seed=0):
    problem = make_problem(list(sizes), "sigmoid", "mse", batch_size=batch_size, seed=seed)
    hand = functools.partial(exercises.notes_backprop, bug=bug)
    hand.__name__ = f"notes_backprop(bug={bug!r})"  # type: ignore[attr-defined]
    return three_way_check(problem.model, problem.x, problem.labels, "mse", hand=hand)


@pytest.mark.parametrize("seed", [0, 1])
def test_the_correct_notes_backprop_passes_all_three_pairs(seed):
    result = check(None, seed=seed)
    assert result.passed, result.failures()
    assert "your backprop" in result.format_table()


@pytest.mark.parametrize("bug", sorted(exercises.PLANTED_BUGS))
def test_each_planted_bug_fails_exactly_the_pairs_the_catalogue_names(bug):
    result = check(bug)
    expected = exercises.expected_failures(bug, layers=3)
    assert expected, "a planted bug must make something fail"
    assert failing_cells(result) == expected
    assert result.loss_passed == (not exercises.PLANTED_BUGS[bug].loss_value_differs)
    assert result.pair_passed("autograd", "FD")  # autograd and finite differences know nothing of the bug
    assert "hand-derived reference is the odd one out" in result.diagnosis()


@pytest.mark.parametrize("bug", ["sum instead of mean", "bias not summed over the batch"])
def test_batch_bugs_are_invisible_with_a_batch_of_one(bug):
    # the reason the exercise insists on a batch of several examples
    assert failing_cells(check(bug, batch_size=1)) == set()
    assert failing_cells(check(bug, batch_size=2))


def test_expected_failures_names_real_cells():
    problem = make_problem([4, 3, 3, 3], batch_size=3)
    names = {name for name, _ in problem.model.named_parameters()}
    for bug in exercises.PLANTED_BUGS:
        for name, first, second in exercises.expected_failures(bug, layers=3):
            assert name in names and (first, second) in PAIRS


def test_unknown_bug_is_refused():
    with pytest.raises(ArgumentError, match="unknown bug"):
        exercises.notes_backprop([np.eye(2)], [np.zeros(2)], np.zeros((1, 2)), [0], bug="typo")


def test_a_user_backprop_returning_wrong_shapes_is_named():
    from tinygrad_mlp import ShapeError

    problem = make_problem([4, 3, 2], batch_size=3)

    def transposed(weights, biases, x, labels):
        cost, gw, gb = exercises.notes_backprop(weights, biases, x, labels)
        return cost, [g.T for g in gw], gb

    with pytest.raises(ShapeError, match="transposed's gradient of layer 1's weight has shape"):
        three_way_check(problem.model, problem.x, problem.labels, hand=transposed)
