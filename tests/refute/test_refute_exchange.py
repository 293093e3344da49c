"""refute one-layer on models in the exchange format (constructions/exchange.py): the start row
run by the pass or absent (mask causal-nostart), q/k/v biases through a constant coordinate, a
b_O head of uniform attention, a linear read-out.  The message argument is checked by brute force
and every claim independently replayed."""
from __future__ import annotations

import numpy as np
import pytest

from attncheck.constructions.exchange import AttnBlock, ExchangeModel, to_construction, write_exchange
from attncheck.constructions.verdict import Status
from attncheck.verifiers import refute_oneway as ro

from test_refute_oneway import assert_messages_decide, confirm, instance


def exchange_model(N, V, H, d, with_start, seed, precision="fixed:3.2"):
    rng = np.random.default_rng(seed)
    D = 3
    q = lambda *s: rng.integers(-4, 5, size=s) / 4.0
    vocab = V + (1 if with_start else 0)
    block = AttnBlock(q(H, D, d), q(H, D, d), q(H, D, d), q(H, d, D), q(H, d), q(H, d), q(H, d), q(D))
    return ExchangeModel(W_E=q(vocab, D), W_pos=q(N + 1, D), blocks=(block,), W_U=q(D, V + 1), b_U=q(V + 1),
                         task="induction", N=N, alphabet=V, symbols=tuple(range(V)), bottom=V,
                         start=V if with_start else None, attn_scale=1.0, precision=precision)


@pytest.mark.parametrize("with_start", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_exchange_messages_and_refutation(with_start, seed):
    N, V = 5, 3
    c = to_construction(exchange_model(N, V, 2, 1, with_start, seed))
    assert c.mask == ("causal" if with_start else "causal-nostart")
    inst = instance("induction", N, V)
    assert_messages_decide(c, c.fmt, "softmax", inst)
    v = ro.refute_one_layer(c, c.fmt, "softmax", inst)
    assert v.status in (Status.REFUTED, Status.UNKNOWN)
    if v.status is Status.REFUTED:
        confirm(c, c.fmt, "softmax", "induction", 1, v)
    else:
        assert not v.evidence["guaranteed"]


def test_refute_from_an_exchange_directory(cli, tmp_path):
    write_exchange(exchange_model(7, 3, 1, 1, True, 0), tmp_path / "m")
    r = cli("refute", "one-layer", "induction", "--from", tmp_path / "m", "--json")
    assert r.code in (1, 3), r.err
    assert r.json["model"]["layers"] == 1


@pytest.mark.parametrize("with_start", [True, False])
@pytest.mark.parametrize("seed", range(4))
def test_exchange_models_with_few_bits_are_refuted(with_start, seed):
    """N = 9, fixed:2.1: a guaranteed collision is always found; every claim replays."""
    c = to_construction(exchange_model(9, 3, 1, 1, with_start, seed, "fixed:2.1"))
    v = ro.refute_one_layer(c, c.fmt, "softmax", instance("induction", 9, 3))
    if v.evidence["guaranteed"]:
        assert v.status is Status.REFUTED
    if v.status is Status.REFUTED:
        confirm(c, c.fmt, "softmax", "induction", 1, v)


def test_out_refuses_an_exchange_model(cli, tmp_path):
    write_exchange(exchange_model(5, 3, 1, 1, True, 0), tmp_path / "m")
    r = cli("refute", "one-layer", "induction", "--from", tmp_path / "m", "--out", tmp_path / "m.npz")
    assert r.code == 2 and "exchange" in r.err and not (tmp_path / "m.npz").exists()
