"""``verify ... --proof`` and ``check-proof`` from the command line (issue 19): exit codes and the
acceptance scenario of the issue at a small N."""
from __future__ import annotations

import gzip
import json


def test_verify_then_check_proof(cli, tmp_path):
    w, p = tmp_path / "w.npz", tmp_path / "p.json"
    assert cli("build", "induction", "--N", 32, "--alphabet", 4, "--out", w).code == 0
    r = cli("verify", "induction", "--N", 32, "--alphabet", 4, "--mode", "certificate", "--proof", p, "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["proof"]["written"]
    r = cli("check-proof", p, "--from", w, "--json")
    assert r.code == 0, r.out
    assert json.loads(r.out)["verdict"] == "accepted"
    proof = json.loads(p.read_text())                     # one edit of a number the verdict relies on
    proof["decoder"]["margin"] = "1000/1"
    p.write_text(json.dumps(proof))
    r = cli("check-proof", p, "--from", w)
    assert r.code == 1 and "decoder" in r.out
    p.write_text("{not json")
    assert cli("check-proof", p, "--from", w).code == 2


def test_gzip_proof_and_other_weights(cli, tmp_path):
    w, w2, p = tmp_path / "w.npz", tmp_path / "w2.npz", tmp_path / "p.json.gz"
    assert cli("build", "hop", "--N", 12, "--k", 2, "--out", w).code == 0
    assert cli("build", "hop", "--N", 12, "--k", 2, "--alphabet", 2, "--out", w2).code == 0
    assert cli("verify", "hop", "--from", w, "--mode", "certificate", "--proof", p).code == 0
    json.loads(gzip.decompress(p.read_bytes()))
    assert cli("check-proof", p, "--from", w).code == 0
    r = cli("check-proof", p, "--from", w2)
    assert r.code == 1 and "SHA-256" in r.out


def test_proof_needs_a_certificate_mode(cli, tmp_path):
    r = cli("verify", "induction", "--N", 6, "--mode", "exhaustive", "--proof", tmp_path / "p.json")
    assert r.code == 2 and "--proof" in r.err


def test_auto_mode_writes_a_proof_when_the_certificate_decides(cli, tmp_path):
    w, p = tmp_path / "w.npz", tmp_path / "p.json"
    assert cli("build", "induction", "--N", 24, "--out", w).code == 0      # 3^24 inputs: the certificate
    r = cli("verify", "induction", "--from", w, "--proof", p, "--json")
    assert r.code == 0 and json.loads(r.out)["method"] == "certificate"
    assert cli("check-proof", p, "--from", w).code == 0


def test_exchange_export_proof(cli, tmp_path):
    """An export of ours: the proof is about the exchange weights; check-proof re-derives the
    exchange premises (row 0 fixed, keepers write 0, nearest-code read-out) before the claims."""
    d, w, p, p2 = tmp_path / "x", tmp_path / "w.npz", tmp_path / "p.json", tmp_path / "p2.json"
    assert cli("export", "induction", "--N", 8, "--out", d).code == 0
    r = cli("verify", "induction", "--from", d, "--mode", "certificate", "--proof", p, "--json")
    assert r.code == 0 and json.loads(r.out)["proof"]["written"], r.out
    r = cli("check-proof", p, "--from", d)
    assert r.code == 0, r.out
    assert cli("build", "induction", "--N", 8, "--out", w).code == 0
    assert cli("verify", "induction", "--from", w, "--mode", "certificate", "--proof", p2).code == 0
    r = cli("check-proof", p2, "--from", d)                   # another model's proof
    assert r.code == 1 and "SHA-256" in r.out


def test_budget_is_exit_3(cli, tmp_path):
    w, p = tmp_path / "w.npz", tmp_path / "p.json"
    assert cli("build", "induction", "--N", 256, "--out", w).code == 0
    assert cli("verify", "induction", "--from", w, "--mode", "certificate", "--proof", p).code == 0
    r = cli("check-proof", p, "--from", w, "--budget", 1e-6, "--json")
    assert r.code == 3 and json.loads(r.out)["verdict"] == "unknown"


def test_verify_runs_the_checker_on_the_proof_it_wrote(cli, tmp_path):
    """--proof re-reads the written file and runs check-proof on it: accepted for our own weights;
    for an export whose attn_scale was halved by hand the certificate still proves it, but with
    bounds the small checker cannot re-derive (its leakage bound is looser), and the report says
    the file will be rejected instead of leaving the user to find out."""
    p = tmp_path / "p.json"
    r = cli("verify", "induction", "--N", 16, "--proof", p, "--json")
    assert r.code == 0 and json.loads(r.out)["proof"]["check"] == "accepted"
    d, q = tmp_path / "E", tmp_path / "q.json"
    assert cli("export", "induction", "--N", 6, "--alphabet", 2, "--encoding", "random", "--out", d).code == 0
    meta = json.loads((d / "attncheck.json").read_text())
    meta["attn_scale"] = 0.5
    (d / "attncheck.json").write_text(json.dumps(meta))
    r = cli("verify", "induction", "--from", d, "--mode", "certificate", "--proof", q, "--json")
    out = json.loads(r.out)
    assert r.code == 0 and out["verdict"] == "verified"
    check = out["proof"]["check"]
    assert check.startswith("rejected: ")
    assert cli("check-proof", q, "--from", d).code == 1          # what the report predicted
