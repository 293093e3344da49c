"""attncheck train (issue 18): the task generator, the error metric, determinism, resume, and a
trained model's save -> verify -> inspect round trip.  Tiny configurations, seconds each."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from attncheck.constructions import tasks  # noqa: E402
from attncheck.constructions import training as tr  # noqa: E402
from attncheck.constructions.budget import Budget  # noqa: E402
from attncheck.constructions.exchange import read_exchange  # noqa: E402
from attncheck.constructions.hooked import HookedAttnOnly  # noqa: E402

TINY = dict(k_max=3, N=7, alphabet=3, width=8, heads=2, steps=12, batch=4, lr=1e-2, warmup=2,
            eval_samples=8, checkpoint_every=4)


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _attncheck(*args):
    r = subprocess.run([sys.executable, "-m", "attncheck.cli.main", *args], capture_output=True, text=True)
    return r


@pytest.mark.parametrize("S,N,k_max", [(3, 9, 4), (4, 12, 8), (5, 6, 2)])
def test_generator_matches_the_definition(S, N, k_max):
    cfg = tr.HopConfig(layers=2, k_max=k_max, N=N, alphabet=S)
    ids, tgt, ks = tr.hop_batch(cfg, np.random.default_rng(7), 200)
    assert ids.shape == (200, N + 1) and tgt.shape == (200, N)
    assert set(np.unique(ks)) <= set(range(k_max + 1)) and len(set(ks)) > 1
    for row, t, k in zip(ids, tgt, ks):
        assert row[0] == cfg.hop_id(int(k))
        x = [int(v) for v in row[1:]]
        assert tasks.hop_multi_sample_ok(x)                       # no equal consecutive tokens
        want = x if k == 0 else tasks.hop(x, int(k))
        assert [S if v is None else v for v in want] == t.tolist()


def test_no_repeat_inputs_reach_every_transition():
    x = tr.no_repeat_inputs(np.random.default_rng(1), 400, 10, 4)
    pairs = {(int(a), int(b)) for r in x for a, b in zip(r, r[1:])}
    assert pairs == {(a, b) for a in range(4) for b in range(4) if a != b}
    assert set(np.unique(x[:, 0])) == set(range(4))


def test_error_metric_ignores_bottom():
    B = 3                                                     # the bottom id (alphabet 3)
    target = np.array([[0, B, 1, B], [B, B, B, B], [2, 2, B, 0]])
    pred = np.array([[0, 0, 2, 1], [0, 1, 2, 0], [2, 1, B, 0]])  # wrong at ⊥ positions is not counted
    e = tr.error_share(pred, target, B)
    assert e[0] == pytest.approx(0.5)                         # 1 of 2 non-⊥ positions wrong
    assert np.isnan(e[1])                                     # no non-⊥ position: left out
    assert e[2] == pytest.approx(1 / 3)
    # evaluate() averages over samples with a non-⊥ position only
    assert float(np.nanmean(e)) == pytest.approx((0.5 + 1 / 3) / 2)


def _weights(state):
    return {k: v.detach().clone() for k, v in state.model.state_dict().items()}


def test_determinism_by_seed():
    cfg = tr.HopConfig(layers=2, **TINY)
    runs = []
    for _ in range(2):
        st = tr.new_state(cfg)
        assert tr.train_steps(st, cfg)
        runs.append(_weights(st))
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])
    other = tr.new_state(tr.HopConfig(layers=2, **{**TINY, "seed": 1}))
    tr.train_steps(other, tr.HopConfig(layers=2, **{**TINY, "seed": 1}))
    assert not torch.equal(runs[0]["embed.W_E"], _weights(other)["embed.W_E"])


class _StopAfter(Budget):
    """A budget that expires after ``n`` checks (train_steps checks once per step)."""

    def __init__(self, n):
        super().__init__(None)
        self.n = n

    def expired(self):
        self.n -= 1
        return self.n < 0


def test_resume_gives_the_weights_of_an_uninterrupted_run(tmp_path):
    cfg = tr.HopConfig(layers=3, **TINY)
    whole = tr.new_state(cfg)
    assert tr.train_steps(whole, cfg)
    ck = str(tmp_path / "ck.pt")
    part = tr.new_state(cfg)
    assert not tr.train_steps(part, cfg, budget=_StopAfter(5), checkpoint=ck)    # stops at step 5
    assert part.step == 5
    resumed = tr.load_checkpoint(cfg, ck)
    assert resumed.step == 5
    assert tr.train_steps(resumed, cfg, checkpoint=ck)
    a, b = _weights(whole), _weights(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError):
        tr.load_checkpoint(tr.HopConfig(layers=3, **{**TINY, "width": 12}), ck)


def test_save_verify_inspect_round_trip(tmp_path):
    cfg = tr.HopConfig(layers=3, **{**TINY, "steps": 30})
    st = tr.new_state(cfg)
    tr.train_steps(st, cfg)
    paths = tr.save_models(st.model, cfg, [1, 2], str(tmp_path), {"test": True})
    for k, p in paths.items():
        m = read_exchange(p)
        assert m.params == {"k": k} and m.start == cfg.hop_id(k) and m.bottom == cfg.alphabet
        # the saved model computes what the trained one computes on [hop_k, X]
        ids, _, _ = tr.hop_batch(cfg, np.random.default_rng(3), 16, np.full(16, k))
        with torch.no_grad():
            a = st.model(torch.as_tensor(ids))[:, 1:].argmax(-1).numpy()
        b = HookedAttnOnly(m).predict(ids[:, 1:])
        assert np.array_equal(m.read_out(a), b)
        r = _attncheck("verify", "hop", "--from", p, "--mode", "exhaustive", "--json")
        v = json.loads(r.stdout)
        assert v["verdict"] in ("verified", "refuted") and r.returncode == {"verified": 0, "refuted": 1}[v["verdict"]]
        counts = tr.exhaustive_counts(m, cfg.N, domains=("all",))["all"]
        # attncheck's verdict and an independent run of every input through the torch pass agree
        assert (v["verdict"] == "verified") == (counts["all_right"] == counts["inputs"])
        if v["verdict"] == "refuted":
            x = v["counterexample"]["tokens"]
            want = tasks.hop(x, k)
            got = HookedAttnOnly(m).predict([x])[0]
            assert any((w is None and g != -1) or (w is not None and g != w) for w, g in zip(want, got))
        r = _attncheck("inspect", "hop", "--from", p, "--probes", "no-repeat", "--inputs", "8", "--json")
        assert r.returncode == 0, r.stderr
        heads = json.loads(r.stdout)["inspection"]["heads"]
        assert {h["layer"] for h in heads} == {1, 2, 3}
        for h in heads:
            for role in ("prev", "find^1", "find^2"):
                assert 0.0 <= h["roles"][role]["alignment"] <= 1.0 + 1e-9


def test_exhaustive_counts_against_ground_truth():
    cfg = tr.HopConfig(layers=2, **TINY)
    m = tr.to_exchange(tr.new_state(cfg).model, cfg, 2)
    c = tr.exhaustive_counts(m, 5, domains=("all", "no_repeat"))
    X = tr.all_inputs(5, 3, False)
    assert len(X) == 3 ** 5 and len({tuple(r) for r in X}) == 3 ** 5
    pred = HookedAttnOnly(m).predict(X)
    right = sum(all((w is None and g == -1) or w == g for w, g in zip(tasks.hop(list(x), 2), p))
                for x, p in zip(X.tolist(), pred))
    assert c["all"]["all_right"] == right
    assert c["no_repeat"]["inputs"] == 3 * 2 ** 4


def test_verify_and_the_train_module_do_not_import_torch(tmp_path):
    cfg = tr.HopConfig(layers=2, **TINY)
    p = tr.save_models(tr.new_state(cfg).model, cfg, [1], str(tmp_path), {})[1]
    code = ("import sys\nfrom attncheck.cli import main as m\nimport attncheck.cli.train\n"
            f"sys.argv = ['attncheck', 'verify', 'hop', '--from', {p!r}, '--mode', 'sample', '--samples', '5']\n"
            "try:\n    m.main()\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules, 'torch imported'\nprint('ok')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip().endswith("ok"), r.stderr


def test_cli_train_hop_budget_resume_and_outputs(tmp_path):
    out = str(tmp_path / "run")
    base = ["train", "hop", "--layers", "2..3", "--steps", "8", "--N", "6", "--k-max", "2", "--alphabet", "3",
            "--width", "8", "--heads", "2", "--batch", "4", "--threads", "1", "--samples", "20", "--out", out]
    r = _attncheck(*base, "--budget", "0.000001", "--json")
    assert r.returncode == 3, r.stderr
    assert json.loads(r.stdout)["stopped"]["layers"] == 2
    r = _attncheck(*base, "--json")                                # no --resume: refused, exit 2
    assert r.returncode == 2
    r = _attncheck(*base, "--resume", "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert [row["layers"] for row in rep["rows"]] == [2, 3]
    for row in rep["rows"]:
        assert set(row["err"]) == {"0", "1", "2"}
        assert set(row["checks"]["verify"]) == {"1", "2"}
    with open(os.path.join(out, "err_vs_k.png"), "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    assert open(os.path.join(out, "table.csv")).readline().startswith("L,params,err_k0")


def test_cli_compare_rnn(tmp_path):
    out = str(tmp_path / "cmp")
    r = _attncheck("train", "compare-rnn", "--task", "induction", "--N", "8", "--alphabet", "3", "--width", "8",
                   "--heads", "2", "--steps", "3", "--batch", "4", "--threads", "1", "--out", out, "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    t, l = rep["transformer"], rep["lstm"]
    assert len(t["loss_by_position"]) == 8 == len(l["loss_by_position"])
    assert abs(l["params"] - t["params"]) <= 0.1 * t["params"]           # matched sizes
    assert rep["myhill_nerode"]["N"] == 8 and rep["myhill_nerode"]["bits"] >= 1
    assert read_exchange(os.path.join(out, "transformer")).task == "induction"
    with open(os.path.join(out, "loss_by_position.png"), "rb") as fh:
        assert fh.read(4) == b"\x89PNG"


def test_bad_input_is_one_line(tmp_path):
    r = _attncheck("train", "hop", "--k-max", "9", "--N", "4", "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "k_max" in r.stderr
