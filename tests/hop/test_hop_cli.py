"""CLI contract of verify/run/build/precision hop and depth hop: exit codes, JSON, one-line errors."""
import pytest

from attncheck.constructions import tasks

VERDICT_KEYS = {"verdict", "method", "claim", "cases", "reason", "counterexample", "evidence"}


def test_verify_k8_n64_by_certificate(cli):
    r = cli("verify", "hop", "--k", 8, "--N", 64, "--json")
    assert r.code == 0, r.err
    d = r.json
    assert VERDICT_KEYS <= d.keys() and d["verdict"] == "verified" and d["method"] == "certificate"
    assert d["construction"]["theorem"] == "sht24a.thm4_2" and "[R]" in d["construction"]["status"]
    assert d["construction"]["layers"] == 5
    mech = d["evidence"]["mechanism"]
    assert mech["ok"] and [h["intended"] for h in mech["heads"]][2:] == ["find^1(i)", "find^2(i)", "find^4(i)"]
    assert all(h["agrees_with_schedule"] for h in mech["heads"])
    modes = {m["residual"]: m for m in d["evidence"]["residual_modes"]}
    assert modes["overwrite"]["width"] < modes["additive"]["width"]
    assert set(d["timing"]) >= {"total_s", "mechanism_s"}


@pytest.mark.parametrize("part", ["recursion", "embedding", "both"])
def test_paper_variants_refuted_with_replayed_counterexample(cli, part):
    r = cli("verify", "hop", "--k", 3, "--N", 8, "--alphabet", 2, "--variant", "paper",
            "--paper-part", part, "--mode", "exhaustive", "--json")
    assert r.code == 1, r.err
    ce = r.json["counterexample"]
    assert ce["explanation"]["replayed"]
    assert tasks.hop(ce["tokens"], 3)[ce["position"] - 1] == ce["expected"] != ce["got"]


def test_paper_recursion_certificate_is_never_verified(cli):
    r = cli("verify", "hop", "--k", 4, "--N", 32, "--variant", "paper", "--paper-part", "recursion",
            "--mode", "certificate", "--json")
    assert r.code == 3 and "X[find^2(i)]" in r.json["reason"]


def test_run_matches_ground_truth(cli):
    r = cli("run", "hop", "--k", 3, "--input", "abcabcabcab", "--json")
    assert r.code == 0 and r.json["correct"]
    assert r.json["truth"] == tasks.hop([0, 1, 2] * 3 + [0, 1], 3)
    assert len(r.json["attention_argmax"]) == 4


def test_build_and_precision(cli, tmp_path):
    out = tmp_path / "h.npz"
    r = cli("build", "hop", "--k", 5, "--N", 16, "--residual", "additive", "--out", out, "--json")
    assert r.code == 0 and out.exists() and r.json["construction"]["params"]["residual"] == "additive"
    v = cli("verify", "hop", "--from", out, "--json")
    assert v.code == 0 and v.json["construction"]["params"]["k"] == 5
    p = cli("precision", "hop", "--k", 2, "--N", 16, "--json")
    assert p.code == 0 and p.json["found"] and p.json["bits"] <= r.json["construction"]["bits"]


def test_certificate_over_budget_stops_unknown(cli):
    """The certificate checks the clock between steps (issue 12): an honest UNKNOWN, exit 3,
    naming the budget -- within a generous multiple of it on a loaded machine."""
    import time
    t = time.perf_counter()
    r = cli("verify", "hop", "--k", 16, "--N", 65536, "--budget", 0.01, "--json")
    assert r.code == 3 and r.json["verdict"] == "unknown" and "budget of 0.01 s spent" in r.json["reason"]
    assert time.perf_counter() - t < 0.01 + 8.0


@pytest.mark.parametrize("args", [
    ("--k", 0, "--N", 8), ("--k", 5000, "--N", 8), ("--k", 2, "--N", 1), ("--N", 8),
    ("--k", 2, "--N", 8, "--paper-part", "recursion"), ("--k", 2, "--N", 30, "--mode", "exhaustive")])
def test_bad_input_is_one_line_exit_2(cli, args):
    r = cli("verify", "hop", *args)
    assert r.code == 2 and r.out == ""
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err


def test_depth_hop_table(cli):
    r = cli("depth", "hop", "--k-max", 5, "--N", 16, "--json")
    assert r.code == 0, r.err
    d = r.json
    rows = {row["k"]: row for row in d["rows"]}
    assert [rows[k]["our_depth"] for k in range(1, 6)] == [2, 3, 4, 4, 5]
    assert [rows[k]["paper_depth"] for k in range(1, 6)] == [2, 3, 3, 4, 4]
    assert all(rows[k]["ours"]["verdict"] == "verified" for k in rows)
    assert rows[1]["printed"]["verdict"] == "verified"
    assert all(rows[k]["printed"]["verdict"] == "refuted" for k in range(2, 6))
    assert [rows[k]["reachable_at_paper_depth"] for k in range(1, 6)] == [True, True, False, True, False]
    reach = {r["layers"]: r for r in d["reach"]}
    assert reach[3]["unbounded"]["offsets"] == [0, 1, 2] and 3 in reach[4]["unbounded"]["offsets"]
    assert VERDICT_KEYS <= d.keys() and d["verdict"] == "verified" and d["cases"] == 5


@pytest.mark.parametrize("args", [("--k-max", 0), ("--k-max", 16, "--budget", 0.001)])
def test_depth_bad_input(cli, args):
    r = cli("depth", "hop", *args)
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1 and r.out == ""


def test_k_larger_than_n_is_bad_input(cli):
    """The shared contract: k > N is one line and exit 2 (k = N is still accepted)."""
    r = cli("verify", "hop", "--k", 20, "--N", 6, "--alphabet", 2, "--json")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1 and "k 20 > N = 6" in r.err
    r = cli("verify", "hop", "--k", 6, "--N", 6, "--alphabet", 2, "--json")
    assert r.code == 0 and r.json["method"] == "exhaustive" and r.json["cases"] == 64


def test_auto_mode_samples_when_the_certificate_does_not_close(cli):
    """3^16 inputs are too many to enumerate; the printed recursion's certificate cannot close,
    and auto mode then finds and replays a counterexample by sampling (exit 1, not 3)."""
    r = cli("verify", "hop", "--k", 3, "--N", 16, "--variant", "paper", "--paper-part", "recursion", "--json")
    j = r.json
    assert r.code == 1 and j["verdict"] == "refuted" and j["method"] == "sample"
    assert j["counterexample"]["explanation"]["replayed"] and "certificate" in j["evidence"]
    explicit = cli("verify", "hop", "--k", 3, "--N", 16, "--variant", "paper", "--paper-part", "recursion",
                   "--mode", "certificate", "--json")
    assert explicit.code == 3 and explicit.json["method"] == "certificate"     # --mode certificate: no sampling
