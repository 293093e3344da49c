"""Hand-edits of an exported model that a user could make with safetensors or a text editor (the
checklist's three kinds: an off-slot ``W_O`` entry, a duplicated head, edited metadata), each
judged by ``verify --from`` in certificate mode and in exhaustive mode on the same directory.
The certificate may say UNKNOWN; it must never say VERIFIED where enumeration refutes, and a
VERIFIED proof must pass the independent checker."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest


def _load(d):
    from safetensors.numpy import load_file
    return load_file(os.path.join(d, "model.safetensors"))


def _save(d, t):
    from safetensors.numpy import save_file
    save_file(t, os.path.join(d, "model.safetensors"))


@pytest.fixture(scope="module")
def export6(tmp_path_factory):
    d = tmp_path_factory.mktemp("he") / "D"
    from attncheck.cli.main import main
    try:
        main(["export", "induction", "--N", "6", "--alphabet", "3", "--out", str(d), "--json"])
    except SystemExit as e:
        assert e.code == 0
    return str(d)


def _meta(d):
    return json.load(open(os.path.join(d, "attncheck.json")))


def _slot(d, name):
    s = next(s for s in _meta(d)["source"]["attncheck_hypotheses"]["layout"] if s["name"] == name)
    return s["start"], s["stop"]


def _off_slot(d):
    """Layer 1's lookup head also writes into the token slot, through a value coordinate that is 0
    at row 0 (so row 0 stays a fixed point and the edit reaches the slot analysis)."""
    t, m = _load(d), _meta(d)
    row0 = t["embed.W_E"][m["start"]] + t["pos_embed.W_pos"][0]
    v0 = row0 @ t["blocks.0.attn.W_V"][0] + t["blocks.0.attn.b_V"][0]
    W = t["blocks.0.attn.W_O"].copy()
    r = int(next(r for r in range(W.shape[1]) if v0[r] == 0 and np.any(W[0, r])))
    W[0, r, _slot(d, "tok")[0]] += 1.0
    t["blocks.0.attn.W_O"] = W
    _save(d, t)


def _duplicate_head(d):
    """Layer 1's lookup head appears twice (a third head in every layer; layer 2's is zero), so
    its write is doubled."""
    t, m = _load(d), _meta(d)
    for l in range(m["n_layers"]):
        for w in ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V"):
            A = t[f"blocks.{l}.attn.{w}"]
            extra = A[:1] if l == 0 else np.zeros_like(A[:1])
            t[f"blocks.{l}.attn.{w}"] = np.ascontiguousarray(np.concatenate([A, extra]))
    _save(d, t)
    m["n_heads"] += 1
    json.dump(m, open(os.path.join(d, "attncheck.json"), "w"))


def _edited_metadata(d):
    """The recorded hypotheses claim layer 2 keys on the token slot instead of prev, and that the
    output holds X[i]: metadata that no longer describes the weights (the weights are unchanged)."""
    p = os.path.join(d, "attncheck.json")
    m = json.load(open(p))
    hyp = m["source"]["attncheck_hypotheses"]
    hyp["promises"]["1.0"]["key"] = "tok"
    hyp["target"] = {"base": "X", "ops": []}
    json.dump(m, open(p, "w"))


#: what enumeration says of each edit (the test has teeth only if the broken ones are broken)
EXPECTED = {"_off_slot": "refuted", "_duplicate_head": "refuted", "_edited_metadata": "verified"}


@pytest.mark.parametrize("edit", [_off_slot, _duplicate_head, _edited_metadata])
def test_hand_edited_exports_never_get_a_false_verified(export6, tmp_path, cli, edit):
    d = str(tmp_path / "E")
    shutil.copytree(export6, d)
    edit(d)
    ex = json.loads(cli("verify", "induction", "--from", d, "--mode", "exhaustive", "--json").out)
    cert = cli("verify", "induction", "--from", d, "--mode", "certificate", "--proof",
               str(tmp_path / "p.json"), "--json")
    out = json.loads(cert.out)
    assert ex["verdict"] == EXPECTED[edit.__name__]
    if ex["verdict"] == "refuted":
        assert out["verdict"] != "verified", (edit.__name__, out.get("reason"))
        assert ex["counterexample"] is not None
    if out["verdict"] == "verified":
        assert ex["verdict"] == "verified"
        assert out["proof"]["check"] in ("accepted",) or out["proof"]["check"].startswith("rejected: ")
        if out["proof"]["check"] == "accepted":
            assert cli("check-proof", str(tmp_path / "p.json"), "--from", d).code == 0
    else:
        assert out["verdict"] == "unknown" and out["reason"]


@pytest.mark.parametrize("edit", [_off_slot, _duplicate_head, _edited_metadata])
def test_the_honest_proof_does_not_cover_a_hand_edited_export(export6, tmp_path, cli, edit):
    """The unedited export's proof, its digest rewritten to the edited directory's so that the
    numbers decide: check-proof never accepts where enumeration refutes (a changed head count or
    slot write must fail a line of the proof, not only the digest)."""
    from attncheck.constructions.exchange import read_exchange, to_construction
    from attncheck.verifiers import proofcheck
    p = str(tmp_path / "honest.json")
    assert cli("verify", "induction", "--from", export6, "--mode", "certificate", "--proof", p).code == 0
    d = str(tmp_path / "E")
    shutil.copytree(export6, d)
    edit(d)
    proof = json.load(open(p))
    proof["weights_sha256"] = proofcheck.weights_digest(to_construction(read_exchange(d)))
    json.dump(proof, open(p, "w"))
    res = cli("check-proof", p, "--from", d, "--json")
    ex = json.loads(cli("verify", "induction", "--from", d, "--mode", "exhaustive", "--json").out)
    assert ex["verdict"] == EXPECTED[edit.__name__]
    if ex["verdict"] == "refuted":
        assert res.code == 1 and "SHA-256" not in res.out, (edit.__name__, res.out[-400:])
    else:
        assert res.code in (0, 1), res.out[-400:]
