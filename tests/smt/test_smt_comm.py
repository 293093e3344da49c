"""The one-way factorization query: UNSAT iff B < log2(#distinct rows), cross-checked with the
witness module's exact count (bounds.witnesses.oneway.one_way_rows)."""
import itertools

import pytest

from attncheck.constructions.tasks import SEQ_TASKS
from attncheck.cli.smt import comm_instance as instance, comm_witness as witness_rows
from attncheck.verifiers.smt.comm import protocol_query
from attncheck.verifiers.smt.solver import Limits
from attncheck.constructions.verdict import BadInput

pytest.importorskip("z3")
LIM = Limits(0, 20_000_000)


def _rows_by_brute_force(task, N, V, alice, params):
    """Rows = distinct functions (Bob half -> answer at N), counted from scratch."""
    bob = [t for t in range(1, N + 1) if t not in alice]
    rows = set()
    for a in itertools.product(range(V), repeat=len(alice)):
        row = []
        for b in itertools.product(range(V), repeat=len(bob)):
            x = [0] * N
            for t, v in zip(alice, a):
                x[t - 1] = v
            for t, v in zip(bob, b):
                x[t - 1] = v
            row.append(SEQ_TASKS[task](x, **params)[-1])
        rows.add(tuple(row))
    return len(rows)


CASES = [("induction", 5, 2, "interleaved", 1), ("induction", 7, 2, "interleaved", 1),
         ("induction", 5, 3, "interleaved", 1), ("induction", 6, 2, "halves", 1),
         ("hop", 8, 2, "block", 2), ("hop", 6, 2, "prefix:3", 2)]


@pytest.mark.parametrize("task,N,V,split,k", CASES)
def test_unsat_exactly_below_the_row_count(task, N, V, split, k):
    inst = instance(task, N, V, split, k)
    wit = witness_rows(inst)
    assert wit["rows"] == _rows_by_brute_force(task, N, V, inst.alice, {"k": k} if task == "hop" else {})
    bits = wit["bits"]
    assert bits >= 1
    below, at = protocol_query(inst, bits - 1, LIM), protocol_query(inst, bits, LIM)
    assert below.solver_result == "unsat"
    assert at.solver_result == "sat" and at.replayed
    assert len(set(at.messages)) <= 2 ** bits


def test_replayed_protocol_decodes_every_pair():
    inst = instance("induction", 5, 3)
    r = protocol_query(inst, 4, LIM)
    for i, row in enumerate(inst.answers):
        for j, y in enumerate(row):
            assert r.decoder[(r.messages[i], j)] == y


@pytest.mark.parametrize("args,B", [(("induction", 12, 3), 3), (("induction", 5, 2), 17),
                                     (("hop", 5, 2, "interleaved", 9), 1)])
def test_bad_sizes_are_refused(args, B):
    with pytest.raises(BadInput):
        protocol_query(instance(*args), B, LIM)
