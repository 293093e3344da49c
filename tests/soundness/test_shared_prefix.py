"""Every mutant of the sequence-task families gets the same exhaustive answer sharing prefixes as
per input (issue 15): verdict, cases and first counterexample (tests/test_prefix.py has the
mechanics; this is the breadth: perturbed weights, swapped heads, dropped layers, temperatures,
too few bits, wrong bits of k, off-by-one positions, wrong decoders)."""
from __future__ import annotations

import pytest

import soundness_mutants as M
from attncheck.verifiers import checkloop
from attncheck.verifiers.exhaustive import check_exhaustive, chunk_size, first_wrong

FAMILIES = [f for f in M.FAMILIES.values() if f.available]


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_every_mutant_agrees_with_the_per_input_run(family):
    refuted = 0
    for m in M.mutants(family):
        c, fmt, att = m.construction, m.fmt, m.attention
        shared = check_exhaustive(c, m.task, m.params, fmt, att)
        plain = checkloop.run(checkloop.sequences(c.alphabet, c.n),
                              lambda X: first_wrong(c, m.task, m.params, X, fmt, att),
                              mode="exhaustive", claim="per input", step=chunk_size(c))
        assert shared.evidence["evaluation"] == "shared prefixes", m.label
        assert (shared.status, shared.cases, shared.counterexample) == \
            (plain.status, plain.cases, plain.counterexample), m.label
        refuted += shared.status.value == "refuted"
    assert refuted > 0
