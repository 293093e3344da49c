"""reduction collide (sht24a.cor5_2): refutations come with a replayed counterexample that the
verifiers' RNN runner confirms; a correct RNN is never refuted."""
from __future__ import annotations

import numpy as np
import pytest

from attncheck.bounds import multipass
from attncheck.bounds.rnn_collide import collide
from attncheck.constructions.rnn import build_rnn
from attncheck.constructions.tasks import hop
from attncheck.constructions.verdict import Status
from attncheck.verifiers.rnn_run import run


def test_k_layers_are_never_refuted():
    for q, k in [(2, 2), (2, 3), (3, 2)]:
        layers = multipass.build_model("successor", k, 2 * q + 3, None, 0)
        assert collide(layers, q, k).status is Status.VERIFIED
        assert collide(layers, q, k, search="rectangle").status is Status.UNKNOWN


@pytest.mark.parametrize("search", ["both", "rectangle"])
@pytest.mark.parametrize("L", [1, 2])
def test_fewer_successor_layers_are_refuted_and_the_runner_agrees(search, L):
    q, k = 2, 3
    v = collide(multipass.build_model("successor", L, 2 * q + 3, None, 0), q, k, search=search)
    assert v.status is Status.REFUTED
    ce = v.counterexample
    tokens = list(ce.tokens)
    got = run(build_rnn("hop", len(tokens), 2 * q + 3, k=L, layers=L), np.array([tokens])).streams[-1][0, -1]
    want = hop(tokens, k)[-1]
    assert want == ce.expected and got == ce.got and got != want


@pytest.mark.parametrize("kind,bits,seed", [("table", 1, 0), ("table", 2, 3), ("elman", 2, 1), ("elman", 4, 2)])
def test_random_small_rnns_are_refuted_by_rectangles(kind, bits, seed):
    q, k = 2, 3
    layers = multipass.build_model(kind, 2, 2 * q + 3, bits, seed)
    v = collide(layers, q, k, search="rectangle")
    assert v.status is Status.REFUTED and v.counterexample.explanation["found_by"] == "rectangle"
    tokens = list(v.counterexample.tokens)
    assert multipass.run_stack(layers, tokens)[-1][-1] != hop(tokens, k)[-1]


def test_sampling_never_verifies():
    layers = multipass.build_model("successor", 2, 7, None, 0)
    v = collide(layers, 2, 2, mode="sample", samples=30)
    assert v.status is Status.UNKNOWN and v.method.value == "sample"


def _two_table_rnn(V=7, S=4, seed=0):
    from attncheck.constructions.rnn import RNN
    from attncheck.constructions.rnn_table import table_cell
    rng = np.random.default_rng(seed)
    cells = tuple(table_cell(rng.integers(0, S, size=(S, V + 1)), rng.integers(0, V + 1, size=(S, V + 1)), V)
                  for _ in range(2))
    return RNN("two-table", "hop", "sht24a.cor5_2", "[R] random", V, cells, "all",
               {"N": 13, "alphabet": V, "k": 3, "layers": 2})


def test_table_cells_run_as_the_verifiers_runner_runs_them():
    """The protocol's Mealy step is a second implementation of rnn_run's table step."""
    rnn = _two_table_rnn()
    layers = multipass.from_rnn(rnn)
    X = np.random.default_rng(1).integers(0, 7, size=(300, 9))
    trace = run(rnn, X)
    for b, x in enumerate(X.tolist()):
        streams = multipass.run_stack(layers, x)
        assert [s for s in streams] == [t[b].tolist() for t in trace.streams]


def test_an_rnn_file_is_refuted_or_verified_through_the_cli(cli, tmp_path):
    from attncheck.constructions.rnn_table import save_rnn
    bad, good = tmp_path / "two.npz", tmp_path / "succ.npz"
    save_rnn(_two_table_rnn(), str(bad))
    save_rnn(build_rnn("hop", 13, 7, k=3, layers=3), str(good))
    r = cli("reduction", "collide", "--q", "2", "--k", "3", "--from", bad, "--json")
    assert r.code == 1
    tokens = r.json["counterexample"]["tokens"]
    assert run(_two_table_rnn(), np.array([tokens])).streams[-1][0, -1] != hop(tokens, 3)[-1]
    assert cli("reduction", "collide", "--q", "2", "--k", "3", "--from", good).code == 0
    r = cli("reduction", "check", "rnn-pointer", "--q", "2", "--k", "3", "--from", good, "--json")
    assert r.code == 0 and r.json["evidence"]["premise"]["holds_on"] == 32
    assert cli("reduction", "check", "rnn-pointer", "--q", "3", "--k", "3", "--from", good).code == 2
    assert cli("reduction", "collide", "--from", good, "--layers", "2").code == 2
