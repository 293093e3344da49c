"""The k-hop head (sht24a.thm4_2): certificate vs exhaustive, broken variants, mechanism, sizes."""
import itertools

import numpy as np
import pytest

from attncheck.constructions import pointer_programs as pp
from attncheck.constructions import tasks
from attncheck.constructions.hop import build_hop
from attncheck.verifiers.certificate import certify
from attncheck.verifiers.emulator import BOT_CODE, forward
from attncheck.verifiers.exhaustive import check_exhaustive
from attncheck.verifiers.mechanism import check_mechanism
from attncheck.constructions.precision import EXACT
from attncheck.constructions.verdict import BadInput, Status

# |Sigma|^N small enough that every k = 1..8 enumerates in well under a second
GRID = [(2, 7), (3, 5)]


def hop_params(k):
    return {"k": k}


def same_task(V, N, a, b):
    """hop_a and hop_b agree on every input of Sigma^N (plain Python, independent of the model)."""
    return all(tasks.hop(x, a) == tasks.hop(x, b) for x in itertools.product(range(V), repeat=N))


def assert_replays(c, v, k):
    """A REFUTED verdict's counterexample reproduces through the emulator and differs from truth."""
    ce = v.counterexample
    out = forward(c, [list(ce.tokens)], c.fmt).outputs[0, ce.position - 1]
    got = None if out == BOT_CODE else int(out)
    assert got == ce.got != tasks.hop(list(ce.tokens), k)[ce.position - 1] == ce.expected


@pytest.mark.parametrize("V,N,k", [(V, N, k) for V, N in GRID for k in range(1, 9) if k <= N])
def test_certificate_and_exhaustive_agree(V, N, k):
    c = build_hop(N, k, V)
    assert c.n_layers == 2 + (k - 1).bit_length() and c.max_heads == 1
    ex = check_exhaustive(c, "hop", hop_params(k), c.fmt)
    ce = certify(c, "hop", hop_params(k), c.fmt)
    assert ex.status is Status.VERIFIED and ex.cases == V ** N, ex.reason
    assert ce.status is Status.VERIFIED, ce.reason


@pytest.mark.slow
@pytest.mark.parametrize("residual", ["overwrite", "additive"])
@pytest.mark.parametrize("V,N", [(2, 12), (3, 8)])
@pytest.mark.parametrize("k", range(1, 9))
def test_agree_larger_both_residuals_both_attentions(residual, V, N, k):
    c = build_hop(N, k, V, residual=residual)
    for fmt, att in ((c.fmt, "softmax"), (EXACT, "hardmax")):
        assert check_exhaustive(c, "hop", hop_params(k), fmt, att).status is Status.VERIFIED
        assert certify(c, "hop", hop_params(k), fmt, att).status is Status.VERIFIED


def broken_variants(k, N, V):
    """(name, construction, the hop count it really computes or None for broken codes)."""
    s = pp.corrected_schedule(k)
    out = [("printed recursion", build_hop(N, k, V, variant="paper", paper_part="recursion"),
            pp.printed_schedule(k).offset),
           ("paper D.1/D.2 codes", build_hop(N, k, V, variant="paper", paper_part="embedding"), None)]
    if s.extend:
        t = pp.truncated_schedule(s)
        out.append(("one layer too few", build_hop(N, k, V, schedule=t), t.offset))
    for layer in range(2, s.layers + 1):
        f = pp.flip_bit(s, layer)
        out.append((f"wrong bit at layer {layer}", build_hop(N, k, V, schedule=f, residual="additive"), f.offset))
    return out


@pytest.mark.parametrize("k", [2, 3, 5, 6])
def test_broken_variants_never_certified_and_refuted_when_distinguishable(k):
    V, N = 2, 8
    for name, c, computes in broken_variants(k, N, V):
        cert = certify(c, "hop", hop_params(k), c.fmt)
        assert cert.status is not Status.VERIFIED, name
        ex = check_exhaustive(c, "hop", hop_params(k), c.fmt)
        if computes is not None and computes != k and same_task(V, N, computes, k):
            assert ex.status is Status.VERIFIED, name            # indistinguishable at this N
            continue
        assert ex.status is Status.REFUTED, (name, ex.reason)
        assert_replays(c, ex, k)


def test_printed_recursion_at_powers_of_two_is_refuted_but_the_depth_is_enough():
    for k in (2, 4, 8):
        printed = build_hop(10, k, 2, variant="paper", paper_part="recursion")
        ours = build_hop(10, k, 2)
        assert printed.n_layers == ours.n_layers == pp.paper_depth(k)     # same depth ...
        ex = check_exhaustive(printed, "hop", hop_params(k), printed.fmt)
        assert ex.status is Status.REFUTED                                 # ... wrong recursion
        assert_replays(printed, ex, k)
        assert certify(ours, "hop", hop_params(k), ours.fmt).status is Status.VERIFIED


def test_k1_printed_equals_corrected():
    a = build_hop(12, 1, 3, variant="paper", paper_part="recursion")
    assert certify(a, "hop", hop_params(1), a.fmt).status is Status.VERIFIED


@pytest.mark.parametrize("residual", ["overwrite", "additive"])
def test_mechanism_follows_the_schedule(residual):
    c = build_hop(40, 11, 3, residual=residual)
    rep = check_mechanism(c, c.fmt, count=16, seed=3)
    assert rep.ok and rep.inputs == 16
    intended = [h.intended for h in rep.heads]
    assert intended == ["i-1", "find^1(i)"] + [f"find^{2 ** (l - 3)}(i)" for l in range(3, c.n_layers + 1)]
    assert all(h.min_mass > 0.99 and h.alignment > 0.99 for h in rep.heads)


def test_alignment_score_matches_its_definition():
    """App. G.2: <A, B> = ||A o B||_F^2 / (||A||_F ||B||_F), B[i, g(i)] = 1, on one input."""
    c = build_hop(10, 3, 2, variant="paper", paper_part="embedding")
    rep = check_mechanism(c, c.fmt, count=1)
    x = [i % 2 for i in range(10)]                           # the first probe input (a cycle)
    tr = forward(c, [x], c.fmt, keep=True)
    for h in rep.heads:
        A = tr.attention[h.layer - 1][0, 0, 1:]              # (N, T)
        B = np.zeros_like(A)
        for i in range(1, 11):
            t = {"i-1": i - 1}.get(h.intended)
            if t is None:
                hops = int(h.intended.split("^")[1].split("(")[0])
                t = tasks.find(x, i, hops)
            B[i - 1, t] = 1.0
        want = float(((A * B) ** 2).sum() / (np.linalg.norm(A) * np.linalg.norm(B)))
        assert h.alignment == pytest.approx(want, rel=1e-9)


def test_mechanism_stops_when_the_budget_is_spent():
    from attncheck.constructions.budget import Budget
    b = Budget(1e-9)
    rep = check_mechanism(build_hop(16, 3, 3), build_hop(16, 3, 3).fmt, count=8, budget=b)
    assert rep.inputs == 0 and not rep.ok and "budget" in rep.skipped


def test_mechanism_catches_the_paper_codes():
    c = build_hop(12, 3, 3, variant="paper", paper_part="embedding")
    rep = check_mechanism(c, c.fmt, count=16)
    assert not rep.ok and min(h.alignment for h in rep.heads) < 0.9
    miss = next(h for h in rep.heads if not h.ok).first_miss
    tr = forward(c, [miss["input"]], c.fmt, keep=True)
    layer = next(h.layer for h in rep.heads if not h.ok)
    assert int(tr.attention[layer - 1][0, 0, miss["position"]].argmax()) == miss["argmax"] != miss["intended"]


def test_widths_constant_vs_logarithmic():
    over = [build_hop(256, k, 3).width for k in (4, 16, 64, 256)]
    add = [build_hop(256, k, 3, residual="additive").width for k in (4, 16, 64, 256)]
    assert len(set(over)) == 1                                # O(1): jump, out + scratch
    assert add == sorted(add) and add[-1] > add[0]            # O(log k): fresh slots per layer
    assert all(w >= o for w, o in zip(add, over))


def test_large_n_certificate_and_bits_grow_with_log_n():
    fmts = []
    for N in (16, 256):
        c = build_hop(N, 16, 3)
        assert certify(c, "hop", hop_params(16), c.fmt).status is Status.VERIFIED
        fmts.append(c.fmt.bits)
    assert fmts[0] < fmts[1]


def test_start_token_carries_bottom():
    c = build_hop(9, 4, 3)
    x = np.array([[0, 1, 2, 0, 1, 2, 0, 1, 2]])
    out = forward(c, x, c.fmt).outputs[0]
    want = [BOT_CODE if v is None else v for v in tasks.hop(x[0].tolist(), 4)]
    assert out.tolist() == want and want[:8] == [BOT_CODE] * 8


@pytest.mark.parametrize("kw,msg", [
    (dict(N=8, k=0), "--k must be"), (dict(N=8, k=2000), "at most 12"), (dict(N=1, k=2), "--N must be"),
    (dict(N=8, k=None), "missing --k"), (dict(N=8, k=2, residual="mixed"), "residual mode"),
    (dict(N=8, k=2, paper_part="recursion"), "needs --variant paper"),
    (dict(N=8, k=2, variant="paper", encoding="random"), "sinusoidal")])
def test_bad_input(kw, msg):
    with pytest.raises(BadInput, match=msg):
        build_hop(**kw)
