"""The sufficient-state automaton of hop_k (bounds/witnesses/automaton.py) against enumeration:
its answers on every input, its class counts at every cut and, read in the split's order, the
distinct rows of the enumerated communication matrix; and the published tables it reproduces."""
import itertools
import re
from pathlib import Path

import numpy as np
import pytest

from attncheck.bounds.witnesses import automaton, myhill_nerode, oneway
from attncheck.bounds.witnesses.domain import answers, distinct_rows, make_domain
from attncheck.bounds.witnesses.table import build_table, table_rows, wide_table
from attncheck.constructions.budget import Budget
from attncheck.constructions.verdict import BudgetExceeded

REPO = Path(__file__).resolve().parents[2]

DOMAINS = [(task, k, a, N, marker)
           for task, k in (("induction", 1), ("hop", 1), ("hop", 2), ("hop", 3))
           for a in (2, 3) for N in range(max(2, k), 8) for marker in (False, True)
           if not marker or N % 2 == 1 and N >= 3]


def _run(layers: automaton.Layers, idx: np.ndarray) -> np.ndarray:
    """Answers of the layered automaton on inputs given as (M, N) choice indices (order 1..N)."""
    s = np.zeros(len(idx), dtype=np.int64)
    for t, delta in enumerate(layers.delta):
        s = delta[s, idx[:, t]]
    return layers.answers[s]


@pytest.mark.parametrize("task,k,alphabet,N,marker", DOMAINS)
def test_automaton_answers_every_input_like_the_enumeration(task, k, alphabet, N, marker):
    d = make_domain(task, N, alphabet, k, marker)
    idx = np.array(list(itertools.product(*[range(r) for r in d.radix])))       # (M, N)
    assert np.array_equal(_run(automaton.build(d), idx), answers(d))


@pytest.mark.parametrize("task,k,alphabet,N,marker", DOMAINS)
def test_class_counts_equal_the_enumerated_refinement(task, k, alphabet, N, marker):
    d = make_domain(task, N, alphabet, k, marker)
    by_prefixes = [int(i.max()) + 1 for i in myhill_nerode.refine_ids(answers(d), d.radix)]
    assert automaton.build(d).class_counts() == by_prefixes


SPLITS = [(split, *c) for c in DOMAINS if c[3] >= 4
          for split in ("interleaved", "halves", "prefix:0", "prefix:2") + (("block",) if 2 <= c[1] <= c[3] // 2 else ())]


@pytest.mark.parametrize("split,task,k,alphabet,N,marker", SPLITS)
def test_rows_in_the_split_order_equal_the_matrix_rows(split, task, k, alphabet, N, marker):
    """Alice's positions read first: the classes at the cut are the matrix's distinct rows, and
    with the last choice held fixed, the rows with X_N fixed."""
    d = make_domain(task, N, alphabet, k, marker)
    alice, bob = oneway.split_positions(split, N, k)
    layers = automaton.build(d, tuple(t - 1 for t in alice + bob))
    mat, _, _ = oneway.communication_matrix(task, N, alphabet, split, k, marker)
    cut = len(alice)
    assert layers.class_counts()[cut] == distinct_rows(mat)[0]
    last = mat.reshape(mat.shape[0], -1, d.radix[N - 1])
    for c in range(d.radix[N - 1]):
        assert layers.class_counts(c)[cut] == distinct_rows(last[:, :, c])[0]


def test_orders_must_be_permutations():
    d = make_domain("induction", 4, 2)
    with pytest.raises(ValueError, match="permutation"):
        automaton.build(d, (0, 1, 1, 3))


def test_the_automaton_is_used_where_it_pays():
    assert automaton.worth_it(make_domain("hop", 13, 4, 2))                  # 6.7e7 inputs
    interleaved = tuple(t - 1 for t in sum(oneway.split_positions("interleaved", 13), ()))
    assert automaton.worth_it(make_domain("hop", 13, 4, 2), interleaved)
    assert not automaton.worth_it(make_domain("induction", 41, 2, marker=True))   # state holds all data
    assert not automaton.worth_it(make_domain("induction", 6, 20))           # |Σ| large against N


def test_budget_stops_the_automaton():
    with pytest.raises(BudgetExceeded):
        myhill_nerode.rnn_state_classes("hop", 13, 4, 2, budget=Budget(1e-9))


def _markdown_rows(text: str, header: str) -> list[list[str]]:
    """Cells of the Markdown table whose header line starts with ``header``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def test_the_readme_table_is_reproduced():
    """README: `attncheck witness table --N 5,9,13 --markdown`, cell for cell."""
    Ns = [5, 9, 13]
    cells, stopped = build_table(Ns)
    assert not stopped
    assert wide_table(cells, Ns)[1] == _markdown_rows((REPO / "README.md").read_text(), "| N | ih states")


def test_the_docs_tables_are_reproduced():
    """docs/witnesses.md: `attncheck witness table --N 3..15:+2` (two tables), cell for cell."""
    Ns = list(range(3, 16, 2))
    cells, _ = build_table(Ns)
    doc = (REPO / "docs" / "witnesses.md").read_text()
    (_, _, ih), (_, _, hop) = table_rows(cells, Ns)
    got = ih + hop
    parts = doc.split("**hop_2: state bits")
    want = _markdown_rows(parts[0], "| N | state bits") + _markdown_rows(parts[1], "| N | state bits")
    assert got == want
