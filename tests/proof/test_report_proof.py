"""``attncheck report ... --proof DIR`` (issue 19): every certificate-VERIFIED induction / hop row
writes its proof and weights, DIR/index.json lists them, and each proof is re-checked
independently through ``attncheck check-proof``; a tampered number is rejected; rows without a
certificate VERIFIED say why they carry no proof; a bad DIR is one line and exit 2."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

from attncheck.cli import report_proof
from attncheck.cli.report_checks import Check
from attncheck.cli.report_run import Row

#: Two certificate rows (induction N = 64, hop k = 5 at N = 64), an exhaustive one, a paper-literal
#: variant that must be refuted, and a check that is no sequence-task certificate at all.
SMALL = ("--only", "ih.N64", "--only", "hop.k5", "--only", "hop.k3-exhaustive", "--only", "erratum.ih-embedding",
         "--only", "reduction.cycle-gluing")
CERTIFIED = {"ih.N64", "hop.k5"}


@pytest.fixture(scope="module")
def proof_run(tmp_path_factory):
    """One real report run with --proof, as a user runs it (the checks run in their own processes)."""
    base = tmp_path_factory.mktemp("report-proof")
    out, prf = base / "rep", base / "proofs"
    r = subprocess.run([sys.executable, "-m", "attncheck.cli.main", "report", "sht24a", "--out", str(out),
                        "--proof", str(prf), "--budget", "60", *SMALL, "--json"],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, (r.stderr[-2000:], r.stdout[-3000:])
    return json.loads(r.stdout), out, prf


def test_index_lists_exactly_the_certificate_rows(proof_run):
    obj, out, prf = proof_run
    index = json.loads((prf / "index.json").read_text(encoding="utf-8"))
    assert index["format"] == "attncheck-report-proofs" and index["version"] == 1
    assert {e["row"] for e in index["proofs"]} == CERTIFIED
    assert index["summary"] == {"proofs": 2, "accepted": 2, "rejected": 0, "unknown": 0, "without_proof": 3}
    assert obj["proofs"]["proofs"] == 2 and obj["proofs"]["index"] == str(prf / "index.json")
    names = sorted(os.listdir(prf))
    assert names == ["hop.k5.npz", "hop.k5.proof.json", "ih.N64.npz", "ih.N64.proof.json", "index.json"]
    for e in index["proofs"]:
        assert e["check"] == "accepted"
        assert e["proof"] == f"{e['row']}.proof.json" and e["weights"] == f"{e['row']}.npz"
        data = (prf / e["weights"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == e["weights_file_sha256"]
        proof = json.loads((prf / e["proof"]).read_text())
        assert proof["weights_sha256"] == e["weights_digest"]
        assert f"--proof {prf / e['proof']}" in e["command"]


def test_each_row_json_says_proof_or_why_not(proof_run):
    obj, out, prf = proof_run
    by = {c["name"]: c for c in obj["checks"]}
    assert by["ih.N64"]["proof"]["check"] == "accepted" and by["ih.N64"]["method"] == "certificate"
    assert by["hop.k3-exhaustive"]["proof"] == {"proof": None, "why": by["hop.k3-exhaustive"]["proof"]["why"]}
    assert "exhaustive" in by["hop.k3-exhaustive"]["proof"]["why"]
    assert by["erratum.ih-embedding"]["verdict"] == "refuted"
    assert "not verified" in by["erratum.ih-embedding"]["proof"]["why"]
    assert "not a sequence-task" in by["reduction.cycle-gluing"]["proof"]["why"]
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["checks"] == obj["checks"]
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## Proofs" in md and "`ih.N64.proof.json`" in md
    assert "<h2>Proofs</h2>" in (out / "report.html").read_text(encoding="utf-8")


def test_check_proof_accepts_every_index_entry_and_rejects_a_tampered_radius(proof_run, cli, tmp_path):
    """The CI loop of docs/report.md, through the CLI: every entry accepted (exit 0); one radius
    of the decoder's slot set to 0 (false: the output carries error) is rejected (exit 1)."""
    obj, out, prf = proof_run
    index = json.loads((prf / "index.json").read_text(encoding="utf-8"))
    for e in index["proofs"]:
        r = cli("check-proof", prf / e["proof"], "--from", prf / e["weights"], "--json")
        assert r.code == 0 and r.json["verdict"] == "accepted", (e["row"], r.out, r.err)
    e = next(e for e in index["proofs"] if e["row"] == "ih.N64")
    proof = json.loads((prf / e["proof"]).read_text())
    slot = proof["decoder"]["slot"]
    last = proof["states"][-1]["slots"][slot]
    assert any(x != "0/1" for x in last["radius"])
    last["radius"] = ["0/1"] * len(last["radius"])
    bad = tmp_path / "tampered.proof.json"
    bad.write_text(json.dumps(proof))
    r = cli("check-proof", bad, "--from", prf / e["weights"])
    assert r.code == 1 and "REJECTED" in r.out, (r.out, r.err)
    other = next(x for x in index["proofs"] if x["row"] == "hop.k5")          # the right proof, wrong weights
    r = cli("check-proof", prf / e["proof"], "--from", prf / other["weights"])
    assert r.code == 1 and "SHA-256" in r.out


def test_bad_proof_dir_is_one_line_and_exit_2(cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for d in (blocker, blocker / "sub"):
        r = cli("report", "sht24a", "--out", tmp_path / "rep", "--proof", d, "--only", "ih.N64")
        assert r.code == 2 and "--proof" in r.err and r.err.count("\n") == 1, r.err
        assert "Traceback" not in r.err


def test_verify_proof_weights_round_trip_and_bad_use(cli, tmp_path):
    """The options the report passes to each row: the weights saved are the ones the proof is
    about; --proof-weights alone, or beside an exchange directory, is one bad-input line."""
    p, w = tmp_path / "p.json", tmp_path / "w.npz"
    r = cli("verify", "hop", "--k", 2, "--N", 12, "--mode", "certificate", "--proof", p, "--proof-weights", w,
            "--json")
    assert r.code == 0, r.err
    got = r.json["proof"]
    assert got["check"] == "accepted" and got["weights"] == str(w)
    assert got["weights_file_sha256"] == hashlib.sha256(w.read_bytes()).hexdigest()
    assert cli("check-proof", p, "--from", w).code == 0
    r = cli("verify", "hop", "--k", 2, "--N", 12, "--proof-weights", w)
    assert r.code == 2 and "--proof-weights needs --proof" in r.err
    d = tmp_path / "x"
    assert cli("export", "induction", "--N", 8, "--out", d).code == 0
    r = cli("verify", "induction", "--from", d, "--proof", p, "--proof-weights", tmp_path / "w2.npz")
    assert r.code == 2 and "exchange directory" in r.err and not (tmp_path / "w2.npz").exists()


def test_a_proof_check_out_of_budget_is_unknown_not_a_hang(cli, tmp_path, monkeypatch):
    """A checker that never finishes on its own stops at the command's --budget: the row keeps
    the certificate's VERIFIED and its proof check reads ``unknown``; the report shows
    ``unknown: budget``."""
    from attncheck.verifiers import proofcheck

    def endless(proof, c, tick=None, exchange=None):
        while True:
            tick()
    monkeypatch.setattr(proofcheck, "check", endless)
    p, w = tmp_path / "p.json", tmp_path / "w.npz"
    r = cli("verify", "induction", "--N", 8, "--mode", "certificate", "--proof", p, "--proof-weights", w,
            "--budget", 3, "--json")
    assert r.code == 0 and r.json["verdict"] == "verified", r.err
    assert r.json["proof"]["check"].startswith("unknown") and "budget" in r.json["proof"]["check"]
    row = _row("ih.budget", "verify induction --N 8 --mode certificate", r.json, tmp_path, p, w)
    assert report_proof.entry(row, str(tmp_path))["check"] == "unknown: budget"


def _row(name, argv, data, d, p, w, verdict="verified", method="certificate"):
    check = Check(name, ("sht24b.two-layer-ub",), tuple(argv.split()), ("sht24b",))
    os.replace(p, d / report_proof.files(check)[0])
    os.replace(w, d / report_proof.files(check)[1])
    return Row(check, verdict, 0, "", method, "", 0.0, check.argv, data)


@pytest.mark.parametrize("argv, why", [
    ("verify induction --N 8 --mode exhaustive", "exhaustive"),
    ("verify hop --k 3 --N 16 --mode sample", "sampled"),
    ("verify mpc sort --N 8", "not a sequence-task"),
    ("verify induction --from w.npz", "--from"),
    ("smt certify induction --N 4", "not a sequence-task"),
])
def test_rows_that_cannot_carry_a_proof_get_no_options(argv, why, tmp_path):
    check = Check("x", ("t",), tuple(argv.split()), ("sht24b",))
    assert report_proof.plan(check, str(tmp_path)) == ()
    assert why in report_proof.why_not(check)


def test_a_written_proof_that_does_not_back_the_row_is_removed(tmp_path):
    """A certificate VERIFIED demoted afterwards (hop's mechanism check) or a killed process:
    the files go, the entry says why; stale files of an earlier run are removed by plan."""
    check = Check("hop.x", ("sht24a.thm4_2",), ("verify", "hop", "--k", "2", "--N", "8"), ("sht24a",))
    pname, wname = report_proof.files(check)
    for verdict, method, data in [("unknown", "certificate", {"proof": {"written": True, "check": "accepted"}}),
                                  ("unknown", "out of budget", None)]:
        (tmp_path / pname).write_text("{}")
        (tmp_path / wname).write_bytes(b"x")
        e = report_proof.entry(Row(check, verdict, 3, "", method, "", 0.0, check.argv, data), str(tmp_path))
        assert e["proof"] is None and e["why"].startswith("no proof:")
        assert not (tmp_path / pname).exists() and not (tmp_path / wname).exists()
    (tmp_path / pname).write_text("{}")
    extra = report_proof.plan(check, str(tmp_path))
    assert extra[0] == "--proof" and extra[2] == "--proof-weights" and not (tmp_path / pname).exists()
