"""Differential tests: the z3 bit-vector arithmetic equals precision.py and the numpy emulator."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attncheck.constructions.precision import fixed, round_ratio
from attncheck.verifiers.smt import encode
from attncheck.verifiers.smt.families import make_family
from attncheck.verifiers.smt.synth import Encoding
from attncheck.verifiers.smt.tables import ModelClass, freeze, keys, zero_model

z3 = pytest.importorskip("z3")


def _val(expr) -> int:
    return z3.simplify(expr).as_signed_long()


@given(st.integers(-10_000, 10_000), st.integers(1, 50), st.integers(0, 6))
def test_round_ratio_is_quantize_on_the_integer_view(num, den, F):
    """precision.round_ratio(num, den) is the grid integer of quantize(num / (den 2^F))."""
    f = fixed(20, F)
    q = float(f.quantize(num / (den * 2.0 ** F)))
    assert int(f.to_ints(q)) == round_ratio(num, den)


@pytest.mark.parametrize("fmt", [fixed(2, 0), fixed(3, 1), fixed(8, 4)])   # thresholds / divider
def test_round_div_matches_round_ratio_with_saturation(fmt):
    ar = encode.Arith(fmt)
    for a in range(-70, 71, 3):
        for c in range(1, 10):
            want = min(max(round_ratio(a, c), fmt.int_lo), fmt.int_hi)
            assert _val(ar.round_div(encode.const(a, 10), encode.const(c, 6))) == want, (a, c)


@pytest.mark.parametrize("s", [1, 2, 3])
def test_round_shift_floors_and_ties_to_even(s):
    ar = encode.Arith(fixed(8, 2))
    for x in range(-40, 41):                 # negative ties: -3/2 -> -2, -5/2 -> -2 (not toward zero)
        assert _val(ar.round_shift(encode.const(x, 8), s)) == round_ratio(x, 1 << s)


def _random_model(cls, N, V, rng):
    arrays = zero_model(cls, N, V)
    lo, hi = cls.fmt.int_lo, cls.fmt.int_hi + 1
    for layer in arrays.values():
        for k, a in layer.items():
            a[...] = rng.integers(lo, hi, size=a.shape)
    return freeze(cls, N, V, arrays)


def _substitute(enc, tm):
    pairs = []
    for (l, kind, h, t, a, r), vs in enc.vars.items():
        lt = tm.layers[l - 1]
        vals = (lt.k0 if kind == "K" else lt.v0)[h] if t == 0 else getattr(lt, kind)[h, t, a, r]
        pairs += [(v, z3.BitVecVal(int(x), enc.ar.bits)) for v, x in zip(vs, vals)]
    return pairs


CLASSES = [(1, 1, 1, fixed(2, 0), "hardmax"), (1, 2, 2, fixed(3, 1), "hardmax"),
           (1, 1, 2, fixed(2, 2), "softmax"), (1, 1, 1, fixed(3, 1), "softmax"),
           (2, 1, 1, fixed(2, 0), "hardmax"), (2, 1, 1, fixed(2, 1), "softmax")]


@pytest.mark.parametrize("spec", CLASSES, ids=lambda s: f"L{s[0]}H{s[1]}D{s[2]}-{s[3]}-{s[4]}")
def test_z3_outputs_equal_emulator_on_random_models(spec):
    """Random tables and inputs: z3's head outputs at N (all layers) == emulator.attend's."""
    cls = ModelClass(*spec)
    fam = make_family("full", 4, 3)
    rng = np.random.default_rng(7)
    for _ in range(3):
        tm = _random_model(cls, 4, 3, rng)
        enc = Encoding(cls, fam, symmetry=False)
        idx = rng.choice(fam.size, size=6, replace=False)
        xs = [fam.inputs[i] for i in idx]
        exprs = [enc.key(x) for x in xs]
        sub = _substitute(enc, tm)
        want = keys(tm, np.array(xs))[:, 1:]
        got = [[_val(z3.substitute(e, *sub)) for e in ex] for ex in exprs]
        assert got == want.tolist()


def test_softmax_exp_table_is_the_emulators():
    f = fixed(3, 2)
    tab = encode.exp_table(f)
    assert tab[0] == 4                        # quantize(exp(0)) = 1.0 = 4 * 2^-2
    for d, v in enumerate(tab):
        assert v == int(f.to_ints(f.quantize(np.exp(-d * f.ulp))))
    assert all(a >= b for a, b in zip(tab, tab[1:]))
