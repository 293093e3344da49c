"""The proof checker (issue 19): accepts every certificate VERIFIED of the main kinds, rejects edited
proofs and tampered weights, and never accepts where exhaustive enumeration refutes."""
from __future__ import annotations

import ast
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from attncheck.constructions.io import to_arrays
from attncheck.constructions.verdict import Status
from attncheck.verifiers import proofcheck as pc
from attncheck.verifiers.certificate import certify
from attncheck.verifiers.exhaustive import check_exhaustive

from proofutil import FAMILIES, clone, edit, induction8, proved, roundtrip  # noqa: F401

ALLOWED = {"attncheck.constructions.precision", "attncheck.constructions.exchange"}   # the format; the loader


def test_the_checker_imports_no_certificate_code():
    """The trusted base: numpy, the standard library, the number format's parser and the loader."""
    tree = ast.parse(Path(pc.__file__).read_text())
    mods = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            mods.add(node.module)
    ours = {m for m in mods if m.startswith("attncheck")}
    assert ours <= ALLOWED, ours
    assert all(m.split(".")[0] in {"numpy", "attncheck", "__future__", "gzip", "hashlib", "json", "re",
                                   "fractions"} for m in mods), mods


@pytest.mark.parametrize("name", list(FAMILIES))
@pytest.mark.parametrize("attention", ["softmax", "hardmax"])
def test_every_certificate_verified_passes(name, attention):
    build, task, params = FAMILIES[name]
    c = build()
    p = proved(c, task, params, attention)
    assert pc.check(roundtrip(p), c).startswith("accepted")


def _reject(p, c, *words):
    with pytest.raises(pc.Reject) as e:
        pc.check(p, c)
    for w in words:
        assert w in str(e.value), str(e.value)
    return str(e.value)


def _state(p, where):
    return next(s for s in p["states"] if s["after"] == where)


def test_one_number_changed_is_rejected(induction8):
    c, p = induction8
    q = clone(p)                                    # a written slot's radius: claimed smaller than proved
    _state(q, "layer 2")["slots"]["out"]["radius"][0] = "0/1"
    _reject(q, c, "layer 2 slot out", "radius")
    q = clone(p)                                    # an embedding radius: measured from the weights
    _state(q, "embedding")["slots"]["tok"]["radius"] = ["0/1"] * 2
    _reject(q, c, "embedding slot tok")             # the stored codes are 2^-54 off the codebook
    q = clone(p)
    _state(q, "layer 1")["heads"][0]["gap"] = str(Fraction(_state(q, "layer 1")["heads"][0]["gap"]) * 1000)
    _reject(q, c, "layer 1 head 1", "gap")
    q = clone(p)
    _state(q, "layer 2")["heads"][0]["leak"] = "0/1"
    _reject(q, c, "layer 2 head 1", "leakage")
    q = clone(p)
    q["decoder"]["margin"] = str(Fraction(q["decoder"]["margin"]) * 1000)
    _reject(q, c, "decoder", "margin")
    q = clone(p)
    _state(q, "layer 1")["heads"][0]["gap"] = "-1/2"
    _reject(q, c, "gap")


def test_true_but_insufficient_claims_are_rejected(induction8):
    """A radius far above the truth is a true claim, but the decoder margin cannot close."""
    c, p = induction8
    q = clone(p)
    _state(q, "layer 2")["slots"]["out"]["radius"] = ["1/1", "1/1"]
    _reject(q, c, "decoder")


def test_index_set_shrunk_or_claim_deleted_is_rejected(induction8):
    c, p = induction8
    q = clone(p)
    runs = _state(q, "layer 1")["slots"]["prev"]["rows"]["runs"]
    last = runs[-1]
    last[2] = last[2][:-1]                          # one row fewer at the last positions
    _reject(q, c, "layer 1 slot prev", "row set misses")
    q = clone(p)
    _state(q, "embedding")["slots"]["pos"]["rows"]["single"][3] = 2
    _reject(q, c, "embedding slot pos position 3")
    q = clone(p)
    del _state(q, "layer 2")["heads"][0]
    _reject(q, c, "layer 2")
    q = clone(p)
    del _state(q, "layer 1")["slots"]["prev"]
    _reject(q, c, "layer 1")
    q = clone(p)
    del q["states"][-1]
    _reject(q, c, "layer 2")
    q = clone(p)
    _state(q, "layer 2")["slots"]["out"]["label"] = "X[find^2(i)]"
    _reject(q, c, "label")
    q = clone(p)
    q["task"] = "hop"
    with pytest.raises(pc.Reject):
        pc.check(q, c)


def test_malformed_proofs_are_malformed(induction8):
    c, p = induction8
    q = clone(p)
    _state(q, "layer 2")["slots"]["out"]["radius"] = ["abc", "1/0"]
    with pytest.raises(pc.Malformed):
        pc.check(q, c)
    q = clone(p)
    del q["decoder"]
    with pytest.raises(pc.Malformed):
        pc.check(q, c)


def test_tampered_weights_are_rejected(induction8):
    c, p = induction8
    bad = edit(c, lambda a: a["L1H0/W_O"].__setitem__((0, 11), a["L1H0/W_O"][0, 11] + 0.5))
    _reject(clone(p), bad, "SHA-256")                   # the digest in the proof is the old one
    q = clone(p)
    q["weights_sha256"] = pc.weights_digest(bad)         # the digest updated: the numbers still decide
    _reject(q, bad, "layer 2")
    tiny = edit(c, lambda a: a["L0H0/W_O"].__setitem__((0, 10), 1e-300))
    q = clone(p)
    q["weights_sha256"] = pc.weights_digest(tiny)
    assert pc.check(q, tiny)                            # an edit the claims cover is still proved


def test_exact_format_is_not_supported(induction8):
    c, p = induction8
    q = clone(p)
    q["number_format"] = "exact"
    _reject(q, c, "not supported by the checker")


def _single_edits(c, rng, n):
    keys = sorted(k for k in to_arrays(c) if k != "meta" and not k.startswith("codebook"))
    for _ in range(n):
        k = keys[rng.integers(len(keys))]

        def fn(a, k=k, r=rng.random(), s=rng.choice([-1.0, 1.0]) * rng.choice([0.01, 0.1, 0.5, 3.0])):
            idx = tuple(int(r * d) % d for d in a[k].shape)
            a[k][idx] += s
        yield k, fn


@pytest.mark.parametrize("attention", ["softmax", "hardmax"])
@pytest.mark.parametrize("family", ["induction N=5", "hop k=2 N=6"])
def test_accepted_implies_exhaustive_verified(attention, family):
    """Cross-check: the unedited proof against seeded single-entry edits of the weights (digest
    updated), and each edited model's own proof; every acceptance is confirmed by enumerating
    every input through the emulator."""
    from attncheck.constructions.hop import build_hop
    from attncheck.constructions.induction import build_induction
    c, task, params = (build_induction(5, 3), "induction", {}) if family.startswith("induction") else \
        (build_hop(6, 2, 3), "hop", {"k": 2})
    p = proved(c, task, params, attention)
    rng = np.random.default_rng(19)
    accepted = rejected = 0
    for what, fn in _single_edits(c, rng, 40):
        m = edit(c, fn)
        tries = [dict(p, weights_sha256=pc.weights_digest(m))]
        v = certify(m, task, params, m.fmt, attention)
        if v.status is Status.VERIFIED:
            tries.append(proved(m, task, params, attention))
        for q in tries:
            try:
                pc.check(roundtrip(q), m)
            except pc.Reject:
                rejected += 1
                continue
            accepted += 1
            ex = check_exhaustive(m, task, params, m.fmt, attention)
            assert ex.status is Status.VERIFIED, (what, ex.reason)
    assert accepted and rejected                         # neither side is vacuous


def test_labels_the_numbers_contradict_are_rejected(induction8):
    c, p = induction8
    q = clone(p)
    emb = _state(q, "embedding")["slots"]
    emb["pos"]["label"], emb["pos_prev"]["label"] = emb["pos_prev"]["label"], emb["pos"]["label"]
    _reject(q, c, "embedding")
    q = clone(p)
    emb = _state(q, "embedding")["slots"]
    emb["one"]["label"], emb["one"]["rows"] = "pos[i]", emb["pos"]["rows"]
    with pytest.raises((pc.Reject, pc.Malformed)):
        pc.check(q, c)


def _exchange_case():
    from attncheck.constructions.exchange import from_construction, to_construction
    from attncheck.constructions.induction import build_induction
    from attncheck.verifiers.proof_emit import build_proof
    from attncheck.constructions.exchange import hypotheses_construction
    m = from_construction(build_induction(8, 3))
    c = to_construction(m)
    ch = hypotheses_construction(m, c)
    record = {}
    assert certify(ch, "induction", {}, ch.fmt, "softmax", record=record).status is Status.VERIFIED
    return m, c, build_proof(ch, "induction", {}, ch.fmt, "softmax", record, digest_of=c)


def test_exchange_premises_are_re_derived():
    """Edits of an export that break one premise each: rejected naming it (digest updated)."""
    import dataclasses
    from attncheck.constructions.exchange import to_construction
    m, c, p = _exchange_case()
    assert pc.check(roundtrip(p), c, exchange=m).startswith("accepted")

    def blocks(l, **kw):
        bs = list(m.blocks)
        bs[l] = dataclasses.replace(bs[l], **kw)
        return dataclasses.replace(m, blocks=tuple(bs))

    b0 = m.blocks[0]
    WQ = b0.W_Q.copy()
    WQ[1, 0, 0] += 1.0                                      # keeper head 2 of layer 1 reads a coordinate
    bU = m.b_U.copy()
    bU[m.symbols[0]] += 1.5                                 # a read-out offset larger than the margin
    WO = b0.W_O.copy()
    WO[0, :, 13] += 0.5                                     # layer 1 head 1 writes the flag coordinate
    edits = {"b_O": blocks(0, b_O=b0.b_O + 0.25), "keeper": blocks(0, W_Q=WQ),
             "read-out": dataclasses.replace(m, b_U=bU), "flag": blocks(0, W_O=WO)}
    for what, e in edits.items():
        ce = to_construction(e)
        q = dict(p, weights_sha256=pc.weights_digest(ce))
        with pytest.raises(pc.Reject) as r:
            pc.check(roundtrip(q), ce, exchange=e)
        assert "exchange premise" in str(r.value) or "read-out" in str(r.value), (what, str(r.value))


@pytest.mark.slow
def test_honest_proofs_of_many_kinds_are_accepted():
    """Encodings, alphabets, hop variants, both attentions, declared and a wide format: every
    certificate VERIFIED's proof passes (the headroom of proof_emit covers the checker's bounds)."""
    import itertools
    from attncheck.constructions.hop import build_hop
    from attncheck.constructions.induction import build_induction
    from attncheck.constructions.precision import parse_format
    from attncheck.verifiers.proof_emit import prove
    cases = [(build_induction(N, a, encoding=e), "induction", {})
             for N, a, e in itertools.product([16, 64], [2, 8], ["sinusoidal", "random", "onehot"])]
    cases += [(build_hop(N, k, 3, residual=r), "hop", {"k": k})
              for N, k, r in itertools.product([16, 64], [1, 3], ["overwrite", "additive"])]
    n = 0
    for c, task, params in cases:
        for att, fmt in itertools.product(["softmax", "hardmax"], [c.fmt, parse_format("fixed:24.30")]):
            v, p = prove(c, task, params, fmt, att)
            if p is not None:
                n += 1
                assert pc.check(roundtrip(p), c).startswith("accepted")
    assert n >= 40
