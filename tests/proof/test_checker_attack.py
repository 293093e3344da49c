"""Attacks on the proof checker's fast paths (issue 19): its integer helpers against Python-int and
Fraction references on adversarial inputs, its lookUp and lastOccurrence bounds against exact
brute force on point boxes, and hand-edited weights and proofs that must never be accepted when
enumerating every input refutes the model."""
from __future__ import annotations

import itertools
import json
import random
from fractions import Fraction

import numpy as np
import pytest

from attncheck.constructions.gridmath import exp_ints
from attncheck.constructions.hop import build_hop
from attncheck.constructions.induction import build_induction
from attncheck.constructions.precision import parse_format
from attncheck.constructions.verdict import Status
from attncheck.verifiers import proofcheck as pc
from attncheck.verifiers.exhaustive import check_exhaustive

from proofutil import edit, proved, roundtrip


def _accepts(p, m) -> bool:
    try:
        pc.check(roundtrip(p), m)
    except pc.Reject:
        return False
    return True


def _slot(c, name):
    return next(s for s in c.layout.slots if s.name == name)


# --- lookUp with a query blind to its pointer ----------------------------------------------------
def test_lookup_blind_query_is_checked_at_every_position():
    """A layer-1 query that reads only the constant slot has the same box at every position while
    its pointer pos[i-1] moves: checking only the last position (whose pointer N-1 the query
    aims at) accepted a model that attends to the wrong key at every earlier position (before the
    fix: 'accepted', enumeration: 231 of 243 inputs wrong)."""
    N, att = 5, "hardmax"
    c = build_induction(N, 3)
    p = proved(c, "induction", {}, att)
    K = c.pos_embed @ c.layers[0].heads[0].W_K                  # keys (pos slot), one per position

    def aim(a):
        W = np.zeros_like(a["L0H0/W_Q"])
        W[_slot(c, "one").start] = K[N - 1]                       # q = the key of position T-2
        a["L0H0/W_Q"] = W
    m = edit(c, aim)
    q = dict(p, weights_sha256=pc.weights_digest(m))
    q = roundtrip(q)
    for s in q["states"]:
        for h in s.get("heads") or []:
            h["gap"] = "1/1000000"
    assert check_exhaustive(m, "induction", {}, m.fmt, att).status is Status.REFUTED
    with pytest.raises(pc.Reject, match="layer 1 head 1 position"):
        pc.check(q, m)


# --- the integer helpers against Python ints ------------------------------------------------------
def _ref_mantissa(x: float):
    f = Fraction(x)
    if f == 0:
        return 0, 0
    n, e = f.numerator, f.denominator.bit_length() - 1
    while n % 2 == 0:
        n, e = n // 2, e - 1
    return n, e


def test_mantissas_read_every_float_exactly():
    rng = random.Random(19)
    xs = [0.0, -0.0, 1.0, -1.0, 0.5, 3.0, 2.0 ** 60, -2.0 ** 62, 2.0 ** 63, 1e300, -1e-300, 5e-324,
          2.2250738585072014e-308, 1 / 3, -0.1, float(2 ** 53 - 1), -float(2 ** 53 + 2)]
    xs += [rng.choice([-1, 1]) * rng.random() * 2.0 ** rng.randint(-1074, 1000) for _ in range(2000)]
    xs += [float(rng.randint(-2 ** 53, 2 ** 53)) * 2.0 ** rng.randint(-80, 80) for _ in range(2000)]
    M, e = pc.mantissas(np.array(xs))
    assert [(int(m), int(f)) for m, f in zip(M, e)] == [_ref_mantissa(x) for x in xs]


@pytest.mark.parametrize("s", [0, 1, 2, 3, 30, 59, 60, 61, 62, 63, 64, 100])
def test_round_sum_is_half_even_of_the_sum_when_broadcast(s):
    """Token + position (and position part + row part) are broadcast sums: ties (low parts that
    sum to exactly half, or to 2^s), negative parts and high parts near 2^61."""
    rng = random.Random(s)
    for _ in range(25):
        hb = rng.choice([2, 20, 59, 60])
        half, full = 1 << max(s - 1, 0), 1 << s

        def one():
            h = rng.randint(-(1 << hb), 1 << hb) << s
            c = rng.random()
            return h + (rng.choice([0, 1, half - 1, half, half + 1, full - 1]) if c < 0.5 else rng.randrange(full))
        A = [one() for _ in range(rng.randint(3, 6))]
        B = [(rng.randint(-(1 << hb), 1 << hb) << s) + rng.choice([(full - x % full) % full, (half - x % full) % full,
                                                                  rng.randrange(full)]) for x in A]
        got = pc.round_sum(np.array(A, dtype=object)[:, None], np.array(B, dtype=object)[None, :], s)
        want = [[round(Fraction(a + b, 1 << s)) for b in B] for a in A]
        assert [[int(v) for v in row] for row in got] == want


def test_dot_exact_is_the_floored_product_at_the_int64_edges():
    rng = random.Random(3)
    for _ in range(600):
        k, s = rng.choice([1, 2, 3, 5, 17]), rng.choice([0, 1, 2, 10, 30, 60, 61, 62, 70, 100])
        ba, bb = rng.choice([1, 20, 28, 31, 40, 58, 61, 62]), rng.choice([1, 20, 28, 31, 40, 58, 61, 62])

        def ent(bits):
            if rng.random() < 0.3:
                return rng.choice([(1 << bits) - 1, -(1 << bits) + 1, -(1 << bits), 0, -1, 1])
            return rng.randint(-(1 << bits), 1 << bits)
        a = np.array([[ent(ba) for _ in range(k)] for _ in range(rng.randint(1, 4))], dtype=object)
        b = np.array([[ent(bb) for _ in range(k)] for _ in range(rng.randint(1, 4))], dtype=object)
        want = [[sum(int(x) * int(y) for x, y in zip(u, v)) >> s for v in b] for u in a]
        for x, y in ((a, b), (a.astype(np.int64) if ba < 63 else a, b.astype(np.int64) if bb < 63 else b)):
            assert [[int(v) for v in row] for row in pc.dot_exact(x, y, s)] == want


def test_raw_scores_bound_every_product_of_the_boxes():
    """``lo 2^-z <= q . k <= hi 2^-z`` at the exact extremes (per coordinate, a corner), with the
    shift s > 0 forced by magnitudes up to 2^60."""
    rng = random.Random(4)
    for _ in range(400):
        k, bits = rng.choice([1, 2, 3, 6]), rng.choice([2, 20, 29, 31, 40, 55, 60])
        n, m = rng.randint(1, 4), rng.randint(1, 4)

        def box(cnt):
            lo = np.array([[rng.randint(-(1 << bits), 1 << bits) for _ in range(k)] for _ in range(cnt)], dtype=object)
            w = np.array([[rng.choice([0, 1, rng.randint(0, 1 << rng.randint(0, bits))]) for _ in range(k)]
                          for _ in range(cnt)], dtype=object)
            return lo.astype(np.int64), (lo + w).astype(np.int64)
        (ql, qh), (kl, kh) = box(n), box(m)
        lo, hi, z = pc.raw_scores(ql, qh, kl, kh)
        for i in range(n):
            for j in range(m):
                ext = [[int(a) * int(b) for a in (ql[i, d], qh[i, d]) for b in (kl[j, d], kh[j, d])] for d in range(k)]
                assert Fraction(int(lo[i, j])) / Fraction(2) ** z <= sum(min(e) for e in ext)
                assert sum(max(e) for e in ext) <= Fraction(int(hi[i, j])) / Fraction(2) ** z


class _Stub(pc.Checker):
    """A checker with only the grid's numbers (for the score and exponential helpers)."""

    def __init__(self, T: int, F: int, bits: int, att: str = "softmax"):
        self.T, self.F, self.att, self._E = T, F, att, None
        self.lo_i, self.hi_i = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        self.floor, self.fmt, self.tick = self.lo_i - 1, f"fixed:{bits - F}.{F}", lambda: None


def _stored(raw: int, cq: int, F2: int) -> int:
    return int(pc.rhe(raw * cq, F2))


def _exp(d: int, F: int) -> int:
    return int(exp_ints(np.array([d], dtype=object), F)[0])


def test_dist_lower_and_the_zero_cut_bound_the_stored_distance():
    rng = random.Random(5)
    for _ in range(500):
        F, z = rng.choice([2, 4, 7, 8, 12, 20, 30, 31]), rng.choice([2, 1, 0, -3, -20])
        if 2 * F + z < 0:
            continue
        ch, F2 = _Stub(2, F, 62), 2 * F + z
        cq = rng.choice([1, 3, rng.randint(1, 1 << F), rng.randint(1, 1 << (F + 10)), rng.randint(1, 1 << 60)])
        cap = ch.zero_beyond(cq, z)
        pairs = []
        for _ in range(8):
            lim = min(rng.choice([cap // 2 + 1, cap, 4 * cap, 1 << 40, 1 << 61, 10]), (1 << 61) - 1)
            a, d = rng.randint(-(1 << 40), 1 << 40), rng.randint(1, max(1, lim))
            pairs.append((a, a - d))
        for dt in (np.int64, object):
            dl = ch.dist_lower(np.array([a - b for a, b in pairs], dtype=dt), cq, z)
            for (a, b), lo in zip(pairs, dl):
                true = _stored(a, cq, F2) - _stored(b, cq, F2)
                assert int(lo) <= true
                if a - b >= cap:                                   # beyond the cut: stores as 0
                    assert _exp(true, F) == 0


# --- lookUp and lastOccurrence against exact brute force on small boxes ------------------------------
def _grid(rng):
    F = rng.choice([2, 4, 8, 10, 16, 20, 30, 31, 40, 59])
    bits = min(62, max(F + 3, rng.choice([F + 4, F + 8, 2 * F + 2, 62])))
    hi = (1 << (bits - 1)) - 1
    mag = min(hi, 1 << rng.choice([2, 4, F // 2 + 1, F, F + 2, bits - 2, (bits - 2) // 2]))
    cq = min(hi, rng.choice([1, 3, 1 << F, rng.randint(1, 1 << F), (1 << F) * rng.randint(1, 64), rng.randint(1, hi)]))
    return F, bits, mag, cq, rng.choice(["softmax", "hardmax"])


def _box(rng, shape, mag, point):
    lo = np.array([rng.randint(-mag, mag) for _ in range(int(np.prod(shape)))], dtype=np.int64).reshape(shape)
    if point:
        return lo, lo.copy()
    w = np.array([rng.choice([0, 0, 1, rng.randint(0, max(1, mag >> 4))]) for _ in range(lo.size)], dtype=np.int64)
    return lo, np.minimum(lo + w.reshape(shape), mag)


def _pick(rng, lo, hi):
    return [rng.choice([int(a), int(b), rng.randint(int(a), int(b))]) for a, b in zip(lo, hi)]


def _score(q, k, cq, F):
    return _stored(sum(int(a) * int(b) for a, b in zip(q, k)), cq, 2 * F)


def _lookup_case(rng):
    F, bits, mag, cq, att = _grid(rng)
    T, k, A = rng.randint(2, 7), rng.randint(1, 3), rng.randint(1, 3)
    point = rng.random() < 0.5
    kl, kh = _box(rng, (T, 1, k), mag, point)
    same = rng.random() < 0.4
    if same:
        a, b = _box(rng, (1, A, k), mag, point)
        ql, qh = np.repeat(a, T, axis=0), np.repeat(b, T, axis=0)
    else:
        ql, qh = _box(rng, (T, A, k), mag, point)
    qrows = np.full((T, A), -1)
    for t in range(1, T):
        for x in range(A):
            sc = [_score(ql[t, x], kl[j, 0], cq, F) for j in range((T - 1 if same else t) + 1)]
            best = int(np.argmax(sc))
            if rng.random() < 0.85 and best <= t:
                qrows[t, x] = best
            elif rng.random() < 0.5:
                qrows[t, x] = rng.randint(0, t)
    if same:                                                        # one pointer per box, every position
        for x in range(A):
            p = qrows[1:, x].max()
            qrows[1:, x] = np.where(np.arange(1, T) >= p, p, -1) if p >= 0 else -1
    krows = np.array([[-1]] + [[t] for t in range(1, T)])
    return _Stub(T, F, bits, att), cq, (ql, qh, qrows), (kl, kh, krows)


def _lookup_exact(ch, cq, Q, K, rng):
    """min stored gap and max leakage sum over sampled points of the boxes, every (t, pointer)."""
    (ql, qh, qrows), (kl, kh, _) = Q, K
    gmin, lmax = None, 0
    for t in range(1, ch.T):
        for x in np.flatnonzero(qrows[t] >= 0):
            p = int(qrows[t, x])
            for _ in range(4):
                q = _pick(rng, ql[t, x], qh[t, x])
                s = [_score(q, _pick(rng, kl[j, 0], kh[j, 0]), cq, ch.F) for j in range(t + 1)]
                comp = [s[j] for j in range(t + 1) if j != p]
                g = s[p] - max(comp)
                gmin = g if gmin is None else min(gmin, g)
                if g > 0:
                    lmax = max(lmax, sum(_exp(s[p] - v, ch.F) for v in comp))
    return gmin, lmax


def _lastocc_case(rng):
    F, bits, mag, cq, att = _grid(rng)
    T, B = rng.randint(2, 5), rng.randint(2, 3)                    # rows: 0 bottom, 1.. symbols
    point = rng.random() < 0.5
    if rng.random() < 0.7:                                          # one-hot codes, perturbed
        big = max(1, mag >> rng.randint(0, 3))

        def eps():
            return rng.randint(0, max(0, big >> rng.choice([3, 6, 40])))
        kl = np.array([[[(big if d == b else 0) - eps() for d in range(B)] for b in range(B)] for _ in range(T)])
        kh = kl if point else kl + np.array([[[eps() for _ in range(B)] for _ in range(B)] for _ in range(T)])
        kl[0, 0] = kh[0, 0] = big // 4
        q1 = np.array([[[(big if d == b else 0) - eps() for d in range(B)] for b in range(B)]])
        ql = qh = np.repeat(q1, T, axis=0)
        kl, kh, ql, qh = (np.clip(x, -mag, mag).astype(np.int64) for x in (kl, kh, ql, qh))
    else:
        k = rng.randint(1, 3)
        kl, kh = _box(rng, (T, B, k), mag, point)
        a, b = _box(rng, (1, B, k), mag, point)
        ql, qh = np.repeat(a, T, axis=0), np.repeat(b, T, axis=0)
    krows = np.full((T, B), -1)
    krows[1, 0] = 0
    krows[2:, 1:] = np.arange(1, B)[None]
    qrows = np.full((T, B), -1)
    qrows[1:, 1:] = np.arange(1, B)[None]
    return _Stub(T, F, bits, att), cq, (ql, qh, qrows), (kl, kh, krows)


def _lastocc_exact(ch, cq, Q, K, rng):
    """Every sequence of key rows, every query row and position: the last match (or the start)."""
    (ql, qh, qrows), (kl, kh, krows) = Q, K
    T, F = ch.T, ch.F
    gmin, lmax = None, 0
    for seq in itertools.product(*[[int(b) for b in np.flatnonzero(krows[j] >= 0)] for j in range(1, T)]):
        for a in np.flatnonzero(qrows[1] >= 0):
            for _ in range(2):
                q = _pick(rng, ql[1, a], qh[1, a])
                s = [_score(q, _pick(rng, kl[0, 0], kh[0, 0]), cq, F)] + \
                    [_score(q, _pick(rng, kl[j, seq[j - 1]], kh[j, seq[j - 1]]), cq, F) for j in range(1, T)]
                for t in range(1, T):
                    hits = [j for j in range(1, t + 1) if krows[j, seq[j - 1]] == qrows[1, a]]
                    star = hits[-1] if hits else 0
                    comp = [s[j] for j in range(t + 1) if j != star]
                    g = s[star] - max(comp)
                    gmin = g if gmin is None else min(gmin, g)
                    if g > 0:
                        lmax = max(lmax, sum(_exp(s[star] - v, F) for v in comp))
    return gmin, lmax


@pytest.mark.parametrize("kind,cases", [("lookup", 500), ("last_occurrence", 400)])
def test_gap_and_leakage_bound_the_exact_stored_ones(kind, cases):
    """Whenever the checker proves a (gap, leakage), every sampled point of the boxes has a stored
    gap >= it and a stored-exponential sum <= it (and the checker's gap is positive)."""
    rng = random.Random(1 if kind == "lookup" else 2)
    make, exact = (_lookup_case, _lookup_exact) if kind == "lookup" else (_lastocc_case, _lastocc_exact)
    proved_ = 0
    for _ in range(cases):
        ch, cq, Q, K = make(rng)
        try:
            gap, L = getattr(ch, kind)("w", cq, Q, K)
        except pc.Reject:
            continue
        g, leak = exact(ch, cq, Q, K, rng)
        if g is None:
            continue
        proved_ += 1
        assert 0 < gap <= g
        if ch.att == "softmax":
            assert L >= leak
    assert proved_ >= cases // 20                                    # not vacuous


def test_lookup_counts_every_key_when_the_zero_cut_is_out_of_reach():
    """F = 30 and a tiny temperature: both competitors sit at stored distance 6-7 and each leaks
    about 2^30; the candidate filter once kept only the best's neighbourhood (leakage 2^30)."""
    ch = _Stub(3, 30, 33)
    q = np.array([[[900721626, -1170242335, -295129842]]] * 3, dtype=np.int64)
    kl = np.array([[[1233123426, -2136604013, 318060733]], [[-1371537791, -1921653168, -384208859]],
                   [[-1228003437, -1392480941, -573644973]]], dtype=np.int64)
    qrows = np.array([[-1], [-1], [0]])
    krows = np.array([[-1], [1], [2]])
    gap, L = ch.lookup("w", 3, (q, q, qrows), (kl, kl, krows))
    s = [_score(q[2, 0], kl[j, 0], 3, 30) for j in range(3)]
    exact = sum(_exp(s[0] - s[j], 30) for j in (1, 2))
    assert gap <= s[0] - max(s[1:]) and L >= exact > 1 << 30


# --- hand-edited weights at the edge of acceptance ------------------------------------------------
def _tight(monkeypatch):
    """The checker with every radius claim replaced by its own bound (the tightest proof it could
    accept): carried on, so acceptance is decided by the checker's derivations alone."""
    def carry(self, st, want, where):
        for name, (lab, sets, rad) in list(st.items()):
            st[name] = (lab, sets, list(want[name]))
    monkeypatch.setattr(pc.Checker, "check_radii", carry)


def _temperature(li: int, factor: float):
    def fn(a):
        meta = json.loads(str(a["meta"]))
        meta["layers"][li]["heads"][0]["temperature"] *= factor
        a["meta"] = np.array(json.dumps(meta))
    return fn


def _entry(k, idx, delta):
    def fn(a):
        a[k][idx] += delta
    return fn


def _edge_hunt(c, task, params, fmt, att, directions):
    """For each direction, the largest edit (log grid, then bisection) the checker still accepts
    with the unedited model's proof (digest updated); every such model must enumerate VERIFIED.
    Returns the number of edge models enumerated."""
    from attncheck.verifiers.proof_emit import prove
    f = parse_format(fmt) if fmt else c.fmt
    _, p = prove(c, task, params, f, att)
    assert p is not None
    p = roundtrip(p)
    n = 0
    for what, make in directions:
        ok, bad = None, None
        for mag in [2.0 ** e for e in range(-10, 5, 2)]:
            if _accepts(dict(p, weights_sha256=pc.weights_digest(m := edit(c, make(mag)))), m):
                ok = mag
            else:
                bad = mag
                break
        if ok is None:
            continue
        if bad is not None:
            for _ in range(8):
                mid = (ok + bad) / 2
                m = edit(c, make(mid))
                ok, bad = (mid, bad) if _accepts(dict(p, weights_sha256=pc.weights_digest(m)), m) else (ok, mid)
        m = edit(c, make(ok))
        v = check_exhaustive(m, task, params, f, att)
        assert v.status is Status.VERIFIED, (what, ok, fmt, att, v.reason)
        n += 1
    return n


def _directions(c, rng, n):
    from attncheck.constructions.io import to_arrays
    arrays = to_arrays(c)
    keys = sorted(k for k in arrays if k != "meta" and not k.startswith("codebook"))
    out = []
    for _ in range(n):
        s = float(rng.choice([-1, 1]))
        if rng.random() < 0.2:
            li = int(rng.integers(len(c.layers)))
            out.append((f"temperature {li} {s}", lambda mag, li=li, s=s: _temperature(li, 2.0 ** (s * mag))))
        else:
            k = keys[rng.integers(len(keys))]
            idx = tuple(int(rng.integers(d)) for d in arrays[k].shape)
            out.append((f"{k}{idx} {s}", lambda mag, k=k, idx=idx, s=s: _entry(k, idx, s * mag)))
    return out


EDGE = {
    "induction N=5": (lambda: build_induction(5, 3), "induction", {}),
    "hop k=2 N=6": (lambda: build_hop(6, 2, 2), "hop", {"k": 2}),
}


@pytest.mark.parametrize("fmt", [None, "fixed:30.30"])
@pytest.mark.parametrize("att", ["softmax", "hardmax"])
@pytest.mark.parametrize("family", list(EDGE))
def test_edge_of_acceptance_is_verified(monkeypatch, family, att, fmt):
    _tight(monkeypatch)
    build, task, params = EDGE[family]
    c = build()
    rng = np.random.default_rng(len(family) + len(att) + len(fmt or ""))
    assert _edge_hunt(c, task, params, fmt, att, _directions(c, rng, 2)) >= 1


@pytest.mark.slow
@pytest.mark.parametrize("fmt", [None, "fixed:24.30", "fixed:30.30", "fixed:3.59"])
@pytest.mark.parametrize("att", ["softmax", "hardmax"])
def test_edge_of_acceptance_many_families(monkeypatch, att, fmt):
    _tight(monkeypatch)
    fams = [(lambda: build_induction(6, 2, encoding="random"), "induction", {}),
            (lambda: build_induction(5, 3, encoding="onehot"), "induction", {}),
            (lambda: build_induction(4, 2), "induction", {}),
            (lambda: build_hop(5, 1, 3), "hop", {"k": 1}),
            (lambda: build_hop(6, 3, 2, residual="additive"), "hop", {"k": 3})]
    rng = np.random.default_rng(7)
    from attncheck.verifiers.proof_emit import prove
    for build, task, params in fams:
        c = build()
        f = parse_format(fmt) if fmt else c.fmt
        if prove(c, task, params, f, att)[1] is None:
            continue
        _edge_hunt(c, task, params, fmt, att, _directions(c, rng, 4))


# --- the checker's gap and leakage against the emulator's own stored scores ----------------------------
def _emulated_heads(c, fmt, att):
    """Per layer of an induction model (one head each: lookUp of pos[i-1], then lastOccurrence):
    the least stored score gap of the label's target over every input and position, and the
    largest stored-exponential sum of the others (the emulator's integers)."""
    from attncheck.verifiers import emulator as em
    from attncheck.verifiers.gridpass import Grid
    g = Grid(fmt)
    toks = np.array(list(itertools.product(range(c.alphabet), repeat=c.n)))
    tr = em.forward_grid(c, g, em.embed_grid(c, g, toks), att, keep=True)
    out = []
    for li, layer in enumerate(c.layers):
        ph = g.head(layer.heads[0])
        X = tr.grid[li]
        s = np.asarray(g.scores(g.project(X, ph.W_Q, "query"), g.project(X, ph.W_K, "key"), ph.temperature))
        gmin, lmax = None, 0
        for b, seq in enumerate(toks):
            xs = [None] + [int(x) for x in seq]
            for t in range(1, c.n + 1):
                hits = [j for j in range(2, t + 1) if xs[j - 1] == xs[t]]
                p = t - 1 if li == 0 else (hits[-1] if hits else 0)
                row = [int(v) for v in s[b, t, :t + 1]]
                comp = [row[j] for j in range(t + 1) if j != p]
                gmin = min(row[p] - max(comp), gmin if gmin is not None else row[p])
                if att == "softmax":
                    lmax = max(lmax, sum(_exp(row[p] - v, fmt.frac_bits) for v in comp))
        out.append((gmin, lmax))
    return out


@pytest.mark.parametrize("fmt", [None, "fixed:30.30"])
@pytest.mark.parametrize("att", ["softmax", "hardmax"])
def test_proved_gap_and_leakage_cover_the_emulator(monkeypatch, fmt, att):
    """Induction N = 5, |Sigma| = 3 and two edited copies: whenever the (tight) checker accepts,
    each head's proved gap is <= the least stored gap the emulator shows over all 243 inputs, and
    its leakage >= the largest stored-exponential sum."""
    from attncheck.verifiers.proof_emit import prove
    _tight(monkeypatch)
    got = []
    for name in ("lookup", "last_occurrence"):
        orig = getattr(pc.Checker, name)

        def wrapped(self, *a, orig=orig):
            got.append(orig(self, *a))
            return got[-1]
        monkeypatch.setattr(pc.Checker, name, wrapped)
    c = build_induction(5, 3)
    f = parse_format(fmt) if fmt else c.fmt
    p = roundtrip(prove(c, "induction", {}, f, att)[1])
    compared = 0
    for m in (c, edit(c, _entry("L1H0/W_K", (9, 0), 2.0 ** -6)), edit(c, _temperature(1, 0.7))):
        got.clear()
        if not _accepts(dict(p, weights_sha256=pc.weights_digest(m)), m):
            continue
        for (gap, L), (g, leak) in zip(got, _emulated_heads(m, f, att)):
            assert 0 < gap <= g
            assert att == "hardmax" or L >= leak
        compared += 1
    assert compared >= 2
