"""CEGIS synthesis: agreement with brute-force enumeration, replayed models, flips, determinism."""
import numpy as np
import pytest

from attncheck.constructions.tasks import induction_heads
from attncheck.constructions.precision import fixed
from attncheck.verifiers.smt.brute import entry_keys, enumerate_models
from attncheck.verifiers.smt.cegis import synthesize
from attncheck.verifiers.smt.families import make_family
from attncheck.verifiers.smt.solver import Limits
from attncheck.verifiers.smt.tables import ModelClass, keys, replay

pytest.importorskip("z3")
H1 = ModelClass(1, 1, 1, fixed(2, 0), "hardmax")
LIM = Limits(0, 30_000_000)


def _sub_class(fam, seed, n_free=8):
    """Pin all but n_free entries to seeded random grid values (a sub-class small enough to
    enumerate: 4^8 = 65536 models)."""
    ks = entry_keys(fam)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(ks))
    free = [ks[i] for i in sorted(perm[:n_free])]
    pins = {ks[i]: (int(rng.integers(-2, 2)),) for i in perm[n_free:]}
    return free, pins


@pytest.mark.parametrize("fam,N,V,seed", [("full", 3, 2, s) for s in range(6)]
                         + [("full", 3, 3, 0), ("index", 5, 3, 1)])
def test_sub_classes_agree_with_enumeration(fam, N, V, seed):
    """z3 SAT iff some of the enumerated models solves the family (both answers occur)."""
    f = make_family(fam, N, V)
    free, pins = _sub_class(f, seed)
    solving = enumerate_models(H1, f, free, pins)
    res = synthesize(H1, f, LIM, symmetry=False, pins=pins)
    assert res.solver_result == ("sat" if solving else "unsat")
    if solving:
        assert res.replay.solves


def test_sub_class_answers_are_mixed():
    """The enumeration cases above are not all one answer (else the test could not fail)."""
    f = make_family("full", 3, 2)
    counts = [enumerate_models(H1, f, *_sub_class(f, s)) for s in range(6)]
    assert any(c == 0 for c in counts) and any(c > 0 for c in counts)


@pytest.mark.slow
def test_whole_weight_space_of_the_tiniest_index_instance():
    """INDEX at N=3: all 4^11 one-layer models enumerated; z3 with symmetry breaking agrees."""
    f = make_family("index", 3, 3)
    solving = enumerate_models(H1, f, entry_keys(f), {})
    assert 0 < solving < 4 ** 11
    assert synthesize(H1, f, LIM).solver_result == "sat"


def test_one_layer_unsat_with_and_without_symmetry_breaking():
    f = make_family("full", 3, 3)
    a = synthesize(H1, f, LIM, symmetry=True)
    b = synthesize(H1, f, LIM, symmetry=False)
    assert a.solver_result == b.solver_result == "unsat"


@pytest.mark.parametrize("H,D", [(2, 1), (1, 2)])
def test_weakened_class_flips_to_sat(H, D):
    """The UNSAT size (H=D=1) flips to SAT with one more head or one more dimension."""
    res = synthesize(ModelClass(1, H, D, fixed(2, 0), "hardmax"), make_family("full", 3, 3), LIM)
    assert res.solver_result == "sat" and res.replay.solves


def _decode_all(res):
    """Apply the reported decoder table to every input and compare with tasks.py directly."""
    table = {tuple(k): a for k, a in res.replay.decoder}
    f = res.family
    ks = keys(res.model, np.array(f.inputs))
    for x, k in zip(f.inputs, ks.tolist()):
        y = induction_heads(list(x))[-1]
        assert table[tuple(k)] == (f.alphabet if y is None else y)


@pytest.mark.slow
def test_two_layer_model_replays_on_every_input():
    res = synthesize(ModelClass(2, 1, 1, fixed(2, 0), "hardmax"), make_family("full", 3, 3), LIM)
    assert res.solver_result == "sat"
    _decode_all(res)


def test_sat_model_decoder_is_the_task():
    res = synthesize(H1, make_family("full", 3, 2), LIM)
    assert res.solver_result == "sat"
    _decode_all(res)


def test_broken_model_is_caught_by_replay():
    """Perturbing a solving model's value table makes the replay find clashes."""
    res = synthesize(H1, make_family("full", 3, 2), LIM)
    m = res.model
    V = np.zeros_like(m.layers[0].V)
    broken = type(m)(m.cls, m.N, m.alphabet, (type(m.layers[0])(m.layers[0].Q, m.layers[0].K, V,
                                                                  m.layers[0].k0, 0 * m.layers[0].v0),))
    assert not replay(broken, res.family.inputs, res.family.answers).solves


def test_runs_are_deterministic():
    f = make_family("full", 3, 2)
    a, b = synthesize(H1, f, LIM), synthesize(H1, f, LIM)
    assert a.rlimit_used == b.rlimit_used and a.iterations == b.iterations
    assert a.model.to_json() == b.model.to_json()


def test_tiny_rlimit_is_unknown_not_a_pass():
    res = synthesize(H1, make_family("full", 3, 3), Limits(0, 1000))
    assert res.solver_result == "unknown" and "rlimit" in res.reason
