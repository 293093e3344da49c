"""Reduction identities hold on every small instance, and broken encoders are refuted."""
import math

import pytest

from attncheck.bounds import reductions as rd
from attncheck.constructions.budget import Budget
from attncheck.constructions.verdict import BadInput, Status

SMALL = [("index-ih", {"n": 6}), ("index-stream", {"n": 6}), ("pointer-hop", {"q": 2, "k": 3}),
         ("pointer-hop", {"q": 3, "k": 2}), ("cycle-gadget", {"k": 4}), ("disj-qsa", {"q": 4}),
         ("cycle-gluing", {"n": 4}), ("cycle-gluing", {"n": 6, "N": 21})]


@pytest.mark.parametrize("rid,params", SMALL, ids=lambda v: str(v))
def test_identity_holds_exhaustively(rid, params):
    v = rd.check(rid, params)
    assert v.status is Status.VERIFIED, v.reason
    assert v.cases == rd.REDUCTIONS[rid].count({**rd.REDUCTIONS[rid].defaults, **params})


def test_instance_counts_match_enumeration():
    for n in (4, 6, 8):
        assert len(rd.one_vs_two_cycles(n)) == rd.count_one_vs_two(n)
        labels = [lab for lab, _ in rd.one_vs_two_cycles(n)]
        assert all(rd.cycle_count(e) == lab for lab, e in rd.one_vs_two_cycles(n))
        assert labels.count(1) == math.factorial(n - 1) // 2


# Mutants: each breaks the encoding in one small way; the check must find a counterexample.
MUTANTS = [
    ("index-ih", {"n": 4}, lambda a, i: rd.index_ih_encode(a, i)[:-1] + [0]),          # query not '?'
    ("index-ih", {"n": 4}, lambda a, i: rd.index_ih_encode(a, (i % len(a)) + 1)),      # off-by-one pointer
    ("index-stream", {"n": 4}, lambda a, i: rd.index_stream_encode(a, i)[1:] + [1 + i]),
    ("pointer-hop", {"q": 2, "k": 2}, lambda m, s, q: rd.pointer_hop_encode(m, s, q)[:-1] + [2]),
    ("pointer-hop", {"q": 2, "k": 3},
     lambda m, s, q: [t if t <= 2 * q else (4 * q + 3 - t) for t in rd.pointer_hop_encode(m, s, q)]),
    ("cycle-gadget", {"k": 4},
     lambda e, k, N=None: rd.gadget_encode([(v, u) for u, v in e], k, N)[:-1] + [2]),
    ("cycle-gadget", {"k": 4},          # gadget without the repeated (u, dagger, v) half
     lambda e, k, N=None: [t for (u, v) in e for t in (k + 2, u, k + 1, v, k + 2, k + 3)] * (k // 2) + [1]),
    ("disj-qsa", {"q": 3},
     lambda a, b: (lambda z, y: (z, y[:-1] + [[2 * i + 1 - int(ai) for i, ai in enumerate(a)]]))(
         *rd.disj_qsa_encode(a, b))),
    ("cycle-gluing", {"n": 6},
     lambda e, n, N, variant="corrected": (lambda g, k: (g[:-1], k))(*rd.glue(e, n, N, variant))),
]


@pytest.mark.parametrize("rid,params,encoder", MUTANTS, ids=lambda v: v if isinstance(v, str) else "")
def test_broken_encoders_are_refuted(rid, params, encoder):
    v = rd.check(rid, params, encoder=encoder)
    assert v.status is Status.REFUTED, v.reason
    assert v.counterexample is not None
    # the reason is text (no Python dict, list or bool); the evidence keeps the structure
    assert not any(c in v.reason for c in "{}[]'\"") and "True" not in v.reason and "False" not in v.reason
    assert isinstance(v.counterexample.explanation, dict)
    assert v.reason.endswith(rd.detail_text(v.counterexample.explanation))


def test_detail_text_reads_like_the_dict():
    assert rd.detail_text({"graph": "C1", "edges_glued": 15, "connected": True, "a": [0, 1],
                           "edges": [[1, 2], [2, 1]]}) == \
        "graph C1, edges glued 15, connected yes, a (0, 1), edges ((1, 2), (2, 1))"


def test_paper_literal_gluing_breaks_the_edge_budget():
    """k = floor(N/n) copies with one hub edge each: k(n+1) > N for some N (e.g. N = n)."""
    v = rd.check("cycle-gluing", {"n": 6, "variant": "paper"})
    assert v.status is Status.REFUTED
    assert v.counterexample.explanation["edges_glued"] > v.counterexample.explanation["N"]
    assert "graph C1, N 6, copies 1, edges glued 7, connected yes" in v.reason
    assert v.counterexample.got == "connected yes; max diameter 4; |E'| 7"


def test_sampling_is_never_verified_and_budget_gives_unknown():
    v = rd.check("cycle-gadget", {"k": 6}, samples=50, seed=3)
    assert v.status is Status.UNKNOWN and v.method.value == "sample" and v.cases == 50
    again = rd.check("cycle-gadget", {"k": 6}, samples=50, seed=3)
    assert again.to_json() == v.to_json()
    v = rd.check("index-ih", {"n": 12}, budget=Budget(1e-9))
    assert v.status is Status.UNKNOWN and "budget" in v.reason


@pytest.mark.parametrize("rid,params,needle", [
    ("nope", {}, "unknown reduction"), ("cycle-gadget", {"k": 5}, "even"),
    ("cycle-gadget", {"k": 4, "N": 10}, "N_k"), ("cycle-gluing", {"n": 3}, "even"),
    ("index-ih", {"n": 30}, "1..24")])
def test_bad_parameters_refused(rid, params, needle):
    with pytest.raises(BadInput, match=needle):
        rd.check(rid, params)


def test_exhaustive_mode_refuses_huge_enumerations():
    with pytest.raises(BadInput, match="cap"):
        rd.check("cycle-gadget", {"k": 8}, mode="exhaustive")
    with pytest.raises(BadInput, match=r"^cycle-gluing with n = 10, variant = corrected has 6,785,856 instances"):
        rd.check("cycle-gluing", {"n": 10}, mode="exhaustive")             # the sizes as text, not a dict
