"""Saved constructions (issue 9): ``--from FILE.npz`` verifies exactly like the construction it
was saved from, and tampered or truncated files are refused with one line (exit 2), never a
traceback or an internal error.

The tamperings edit the arrays or the JSON metadata of a real ``build --out`` file; each one must
be rejected by :func:`attncheck.constructions.io.load_construction` (BadInput) or by the
``--from`` checks of cli/seqtask.py (task, metadata against weights, explicit options).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import cli_harness as H
from attncheck.constructions.induction import build_induction
from attncheck.constructions.io import load_construction, save_construction
from attncheck.constructions.verdict import BadInput

VERDICT_KEYS = ("verdict", "method", "claim", "cases", "reason", "counterexample", "evidence", "construction")


def arrays_of(path) -> dict:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def write(path, arrays: dict) -> str:
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return str(path)


def same_construction(a, b) -> bool:
    """Every array bit for bit, and every piece of metadata, equal."""
    eq = np.array_equal
    if not (eq(a.tok_embed, b.tok_embed) and eq(a.pos_embed, b.pos_embed) and eq(a.start_row, b.start_row)):
        return False
    if a.codebooks.keys() != b.codebooks.keys() or not all(eq(a.codebooks[k], b.codebooks[k]) for k in a.codebooks):
        return False
    for la, lb in zip(a.layers, b.layers, strict=True):
        if la.map != lb.map or len(la.heads) != len(lb.heads):
            return False
        for ha, hb in zip(la.heads, lb.heads):
            if not all(eq(getattr(ha, w), getattr(hb, w)) for w in ("W_Q", "W_K", "W_V", "W_O")):
                return False
            if ha.temperature != hb.temperature or ha.promise != hb.promise:
                return False
    return (a.to_json() == b.to_json() and a.layout == b.layout and a.fmt == b.fmt and a.target == b.target
            and (a.decoder.slot, a.decoder.codebook, a.decoder.symbols)
            == (b.decoder.slot, b.decoder.codebook, b.decoder.symbols))


def builders():
    out = [("induction", ["--N", "6", "--alphabet", "3"], lambda: build_induction(6, 3)),
           ("induction", ["--N", "5", "--encoding", "random", "--D", "8", "--seed", "3"],
            lambda: build_induction(5, 3, "random", D=8, seed=3))]
    try:
        from attncheck.constructions.hop import build_hop
        out.append(("hop", ["--N", "5", "--k", "3", "--residual", "additive"],
                    lambda: build_hop(5, 3, 3, residual="additive")))
    except ImportError:
        pass
    return out


@pytest.mark.parametrize("task,opts,build", builders(), ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_save_load_identity_and_same_verdict(tmp_path, task, opts, build):
    path = str(tmp_path / "c.npz")
    o = H.invoke(["build", task, *opts, "--out", path, "--json"])
    assert o.code == 0, o.err
    assert same_construction(load_construction(path), build())
    for mode in ("exhaustive", "certificate"):
        built = H.invoke(["verify", task, *opts, "--mode", mode, "--json"])
        loaded = H.invoke(["verify", task, "--from", path, "--mode", mode, "--json"])
        assert built.code == loaded.code == 0, (built.err, loaded.err)
        jb, jl = json.loads(built.out), json.loads(loaded.out)
        assert [jb[k] for k in VERDICT_KEYS] == [jl[k] for k in VERDICT_KEYS], mode
        assert jl["params"]["from"] == path
    word = ("abcab" * 2)[: int(opts[1])]
    run_b = json.loads(H.invoke(["run", task, *opts, "--input", word, "--json"]).out)
    run_l = json.loads(H.invoke(["run", task, "--from", path, "--input", word, "--json"]).out)
    assert run_b["outputs"] == run_l["outputs"] and run_b["attention_argmax"] == run_l["attention_argmax"]


# --- tampering --------------------------------------------------------------------------------
def _meta_edit(fn):
    def tamper(arrays):
        meta = json.loads(str(arrays["meta"]))
        fn(meta)
        arrays["meta"] = np.array(json.dumps(meta))
        return arrays
    return tamper


def _set(key, value):
    def edit(meta):
        meta[key] = value
    return edit


def _pop(key):
    def edit(meta):
        meta.pop(key)
    return edit


def _arr(name, fn):
    def tamper(arrays):
        arrays[name] = fn(arrays[name])
        return arrays
    return tamper


def _drop(name):
    def tamper(arrays):
        del arrays[name]
        return arrays
    return tamper


def _with_nan(a):
    a = a.copy()
    a.flat[0] = np.nan
    return a


TAMPERINGS = {
    "weight one row short": _arr("L1H0/W_Q", lambda a: a[:-1]),
    "weight float32": _arr("L0H0/W_K", lambda a: a.astype(np.float32)),
    "weight with NaN": _arr("L1H0/W_V", _with_nan),
    "weight as integers": _arr("L0H0/W_O", lambda a: a.astype(np.int64)),
    "token embedding too narrow": _arr("tok_embed", lambda a: a[:, :-1]),
    "position embedding float32": _arr("pos_embed", lambda a: a.astype(np.float32)),
    "start row too long": _arr("start_row", lambda a: np.append(a, 0.0)),
    "start row with inf": _arr("start_row", lambda a: np.full_like(a, np.inf)),
    "codebook missing": _drop("codebook/tok"),
    "weight missing": _drop("L1H0/W_O"),
    "meta missing": _drop("meta"),
    "meta not JSON": lambda a: {**a, "meta": np.array("{not json")},
    "meta is a list": lambda a: {**a, "meta": np.array("[1, 2]")},
    "schema 2": _meta_edit(_set("schema", 2)),
    "no layers": _meta_edit(_pop("layers")),
    "one layer more than arrays": _meta_edit(lambda m: m["layers"].append(m["layers"][-1])),
    "layout slot beyond the width": _meta_edit(lambda m: m["layout"][-1].update(stop=m["layout"][-1]["stop"] + 3)),
    "format malformed": _meta_edit(_set("format", "fixed:banana")),
    "temperature not a number": _meta_edit(lambda m: m["layers"][0]["heads"][0].update(temperature="hot")),
    "promise kind unknown": _meta_edit(lambda m: m["layers"][1]["heads"][0]["promise"].update(kind="guess")),
    "promise reads a missing slot": _meta_edit(lambda m: m["layers"][0]["heads"][0]["promise"].update(query="nope")),
    "decoder symbols too few": _meta_edit(lambda m: m["decoder"].update(symbols=m["decoder"]["symbols"][:2])),
    "decoder slot missing": _meta_edit(lambda m: m["decoder"].update(slot="nope")),
    "decoder codebook missing": _meta_edit(lambda m: m["decoder"].update(codebook="nope")),
    "params N disagrees with weights": _meta_edit(lambda m: m["params"].update(N=7)),
    "params alphabet disagrees": _meta_edit(lambda m: m["params"].update(alphabet=4)),
    "task is hop": _meta_edit(_set("task", "hop")),
    "task unknown": _meta_edit(_set("task", "nosuch")),
    "label op unknown": _meta_edit(lambda m: m["layout"][6].update(label={"base": "X", "ops": [["jump", 1]]})),
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("from") / "ih6.npz"
    save_construction(build_induction(6, 3), str(path))
    return str(path)


def one_line_exit_2(o: H.Outcome) -> None:
    assert H.violation(o) is None, (o.line, H.violation(o))
    assert o.code == 2, (o.line, o.code, o.out[:200])


@pytest.mark.parametrize("what", list(TAMPERINGS))
def test_tampered_file_is_refused(saved, tmp_path, what):
    bad = write(tmp_path / "bad.npz", TAMPERINGS[what](arrays_of(saved)))
    for argv in (["verify", "induction", "--from", bad, "--json"],
                 ["run", "induction", "--from", bad, "--input", "abcabc"]):
        o = H.invoke(argv)
        one_line_exit_2(o)
        assert bad in o.err or "--from" in o.err or "construction" in o.err, o.err


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_truncated_file_is_refused(saved, tmp_path, fraction):
    raw = open(saved, "rb").read()
    bad = tmp_path / "cut.npz"
    bad.write_bytes(raw[: int(len(raw) * fraction)])
    with pytest.raises(BadInput):
        load_construction(str(bad))
    one_line_exit_2(H.invoke(["verify", "induction", "--from", str(bad)]))


def test_flipped_bytes_never_crash(saved, tmp_path):
    """Random single-byte corruptions: refused (2), or -- when they land in a weight's digits --
    a construction that is verified, refuted or unknown; never exit 4."""
    raw = bytearray(open(saved, "rb").read())
    rng = np.random.default_rng(0)
    codes = []
    for i in range(24):
        b = bytearray(raw)
        b[int(rng.integers(0, len(b)))] ^= 0xFF
        bad = tmp_path / f"flip{i}.npz"
        bad.write_bytes(bytes(b))
        o = H.invoke(["verify", "induction", "--from", str(bad), "--mode", "exhaustive", "--json"])
        assert H.violation(o) is None, (o.line, H.violation(o))
        codes.append(o.code)
    assert 2 in codes


def test_from_conflicts_and_agreements(saved):
    one_line_exit_2(H.invoke(["verify", "induction", "--from", saved, "--N", "7"]))
    one_line_exit_2(H.invoke(["verify", "induction", "--from", saved, "--alphabet", "4"]))
    one_line_exit_2(H.invoke(["verify", "induction", "--from", saved, "--encoding", "onehot"]))
    one_line_exit_2(H.invoke(["run", "induction", "--from", saved, "--input", "abcabca"]))   # N = 6 in the file
    assert H.invoke(["run", "induction", "--from", saved, "--input", "abc"]).code == 0     # a prefix runs
    agree = H.invoke(["verify", "induction", "--from", saved, "--N", "6", "--alphabet", "3", "--json"])
    assert agree.code == 0 and json.loads(agree.out)["params"]["N"] == 6
    missing = H.invoke(["verify", "induction"])
    one_line_exit_2(missing)
    assert "--N" in missing.err


def test_wrong_task_is_refused(saved, tmp_path):
    pytest.importorskip("attncheck.constructions.hop")
    o = H.invoke(["verify", "hop", "--from", saved])
    one_line_exit_2(o)
    assert "induction" in o.err
    hop = str(tmp_path / "hop.npz")
    assert H.invoke(["build", "hop", "--N", "5", "--k", "2", "--out", hop]).code == 0
    one_line_exit_2(H.invoke(["verify", "induction", "--from", hop]))
    j = json.loads(H.invoke(["verify", "hop", "--from", hop, "--json"]).out)     # k comes from the file
    assert j["verdict"] == "verified" and j["params"]["k"] == 2
    one_line_exit_2(H.invoke(["verify", "hop", "--from", hop, "--k", "3"]))


def test_mask_kind_and_missing_decoder_survive_a_file(tmp_path):
    """A non-causal mask and a decoder-less model round-trip through the file; a file written
    before mask kinds existed loads as causal; an unknown mask kind is one line, exit 2."""
    from attncheck.constructions.io import from_arrays, to_arrays
    c = build_induction(5, 3)
    for mask in ("full", "causal"):
        m = c.replace(mask=mask, decoder=None)
        path = str(tmp_path / f"{mask}.npz")
        save_construction(m, path)
        back = load_construction(path)
        assert back.mask == mask and back.decoder is None
    arrays = to_arrays(c)
    meta = json.loads(str(arrays["meta"]))
    del meta["mask"]
    arrays["meta"] = np.array(json.dumps(meta))
    assert from_arrays(arrays).mask == "causal"
    meta["mask"] = "sideways"
    arrays["meta"] = np.array(json.dumps(meta))
    with pytest.raises(BadInput, match="unknown mask kind 'sideways'"):
        from_arrays(arrays)
