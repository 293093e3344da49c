"""The routing certificate relies only on numbers the simulation runs (issue 12; ``lemma.sht24a.3_2``,
``sht24a.thm3_1``).

* Differential: seeded single-entry edits of a compiled simulation (any layer's W_Q, W_K, W_V,
  W_O or temperature, a query code, the start row, a bit of the hashing matrix); whenever the
  certificate holds, running the edited simulation on every instance of the domain agrees with
  the protocol round by round (``check_simulation``, mode exhaustive, the transformer run on
  every instance: ``transformer="every"``, so the certificate never stands in for the check of it).
* Targeted: one edit per fact of ``verifiers/mpc_certify.py``; the certificate must fail.
  Comments say what ``certify(sim)`` answered before issue 12.
"""
import dataclasses

import numpy as np
import pytest

from attncheck.constructions.mpc.algos import get_algo
from attncheck.constructions.mpc.simulate import compile_protocol, with_hashing, with_heads
from attncheck.constructions.precision import parse_format
from attncheck.constructions.spec import Layout
from attncheck.constructions.verdict import Method, Status
from attncheck.verifiers.mpc_certify import certify
from attncheck.verifiers.mpc_sidebyside import check_simulation, side_by_side


def build(algo="broadcast", N=4, s=2, **kw):
    return compile_protocol(get_algo(algo).build(N, s), **kw)


def exhaustive(sim, algo="broadcast", N=4, attention="hardmax"):
    return check_simulation(sim, get_algo(algo), N, mode="exhaustive", attention=attention,
                            transformer="every").verdict


def edit_layer_head(sim, layer, **changes):
    """Layer ``layer`` runs a copy of its head with ``name=[(index, value)]`` or temperature= changed."""
    h = sim.layers[layer].head
    new = {}
    for name, items in changes.items():
        if name == "temperature":
            new[name] = items
            continue
        W = getattr(h, name).copy()
        for idx, val in items:
            W[idx] = val
        new[name] = W
    heads = [l.head for l in sim.layers]
    heads[layer] = h.replace(**new)
    return with_heads(sim, tuple(heads))


# --- differential --------------------------------------------------------------------------------------
def random_edit(sim, rng):
    lay = sim.layout
    what = str(rng.choice(["head", "head", "head", "temperature", "query", "start", "hashing"]))
    if what == "query":
        Q = sim.codes.queries.copy()
        i, j = rng.integers(Q.shape[0]), rng.integers(Q.shape[1])
        Q[i, j] += float(rng.choice([1.0, -1.0, 0.5, 1e-7]))
        return dataclasses.replace(sim, codes=dataclasses.replace(sim.codes, queries=Q))
    if what == "start":
        st = sim.start_row.copy()
        sl = lay["kcode"].sl if rng.random() < 0.5 else lay["send"].sl
        st[rng.integers(sl.start, sl.stop)] += float(rng.choice([1.0, -0.25, 0.5]))
        return dataclasses.replace(sim, start_row=st)
    if what == "hashing":                                              # the maps hash with it too
        A = sim.hashing.A.copy()
        i, j = rng.integers(A.shape[0]), rng.integers(A.shape[1])
        A[i, j] = 1 - A[i, j]
        return with_hashing(sim, dataclasses.replace(sim.hashing, A=A))
    layer = int(rng.integers(len(sim.layers)))
    if what == "temperature":
        t = sim.layers[layer].head.temperature * float(rng.choice([0.02, 0.5, 2.0, -1.0]))
        return edit_layer_head(sim, layer, temperature=t)
    name = str(rng.choice(["W_Q", "W_K", "W_V", "W_O"]))
    W = getattr(sim.layers[layer].head, name)
    nz = np.argwhere(W != 0)
    i, j = nz[rng.integers(len(nz))] if rng.random() < 0.6 else (rng.integers(W.shape[0]), rng.integers(W.shape[1]))
    val = float(rng.choice([0.0, W[i, j] + 1e-9, W[i, j] * 0.5, -W[i, j], 1.0, 2.0]))
    return edit_layer_head(sim, layer, **{name: [((i, j), val)]})


@pytest.mark.parametrize("algo,N,attention,n,seed", [("broadcast", 4, "hardmax", 70, 1),
                                                     ("broadcast", 4, "softmax", 30, 2),
                                                     ("sort", 4, "hardmax", 25, 3)])
def test_certificate_holds_implies_every_instance_agrees(algo, N, attention, n, seed):
    base = build(algo, N)
    rng = np.random.default_rng(seed)
    held = 0
    for _ in range(n):
        sim = random_edit(base, rng)
        cert = certify(sim, attention=attention)
        if cert.ok:
            held += 1
            v = exhaustive(sim, algo, N, attention)
            assert v.status is Status.VERIFIED, (cert.reason, v.reason)
    assert n // 5 <= held < n                                          # both outcomes exercised


# --- targeted: one edit per fact ----------------------------------------------------------------------
BASE = build()
LAY = BASE.layout


def _fields_swapped_in_layer(sim, layer):
    h = sim.layers[layer].head
    W_O = h.W_O.copy()
    W_O[2::5], W_O[4::5] = h.W_O[4::5].copy(), h.W_O[2::5].copy()
    heads = [l.head for l in sim.layers]
    heads[layer] = h.replace(W_O=W_O)
    return with_heads(sim, tuple(heads))


def _start_sends():
    st = BASE.start_row.copy()
    st[LAY["send"].start] = 1.0                                        # count 1 in slot 0
    return dataclasses.replace(BASE, start_row=st)


def _hashing(**kw):
    return with_hashing(BASE, dataclasses.replace(BASE.hashing, **kw))


def _colliding_hashing():
    sim = build(hashing="random", slots=6, seed=0)
    A = np.ones_like(sim.hashing.A)                                    # every message in every slot
    return with_hashing(sim, dataclasses.replace(sim.hashing, A=A, b=1))


def _maps_hash_with_another_matrix():
    """The maps hash messages 0 and 1 into one slot; ``sim.hashing`` (what the certificate reads)
    is the compiled identity.  Before issue 15 the certificate checked only ``sim.hashing``."""
    A = BASE.hashing.A.copy()
    A[1] = A[0]
    sim = with_hashing(BASE, dataclasses.replace(BASE.hashing, A=A))
    return dataclasses.replace(sim, hashing=BASE.hashing)


def _kcode_over_qcode():
    slots = tuple(dataclasses.replace(s, start=LAY["qcode"].start + 1, stop=LAY["qcode"].start + 1 + s.width)
                  if s.name == "kcode" else s for s in LAY.slots)
    return dataclasses.replace(BASE, layout=Layout(slots))


TARGETED = [
    # (id, simulation, attention, fact that must fail, certify(sim).ok before issue 12)
    ("later-layer-head-broken", _fields_swapped_in_layer(BASE, 1), "hardmax", "arithmetic", True),
    ("start-row-sends", _start_sends(), "hardmax", "start", True),
    ("ids-collide", _hashing(s=1), "hardmax", "ids", True),
    ("covering-b-from-metadata", _colliding_hashing(), "hardmax", "covering", True),
    ("non-dyadic-queries", dataclasses.replace(BASE, codes=dataclasses.replace(BASE.codes, queries=BASE.codes.queries / 3)),
     "hardmax", "arithmetic", False),
    ("kcode-overlaps-qcode", _kcode_over_qcode(), "hardmax", "layout", False),
    ("negative-temperature", with_heads(BASE, tuple(l.head.replace(temperature=-l.head.temperature) for l in BASE.layers)),
     "hardmax", "scores", False),
    ("W_O-writes-qcode", edit_layer_head(BASE, 2, W_O=[((0, LAY["qcode"].start), 1.0)]), "hardmax", "structure", True),
    ("cold-softmax", with_heads(BASE, tuple(l.head.replace(temperature=0.05 * l.head.temperature) for l in BASE.layers)),
     "softmax", "arithmetic", False),
    ("maps-hash-with-another-matrix", _maps_hash_with_another_matrix(), "hardmax", "maps", True),
]


@pytest.mark.parametrize("case", TARGETED, ids=[t[0] for t in TARGETED])
def test_each_unproven_fact_fails_the_certificate(case):
    _, sim, attention, fact, _before = case
    cert = certify(sim, attention=attention)
    assert cert.ok is False and fact in cert.reason, cert.reason


@pytest.mark.parametrize("case", [t for t in TARGETED if t[0] in ("later-layer-head-broken", "covering-b-from-metadata",
                                                                   "maps-hash-with-another-matrix")],
                         ids=lambda t: t[0])
def test_the_old_certificate_was_wrong_there(case):
    """certify(sim) said ok (layer 0 only; b from hashing.b) while an instance is routed wrongly."""
    _, sim, attention, _, _ = case
    assert exhaustive(sim, attention=attention).status is Status.REFUTED


def test_fixed_point_is_not_certified():
    cert = certify(BASE, fmt=parse_format("fixed:20.12"))
    assert cert.ok is False and "arithmetic" in cert.reason


def test_labels_do_not_decide():
    """codes.margin, codes.sender_score, hashing.kind and hashing.b are labels: changing them
    changes nothing (codes.kind is not a label: it selects the key function the maps call)."""
    relabelled = dataclasses.replace(BASE, codes=dataclasses.replace(BASE.codes, margin=1e3, sender_score=7.0),
                                     hashing=dataclasses.replace(BASE.hashing, kind="paper", b=1))
    assert certify(relabelled).ok is True and certify(BASE).ok is True


def test_untouched_simulations_are_certified_and_verified():
    for algo, N, s in (("broadcast", 4, 2), ("sort", 4, 2), ("components", 4, None), ("cycles", 6, None)):
        sim = build(algo, N, s)
        for attention in ("hardmax", "softmax"):
            assert certify(sim, attention=attention).ok is True, (algo, attention)
    v = exhaustive(build("cycles", 6, None), "cycles", 6)
    assert v.status is Status.VERIFIED and v.method is Method.EXHAUSTIVE


def test_every_layer_runs_its_own_head():
    sim = _fields_swapped_in_layer(BASE, 2)
    res = check_simulation(sim, get_algo("broadcast"), 4, mode="sample", samples=3)
    assert res.verdict.status is Status.REFUTED and res.verdict.counterexample.explanation["layer"] == 2


def test_broadcast_truth_uses_the_protocols_memory():
    """q = max(N, s) machines: N = 3, s = 2 has 3 outputs (was refuted against max(N, 4) = 4)."""
    v = side_by_side(get_algo("broadcast"), 3, s=2).verdict
    assert v.status is Status.VERIFIED, v.reason
