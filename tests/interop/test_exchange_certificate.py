"""The certificate on exports that carry their hypotheses (verifiers/exchange_cert.py, issue 16).

An export of ours, read back, is certified for all |Sigma|^N inputs once row 0's fixed point, the
keepers' zero writes and the nearest-code read-out are proved from the weights; any edit of the
weights or of the recorded hypotheses must never give a VERIFIED that exhaustive enumeration of
the same model in the same format contradicts (differential check at small N)."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from attncheck.constructions import exchange as ex
from attncheck.constructions.hop import build_hop
from attncheck.constructions.induction import build_induction
from attncheck.constructions.precision import EXACT
from attncheck.constructions.verdict import Status
from attncheck.verifiers.exchange_cert import certify_exchange
from attncheck.verifiers.exhaustive import check_exhaustive
from test_exchange_fuzz import mutate


def test_round_trip_certified_at_N64(cli, tmp_path):
    """export then verify --from gives the construction's own verdict where enumeration is out of
    reach: VERIFIED by certificate (auto mode)."""
    d = tmp_path / "ind64"
    assert cli("export", "induction", "--N", "64", "--out", d).code == 0
    r = cli("verify", "induction", "--from", d, "--json")
    assert r.code == 0, r.err
    assert r.json["verdict"] == "verified" and r.json["method"] == "certificate" and r.json["cases"] == "3^64"
    ex_ev = r.json["evidence"]["exchange"]
    assert ex_ev["row0_fixed"] and ex_ev["keeper_heads"] == [[1, 2], [2, 2]]


def test_hop_export_certified(cli, tmp_path):
    d = tmp_path / "hop"
    assert cli("export", "hop", "--k", "3", "--N", "32", "--residual", "additive", "--out", d).code == 0
    r = cli("verify", "hop", "--from", d, "--mode", "certificate", "--json")
    assert r.code == 0 and r.json["verdict"] == "verified", r.json["reason"]


def _strip(m: ex.ExchangeModel, **changes) -> ex.ExchangeModel:
    f = {x: getattr(m, x) for x in m.__dataclass_fields__}
    f.update(changes)
    return ex.ExchangeModel(**f)


def test_gaps_are_named():
    c0 = build_induction(N=16, alphabet=3)
    m = ex.from_construction(c0)
    c = ex.to_construction(m)
    assert certify_exchange(m, c, "induction", {}, c.fmt).status is Status.VERIFIED
    # no recorded hypotheses: the plain gate
    bare = _strip(m, source={k: v for k, v in m.source.items() if k != ex.HYPOTHESES})
    v = certify_exchange(bare, ex.to_construction(bare), "induction", {}, c.fmt)
    assert v.status is Status.UNKNOWN and "promise" in v.reason
    # float64: row 0 is not fixed bit for bit there
    v = certify_exchange(m, c, "induction", {}, EXACT)
    assert v.status is Status.UNKNOWN and "fixed:I.F" in v.reason
    # the flag at a token position
    W_pos = m.W_pos.copy()
    W_pos[3, m.source[ex.HYPOTHESES]["flag"]] = 1.0
    bad = _strip(m, W_pos=W_pos)
    v = certify_exchange(bad, ex.to_construction(bad), "induction", {}, c.fmt)
    assert v.status is Status.UNKNOWN and "flag" in v.reason
    # a keeper whose W_O no longer cancels row 0's update
    blocks = list(m.blocks)
    b = blocks[0]
    W_O = b.W_O.copy()
    W_O[1, 0, 0] += 0.5
    blocks[0] = ex.AttnBlock(b.W_Q, b.W_K, b.W_V, W_O, b.b_Q, b.b_K, b.b_V, b.b_O)
    bad = _strip(m, blocks=tuple(blocks))
    v = certify_exchange(bad, ex.to_construction(bad), "induction", {}, c.fmt)
    assert v.status is Status.UNKNOWN and "row 0 is not a fixed point" in v.reason
    # a read-out bias moved a little: still the nearest code within the proved margin
    b_U = m.b_U.copy()
    b_U[0] += 1e-3
    near = _strip(m, b_U=b_U)
    v = certify_exchange(near, ex.to_construction(near), "induction", {}, c.fmt)
    assert v.status is Status.VERIFIED and v.evidence["exchange"]["readout_offset_spread"] >= 1e-3
    # ... and a lot: no longer
    b_U[0] += 100.0
    bad = _strip(m, b_U=b_U)
    v = certify_exchange(bad, ex.to_construction(bad), "induction", {}, c.fmt)
    assert v.status is Status.UNKNOWN and "read-out bias" in v.reason


def _json_mutant(m: ex.ExchangeModel, rng) -> ex.ExchangeModel:
    src = copy.deepcopy(dict(m.source))
    h = src[ex.HYPOTHESES]
    k = int(rng.integers(6))
    if k == 0 and h["keepers"]:
        h["keepers"].pop(int(rng.integers(len(h["keepers"]))))
    elif k == 1:
        h["keepers"].append([int(rng.integers(m.n_layers)), 0])
    elif k == 2:
        p = h["promises"][sorted(h["promises"])[int(rng.integers(len(h["promises"])))]]
        p["kind"] = "lookup" if p["kind"] == "last_occurrence" else "last_occurrence"
    elif k == 3:
        name = sorted(h["codebooks"])[0]
        cb = np.array(h["codebooks"][name])
        cb.flat[int(rng.integers(cb.size))] += rng.normal(0, 0.3)
        h["codebooks"][name] = cb.tolist()
    elif k == 4:
        sl = h["layout"][int(rng.integers(len(h["layout"])))]
        sl["label"] = None if sl["label"] else {"base": "X", "ops": []}
    else:
        h["decoder"]["symbols"] = list(reversed(h["decoder"]["symbols"]))
    return _strip(m, source=src)


@pytest.mark.parametrize("task,build,params", [
    ("induction", lambda: build_induction(N=6, alphabet=3), {}),
    ("induction", lambda: build_induction(N=7, alphabet=2, encoding="onehot"), {}),
    ("hop", lambda: build_hop(N=7, k=2, alphabet=3, residual="additive"), {"k": 2}),
])
def test_no_false_verified_against_enumeration(task, build, params):
    """Edits of tensors and of the recorded hypotheses: the exchange certificate's VERIFIED is
    never contradicted by enumerating every input of the same model in the same format."""
    base = ex.from_construction(build())
    rng = np.random.default_rng(7)
    seen = set()
    for t in range(45):
        m = mutate(base, rng)[0] if t % 3 else _json_mutant(base, rng)
        c = ex.to_construction(m)
        vc = certify_exchange(m, c, task, params, c.fmt)
        ve = check_exhaustive(c, task, params, c.fmt)
        seen.add((vc.status, ve.status))
        if vc.status is Status.VERIFIED:
            assert ve.status is Status.VERIFIED, vc.reason
    assert (Status.VERIFIED, Status.VERIFIED) in seen and any(v is Status.REFUTED for _, v in seen)
