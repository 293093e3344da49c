"""Differential fuzzing of ``verify --from DIR`` on hand-edited exchange directories (issue 16).

Each mutant changes one entry of one tensor of an exported induction model (N = 5..6,
|Sigma| = 2..3) -- zeroed, negated, doubled, nudged or replaced by a large value -- the way a
user editing ``model.safetensors`` would.  ``verify induction --from DIR`` (auto mode: exhaustive
at these sizes) is compared with a brute force over every input through the independent plain
pass of test_exchange_forward.py:

* in float64 (``--precision exact``, the plain pass's own arithmetic): VERIFIED only when the
  plain pass is right on every input, REFUTED only with a counterexample the plain pass gets
  wrong too (inputs whose two best logits are within 1e-9 of each other are a float64 tie that
  summation order may break either way, and are left out of both comparisons);
* in the declared fixed format: never VERIFIED when the plain pass is wrong on an input by a
  clear margin (top-two logit gap above 0.05, far beyond the format's rounding).
"""
from __future__ import annotations

import itertools
import os

import numpy as np
import pytest

from attncheck.constructions import exchange as ex
from attncheck.constructions.induction import build_induction
from attncheck.constructions.tasks import SEQ_TASKS
from test_exchange_forward import plain_pass

TIE = 1e-9
CLEAR = 0.05


def mutate(m: ex.ExchangeModel, rng) -> tuple[ex.ExchangeModel, str]:
    t = m.tensors()
    names = sorted(k for k, v in t.items() if v.size and (np.any(v) or rng.random() < 0.2))
    name = names[rng.integers(len(names))]
    a = t[name].copy()
    nz = np.flatnonzero(a)
    if nz.size and rng.random() < 0.8:                                # mostly entries that carry weight
        i = int(nz[rng.integers(nz.size)])
    else:
        i = int(rng.integers(a.size))
    old = float(a.flat[i])
    kind = ["zero", "negate", "double", "nudge", "big"][rng.integers(5)]
    a.flat[i] = {"zero": 0.0, "negate": -old, "double": 2 * old, "nudge": old + rng.normal(0, 0.5),
                 "big": float(rng.choice([-1, 1]) * rng.uniform(5, 50))}[kind]
    t[name] = a
    blocks = tuple(ex.AttnBlock(*(t[f"blocks.{l}.attn.{w}"] for w in ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K",
                                                                      "b_V", "b_O")))
                   for l in range(m.n_layers))
    fields = {f: getattr(m, f) for f in m.__dataclass_fields__}
    fields.update(W_E=t["embed.W_E"], W_pos=t["pos_embed.W_pos"], W_U=t["unembed.W_U"], b_U=t["unembed.b_U"],
                  blocks=blocks)
    return ex.ExchangeModel(**fields), f"{name}[{i}] {kind} ({old:.4g} -> {a.flat[i]:.4g})"


def brute_force(m: ex.ExchangeModel):
    """(wrong (B,), tie (B,), clear-wrong (B,)) over every input of Sigma^N by the plain pass."""
    X = np.array(list(itertools.product(range(m.alphabet), repeat=m.N)))
    out, _, logits = plain_pass(m, X)
    want = np.array([[-1 if v is None else v for v in SEQ_TASKS["induction"](x)] for x in X.tolist()])
    srt = np.sort(logits, axis=-1)
    gap = srt[..., -1] - srt[..., -2]                                 # (B, N)
    bad = out != want
    return X, bad.any(axis=1), (bad & (gap <= TIE)).any(axis=1), (bad & (gap > CLEAR)).any(axis=1), gap


@pytest.mark.parametrize("N,alphabet,encoding,seed", [(5, 2, "sinusoidal", 0), (6, 3, "sinusoidal", 1),
                                                      (5, 3, "onehot", 2), (6, 2, "random", 3)])
def test_no_false_verified_on_edited_exports(N, alphabet, encoding, seed, cli, tmp_path):
    base = ex.from_construction(build_induction(N=N, alphabet=alphabet, encoding=encoding))
    rng = np.random.default_rng(seed)
    seen = {"verified": 0, "refuted": 0}
    for trial in range(12):
        m, what = mutate(base, rng)
        d = tmp_path / f"m{trial}"
        ex.write_exchange(m, d)
        X, wrong, tie, clear_wrong, gap = brute_force(m)
        r = cli("verify", "induction", "--from", d, "--precision", "exact", "--json")
        assert r.code in (0, 1), (what, r.err)
        v = r.json["verdict"]
        seen[v] += 1
        if v == "verified":
            assert not (wrong & ~tie).any(), f"{what}: VERIFIED in float64 but the plain pass is wrong"
        else:
            ce = r.json["counterexample"]
            k = int(np.flatnonzero((X == ce["tokens"]).all(axis=1))[0])
            p = ce["position"] - 1
            assert wrong[k] or gap[k, p] <= TIE, f"{what}: REFUTED on an input the plain pass gets right"
        r = cli("verify", "induction", "--from", d, "--json")              # declared format, auto mode
        assert r.code in (0, 1), (what, r.err)
        if r.json["verdict"] == "verified":
            assert not clear_wrong.any(), f"{what}: VERIFIED in {r.json['format']} but the plain pass is clearly wrong"
    assert seen["verified"] + seen["refuted"] == 12
