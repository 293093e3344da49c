"""Round trips through the exchange format (issue 16): export -> verify --from gives the
construction's verdict; a hand-edited export is REFUTED with a replayed counterexample; random
weights get a verdict; ``export --from F.npz`` equals exporting the built construction; row 0 of
an export stays fixed bit for bit in its declared format.  The oracle beside attncheck's own
verdicts is the independent plain pass of test_exchange_forward.py."""
from __future__ import annotations

import itertools
import json
import os

import numpy as np
import pytest

from attncheck.constructions import exchange as ex
from attncheck.constructions.induction import build_induction
from attncheck.constructions.hop import build_hop
from attncheck.constructions.tasks import SEQ_TASKS
from attncheck.verifiers.emulator import forward
from test_exchange_forward import plain_pass, random_model


def truth(task, X, **params):
    return np.array([[-1 if v is None else v for v in SEQ_TASKS[task](x, **params)] for x in X.tolist()])


def edit_tensor(d, name, fn):
    """Change a tensor of d/model.safetensors the way a user would: safetensors.numpy."""
    from safetensors.numpy import load_file, save_file
    path = os.path.join(d, "model.safetensors")
    t = load_file(path)
    t[name] = fn(t[name].copy())
    save_file(t, path)


@pytest.fixture(scope="module")
def induction8(tmp_path_factory):
    d = tmp_path_factory.mktemp("ind8") / "D"
    from attncheck.cli.main import main
    try:
        main(["export", "induction", "--N", "8", "--alphabet", "3", "--out", str(d), "--json"])
    except SystemExit as e:
        assert e.code == 0
    return str(d)


def test_export_files_and_plain_pass_computes_the_task(induction8):
    """The written directory holds the two files; the plain float64 pass of the format (not
    attncheck's emulator) computes induction on every input of 3^8."""
    assert sorted(os.listdir(induction8)) == ["attncheck.json", "model.safetensors"]
    meta = json.load(open(os.path.join(induction8, "attncheck.json")))
    assert meta["format"] == "attncheck-exchange" and meta["attn_scale"] == 1.0
    assert meta["symbols"] == [0, 1, 2] and meta["bottom"] == 3 and meta["start"] == 4
    m = ex.read_exchange(induction8)
    X = np.array(list(itertools.product(range(3), repeat=8)))
    out, _, _ = plain_pass(m, X)
    assert np.array_equal(out, truth("induction", X))


def test_verify_from_export_verified_then_edit_refuted(induction8, cli, tmp_path):
    r = cli("verify", "induction", "--from", induction8, "--mode", "exhaustive", "--json")
    assert r.code == 0, r.err
    assert r.json["verdict"] == "verified" and r.json["cases"] == 3 ** 8
    d = tmp_path / "edited"
    import shutil
    shutil.copytree(induction8, d)
    m = ex.read_exchange(d)
    W = m.blocks[1].W_O                                               # the layer that copies the answer
    h, i, j = np.unravel_index(np.argmax(np.abs(W)), W.shape)

    def flip(a):
        a[h, i, j] = -a[h, i, j]
        return a
    edit_tensor(str(d), "blocks.1.attn.W_O", flip)
    r = cli("verify", "induction", "--from", str(d), "--mode", "exhaustive", "--json")
    assert r.code == 1, r.err
    ce = r.json["counterexample"]
    assert r.json["verdict"] == "refuted" and ce["explanation"]["replayed"]
    # replay it ourselves: the emulator on the edited weights, in the declared format
    c = ex.to_construction(ex.read_exchange(d))
    x = np.array([ce["tokens"]])
    got = forward(c, x, c.fmt).outputs[0]
    want = truth("induction", x)[0]
    pos = ce["position"] - 1
    assert got[pos] != want[pos]
    assert (None if got[pos] == -1 else got[pos]) == ce["got"]
    assert (None if want[pos] == -1 else want[pos]) == ce["expected"]
    r = cli("verify", "induction", "--from", str(d), "--mode", "exhaustive")
    assert r.code == 1 and "counterexample input:" in r.out


def _without_hypotheses(src, dst):
    """A copy of an export without the hypotheses it records (as outside weights come)."""
    m = ex.read_exchange(src)
    f = {x: getattr(m, x) for x in m.__dataclass_fields__}
    f["source"] = {k: v for k, v in m.source.items() if k != ex.HYPOTHESES}
    ex.write_exchange(ex.ExchangeModel(**f), dst)
    return str(dst)


def test_certificate_mode_is_unknown_naming_the_hypothesis(induction8, cli, tmp_path):
    """Weights without a recorded layout and promises: the certificate says what it lacks."""
    d = _without_hypotheses(induction8, tmp_path / "bare")
    r = cli("verify", "induction", "--from", d, "--mode", "certificate", "--json")
    assert r.code == 3
    assert r.json["verdict"] == "unknown" and "promise" in r.json["reason"] and "start row" in r.json["reason"]
    r = cli("verify", "induction", "--from", induction8, "--mode", "certificate", "--json")   # with them
    assert r.code == 0 and r.json["verdict"] == "verified"


def test_task_mismatch_is_bad_input(induction8, cli):
    r = cli("verify", "hop", "--k", "2", "--from", induction8)
    assert r.code == 2 and "induction" in r.err and len(r.err.strip().splitlines()) == 1


def test_run_from_exchange(induction8, cli):
    r = cli("run", "induction", "--from", induction8, "--input", "abcab", "--json")
    assert r.code == 0, r.err
    assert r.json["outputs"] == [None, None, None, 1, 2]


def test_hop_round_trip_verified(cli, tmp_path):
    d = tmp_path / "hop"
    r = cli("export", "hop", "--k", "2", "--N", "7", "--alphabet", "3", "--residual", "additive", "--out", d, "--json")
    assert r.code == 0, r.err
    assert r.json["check"]["agree"] == r.json["check"]["inputs"] and r.json["check"]["row0_fixed"]
    r = cli("verify", "hop", "--from", d, "--mode", "exhaustive", "--json")
    assert r.code == 0, r.err
    assert r.json["verdict"] == "verified" and r.json["params"]["k"] == 2


def test_hop_overwrite_refused(cli, tmp_path):
    r = cli("export", "hop", "--k", "2", "--N", "7", "--out", tmp_path / "x")
    assert r.code == 2 and "--residual additive" in r.err


def test_export_from_npz_equals_export_of_build(cli, tmp_path):
    f = tmp_path / "f.npz"
    assert cli("build", "induction", "--N", "6", "--alphabet", "2", "--encoding", "onehot", "--out", f).code == 0
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli("export", "induction", "--from", f, "--out", a).code == 0
    assert cli("export", "induction", "--N", "6", "--alphabet", "2", "--encoding", "onehot", "--out", b).code == 0
    assert json.load(open(a / "attncheck.json")) == json.load(open(b / "attncheck.json"))
    ta, tb = ex.read_safetensors(str(a / "model.safetensors")), ex.read_safetensors(str(b / "model.safetensors"))
    assert ta.keys() == tb.keys() and all(np.array_equal(ta[k], tb[k]) for k in ta)


def test_export_refuses_nonempty_dir_unless_force(cli, tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "other").write_text("x")
    r = cli("export", "induction", "--N", "4", "--out", d)
    assert r.code == 2 and "--force" in r.err
    assert cli("export", "induction", "--N", "4", "--out", d, "--force").code == 0


@pytest.mark.parametrize("build", [
    lambda: build_induction(N=8, alphabet=3),
    lambda: build_induction(N=7, alphabet=2, encoding="onehot"),
    lambda: build_induction(N=9, alphabet=3, encoding="random"),
    lambda: build_hop(N=9, k=3, alphabet=3, residual="additive"),
])
def test_export_keeps_row0_fixed_bit_for_bit(build):
    """Through the emulator's start="token" path (row 0 updated by the pass), row 0 of an
    exported model equals its embedding after every layer, as grid integers, in the declared
    format; and the outputs equal the construction's."""
    c = build()
    c2 = ex.to_construction(ex.from_construction(c))
    assert c2.start == "token" and not c2.fmt.is_exact
    X = np.random.default_rng(1).integers(0, c.alphabet, size=(300, c.n))
    tr = forward(c2, X, c2.fmt)
    for g in tr.grid:
        assert np.array_equal(g[:, 0], tr.grid[0][:, 0])
    assert np.array_equal(tr.outputs, forward(c, X, c.fmt).outputs)
    # without the keeper heads row 0 would move (the reason they exist)
    m = ex.from_construction(c)
    assert m.source["start_keeper_layers"]


@pytest.mark.parametrize("seed,start,precision", [(0, True, "exact"), (1, False, "exact"), (2, True, "fixed:8.10"),
                                                  (3, False, "fixed:6.6")])
def test_random_weights_get_a_verdict(seed, start, precision, cli, tmp_path):
    """Random weights in the format: REFUTED with a replayed counterexample, never a traceback."""
    m = random_model(seed, H=2, d_head=3, start=start, N=5, alphabet=3, precision=precision)
    d = tmp_path / "rand"
    ex.write_exchange(m, d)
    r = cli("verify", "induction", "--from", d, "--json")
    assert r.code == 1, r.err
    ce = r.json["counterexample"]
    assert ce["explanation"]["replayed"]
    out, _, _ = plain_pass(m, np.array([ce["tokens"]]))
    if precision == "exact":                                          # the plain pass agrees in float64
        assert out[0, ce["position"] - 1] != truth("induction", np.array([ce["tokens"]]))[0, ce["position"] - 1]


def test_large_N_samples_then_unknown(cli, tmp_path):
    """Beyond the enumeration limit an outside model gets sampled: a correct export stays UNKNOWN
    (no counterexample in the samples), a random one is REFUTED."""
    d = tmp_path / "big"
    assert cli("export", "induction", "--N", "14", "--alphabet", "3", "--out", d).code == 0
    d = _without_hypotheses(d, tmp_path / "bigbare")
    r = cli("verify", "induction", "--from", d, "--samples", "200", "--json")
    assert r.code == 3 and r.json["verdict"] == "unknown"
    assert r.json["method"] == "sample" and "no counterexample in 200 seeded samples" in r.json["reason"]
    m = random_model(5, H=1, d_head=2, N=14, alphabet=3)
    ex.write_exchange(m, tmp_path / "rbig")
    r = cli("verify", "induction", "--from", tmp_path / "rbig", "--samples", "50", "--json")
    assert r.code == 1 and r.json["verdict"] == "refuted"


def test_float32_and_bf16_tensors_are_read_exactly(tmp_path):
    """A TransformerLens user's float32/float16/bfloat16 file loads, each value converted exactly."""
    from safetensors.numpy import save_file
    m = random_model(0, H=1, d_head=2, N=4)
    d = tmp_path / "f32"
    ex.write_exchange(m, d)
    t = ex.read_safetensors(str(d / "model.safetensors"))
    t32 = {k: v.astype(np.float32) for k, v in t.items()}
    t32["embed.W_E"] = t["embed.W_E"].astype(np.float16)
    save_file(t32, str(d / "model.safetensors"))
    m2 = ex.read_exchange(d)
    assert m2.W_E.dtype == np.float64
    assert np.array_equal(m2.W_E, t["embed.W_E"].astype(np.float16).astype(np.float64))
    assert np.array_equal(m2.W_U, t["unembed.W_U"].astype(np.float32).astype(np.float64))
    # bfloat16, written by hand (numpy has no bfloat16): the top 16 bits of a float32
    import struct
    x = np.array([1.5, -2.25, 3.0e-3], dtype=np.float32)
    raw = (x.view(np.uint32) >> 16).astype("<u2").tobytes()
    header = json.dumps({"a": {"dtype": "BF16", "shape": [3], "data_offsets": [0, len(raw)]}}).encode()
    f = tmp_path / "bf.safetensors"
    f.write_bytes(struct.pack("<Q", len(header)) + header + raw)
    got = ex.read_safetensors(str(f))["a"]
    want = ((x.view(np.uint32) >> 16) << 16).view(np.float32).astype(np.float64)
    assert np.array_equal(got, want)


@pytest.mark.parametrize("seed", range(6))
def test_write_read_is_the_identity(seed, tmp_path):
    """write_exchange then read_exchange gives back every tensor bit for bit and every key, with
    and without start token and bottom id."""
    rng = np.random.default_rng(seed)
    m = random_model(seed, H=int(rng.integers(1, 4)), d_head=int(rng.integers(1, 5)), start=bool(seed % 2),
                     biases=bool(seed % 3), N=int(rng.integers(2, 7)), alphabet=int(rng.integers(2, 4)))
    if seed >= 3:                                                     # bottom: none
        f = {x: getattr(m, x) for x in m.__dataclass_fields__}
        f["bottom"] = None
        m = ex.ExchangeModel(**f)
    ex.write_exchange(m, tmp_path / "d")
    m2 = ex.read_exchange(tmp_path / "d")
    assert m2.meta() == m.meta()
    t, t2 = m.tensors(), m2.tensors()
    assert t.keys() == t2.keys() and all(np.array_equal(t[k], t2[k]) for k in t)


def test_no_bottom_id_outputs_neither_and_is_refuted(cli, tmp_path):
    """bottom = null: an output id that is no symbol reads as -2 ("neither"), which the task never
    expects; the verdict is REFUTED with that value, never a crash."""
    m = random_model(4, H=1, d_head=2, N=4, alphabet=2, extra_ids=2)
    f = {x: getattr(m, x) for x in m.__dataclass_fields__}
    f["bottom"] = None
    W_U = m.W_U.copy()
    W_U[:, 2] = 0.0
    f["W_U"], f["b_U"] = W_U, np.array([-50.0, -50.0, 50.0])    # id 2 (no symbol) always wins
    m = ex.ExchangeModel(**f)
    ex.write_exchange(m, tmp_path / "d")
    r = cli("verify", "induction", "--from", tmp_path / "d", "--json")
    assert r.code == 1 and r.json["counterexample"]["got"] == -2
    assert m.read_out(np.array([[0, 1, 2]])).tolist() == [[0, 1, -2]]


def test_an_npz_refuses_weights_from_the_exchange_format(induction8, tmp_path):
    """The .npz schema has no place for a row 0 run by the pass or a W_U read-out: saving such a
    model is one-line BadInput, never a file that loads as another model (or not at all)."""
    from attncheck.constructions.io import save_construction
    from attncheck.constructions.verdict import BadInput
    c = ex.load_model(induction8)
    assert c.start == "token" and c.decoder.kind == "linear"
    with pytest.raises(BadInput, match="an .npz cannot hold it"):
        save_construction(c, str(tmp_path / "x.npz"))
    assert not (tmp_path / "x.npz").exists()
