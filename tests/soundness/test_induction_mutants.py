"""Broken constructions must be refuted by exhaustive mode and never verified by the certificate.

(The full mutation harness of issue 9 extends this; these are the foundation's own guards.)"""
import numpy as np
import pytest

from attncheck.constructions.induction import build_induction
from attncheck.constructions.spec import Layer
from attncheck.verifiers.certificate import certify
from attncheck.verifiers.exhaustive import check_exhaustive
from attncheck.constructions.precision import fixed
from attncheck.constructions.verdict import Status

N, S = 6, 3


def _head(c, layer):
    return c.layers[layer].heads[0]


def perturbed_weight(c):
    h = _head(c, 1)
    W = h.W_Q.copy()
    W[c.layout["one"].start, -1] += 0.7            # shifts every query's start-token channel
    return c.with_layer(1, Layer((h.replace(W_Q=W),)))


def wrong_temperature(c):
    return c.with_layer(1, Layer((_head(c, 1).replace(temperature=1.0),)))


def swapped_heads(c):
    return c.replace(layers=(c.layers[1], c.layers[0]))


def dropped_layer(c):
    return c.replace(layers=(c.layers[1],))


def shifted_pointer(c):
    """Layer 1 reads the pointer i-2 instead of i-1 (weights and promise unchanged)."""
    pe = c.pos_embed.copy()
    sl = c.layout["pos_prev"].sl
    pe[2:, sl] = c.codebooks["pos"][:-2]
    return c.replace(pos_embed=pe)


MUTANTS = [perturbed_weight, wrong_temperature, swapped_heads, dropped_layer, shifted_pointer]


@pytest.mark.parametrize("mutate", MUTANTS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("attention", ["softmax", "hardmax"])
def test_mutant_refuted_and_never_certified(mutate, attention):
    c = mutate(build_induction(N, S))
    ex = check_exhaustive(c, "induction", {}, c.fmt, attention)
    ce = certify(c, "induction", {}, c.fmt, attention)
    if mutate is wrong_temperature and attention == "hardmax":
        assert ex.status is Status.VERIFIED          # hardmax ignores the temperature
        return
    assert ex.status is Status.REFUTED and ex.counterexample.explanation["replayed"]
    assert ce.status is not Status.VERIFIED


@pytest.mark.parametrize("frac_bits", [1, 2, 3])
def test_too_few_fraction_bits(frac_bits):
    c = build_induction(N, S)
    fmt = fixed(c.fmt.int_bits, frac_bits)
    ex = check_exhaustive(c, "induction", {}, fmt)
    assert ex.status is Status.REFUTED
    assert certify(c, "induction", {}, fmt).status is not Status.VERIFIED


def test_certificate_never_verifies_what_exhaustive_refutes():
    """Sweep formats (many of them too small) at several sizes: cert VERIFIED => exhaustive VERIFIED."""
    seen = {"cert": 0, "ex": 0}
    for n, s in [(4, 2), (5, 3), (6, 2)]:
        for enc in ("sinusoidal", "random", "onehot"):
            c = build_induction(n, s, enc)
            for I in range(max(2, c.fmt.int_bits - 3), c.fmt.int_bits + 1):
                for F in range(1, c.fmt.frac_bits + 1, 2):
                    for att in ("softmax", "hardmax"):
                        fmt = fixed(I, F)
                        ce = certify(c, "induction", {}, fmt, att).status is Status.VERIFIED
                        ex = check_exhaustive(c, "induction", {}, fmt, att).status is Status.VERIFIED
                        seen["cert"] += ce
                        seen["ex"] += ex
                        assert not (ce and not ex), (n, s, enc, str(fmt), att)
    assert seen["cert"] > 0 and seen["ex"] > seen["cert"] * 0   # both outcomes occur
