"""The four trust gaps of issue 12, each as hand-edits of saved files.

Before issue 12 the certificate said VERIFIED on all of these while exhaustive (or sampled)
mode refuted them: it trusted declared slots, promises and kinds instead of the numbers.
Each edit goes through the file contents and the strict loader, like an edited ``.npz``.
Property checked, at N = 5..8 against exhaustive mode and at N = 64 against sampling, for
induction and hop, softmax and hardmax: the certificate never says VERIFIED on a model that
the other mode refutes.  Every family also checks that enough of its edits are really wrong,
so the property is not vacuous.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from attncheck.constructions.hop import build_hop
from attncheck.constructions.induction import build_induction
from attncheck.constructions.io import from_arrays, save_construction, to_arrays
from attncheck.verifiers.certificate import certify
from attncheck.verifiers.exhaustive import check_exhaustive
from attncheck.verifiers.sample import check_sample
from attncheck.constructions.verdict import BadInput, Status

ATTENTIONS = ("softmax", "hardmax")


def edit(c, fn):
    """``fn(arrays, meta)`` edits the file contents of ``c``; the strict loader reads them back."""
    arrays = to_arrays(c)
    arrays = {k: (v.copy() if k != "meta" else v) for k, v in arrays.items()}
    meta = json.loads(str(arrays["meta"]))
    fn(arrays, meta)
    arrays["meta"] = np.array(json.dumps(meta))
    return from_arrays(arrays, "edited")


def heads_of(c):
    return [(li, hi, h) for li, L in enumerate(c.layers) for hi, h in enumerate(L.heads)]


# --- class 1: writes outside the declared slots -------------------------------------------------
def stray_write_edits(c):
    """For every head and every slot outside its declared writes: one W_O entry of +0.5 or +3."""
    for li, hi, h in heads_of(c):
        for s in c.layout.slots:
            if s.name in h.promise.writes:
                continue
            for val in (0.5, 3.0):
                def fn(arrays, meta, li=li, hi=hi, col=s.start, val=val):
                    arrays[f"L{li}H{hi}/W_O"][0, col] += val
                yield f"L{li + 1}H{hi + 1} W_O -> {s.name} +{val}", fn


# --- class 2: shortcuts on an unproven premise -------------------------------------------------
def constant_query_edits(c):
    """Each head's query rebuilt from the constant 1 slot (the same at every position): for a
    lookup the pointer code of position N-1; for lastOccurrence the first token code."""
    T = c.n + 1
    one = c.layout["one"].start
    for li, hi, h in heads_of(c):
        p = h.promise
        src = c.codebooks["pos"][T - 2] if p.kind == "lookup" else c.codebooks["tok"][1]

        def fn(arrays, meta, li=li, hi=hi, src=src, q=c.layout[p.query]):
            W = arrays[f"L{li}H{hi}/W_Q"]
            W[..., q.start:q.stop, :len(src)] = 0.0
            W[..., one, :len(src)] = src
        yield f"L{li + 1}H{hi + 1} query from the constant slot", fn


# --- class 3: two heads writing one slot -------------------------------------------------------
def two_writer_edits(c):
    """The last layer gains a second head: a copy of layer 1's previous-token lookup whose W_O
    now writes into the decoder's slot, so the emulator adds two codes there.  Declared as a
    write of that slot, or declared to write a scratch slot (the W_O says otherwise)."""
    li, out = len(c.layers) - 1, c.decoder.slot
    h1 = c.layers[0].heads[0]
    src = c.layout[h1.promise.writes[0]]
    dst = c.layout[out]
    scratch = [s.name for s in c.layout.slots if s.kind == "written" and s.width == dst.width
               and s.name not in (out, src.name)]

    def add(arrays, meta, declared):
        n = len(meta["layers"][li]["heads"])
        for w in ("W_Q", "W_K", "W_V"):
            arrays[f"L{li}H{n}/{w}"] = arrays[f"L0H0/{w}"].copy()
        W = arrays["L0H0/W_O"].copy()
        W[:, dst.start:dst.stop] = W[:, src.start:src.stop]
        W[:, src.start:src.stop] = 0.0
        arrays[f"L{li}H{n}/W_O"] = W
        head = json.loads(json.dumps(meta["layers"][0]["heads"][0]))
        head["promise"]["writes"] = [declared]
        meta["layers"][li]["heads"].append(head)
    yield f"L{li + 1} gains a second writer of {out!r} (declared)", lambda a, m: add(a, m, out)
    if scratch:
        yield (f"L{li + 1} gains a second writer of {out!r} (declared {scratch[0]!r})",
               lambda a, m: add(a, m, scratch[0]))


# --- class 4: metadata taken on trust ----------------------------------------------------------
def metadata_edits(c):
    for s in c.layout.slots:
        for kind in ("const", "token", "written"):
            if kind != s.kind:
                def fn(arrays, meta, name=s.name, kind=kind):
                    next(x for x in meta["layout"] if x["name"] == name)["kind"] = kind
                yield f"slot {s.name} kind -> {kind}", fn
        if s.label is not None:
            def lab(arrays, meta, name=s.name):
                x = next(x for x in meta["layout"] if x["name"] == name)
                x["label"] = {"base": x["label"]["base"], "ops": x["label"]["ops"] + [["shift", -1]]}
            yield f"slot {s.name} label shifted", lab


EDIT_CLASSES = {"stray writes": stray_write_edits, "constant query": constant_query_edits,
                "two writers": two_writer_edits, "metadata": metadata_edits}


def small_families():
    yield "induction N=5", build_induction(5, 3), "induction", {}
    yield "induction N=8 |S|=2", build_induction(8, 2), "induction", {}
    yield "hop k=2 N=6", build_hop(6, 2, 3), "hop", {"k": 2}
    yield "hop k=3 N=7 additive |S|=2", build_hop(7, 3, 2, residual="additive"), "hop", {"k": 3}


@pytest.mark.slow
@pytest.mark.parametrize("cls", list(EDIT_CLASSES))
def test_no_false_verified_against_exhaustive(cls):
    wrong_seen = 0
    for fam, c, task, params in small_families():
        for what, fn in EDIT_CLASSES[cls](c):
            try:
                m = edit(c, fn)
            except BadInput:
                continue                                      # the loader refused the file: exit 2
            for att in ATTENTIONS:
                cert = certify(m, task, params, m.fmt, att)
                if cert.status is not Status.VERIFIED:
                    continue
                ex = check_exhaustive(m, task, params, m.fmt, att)
                assert ex.status is Status.VERIFIED, (fam, what, att, ex.reason)
        for what, fn in list(EDIT_CLASSES[cls](c))[:12]:
            try:
                m = edit(c, fn)
            except BadInput:
                continue
            wrong_seen += check_exhaustive(m, task, params, m.fmt, "hardmax").status is Status.REFUTED
    if cls != "metadata":
        assert wrong_seen > 0, f"no edit of class {cls!r} is really wrong: the test would be vacuous"


@pytest.mark.slow
@pytest.mark.parametrize("task,build,params", [
    ("induction", lambda: build_induction(64, 3), {}),
    ("hop", lambda: build_hop(64, 2, 3), {"k": 2}),
], ids=["induction N=64", "hop k=2 N=64"])
def test_no_false_verified_at_N64_against_sampling(task, build, params):
    c = build()
    refuted = 0
    for cls in ("stray writes", "constant query", "two writers"):
        for i, (what, fn) in enumerate(EDIT_CLASSES[cls](c)):
            if cls == "stray writes" and i % 3:
                continue                                      # a third of the columns keeps it quick
            m = edit(c, fn)
            for att in ATTENTIONS:
                smp = check_sample(m, task, params, m.fmt, att, samples=300, seed=1)
                cert = certify(m, task, params, m.fmt, att)
                if smp.status is Status.REFUTED:
                    refuted += 1
                    assert cert.status is not Status.VERIFIED, (what, att, smp.reason)
    assert refuted >= 4


def test_unknown_kind_is_bad_input_and_unknown_in_memory(tmp_path):
    c = build_induction(6, 3)
    with pytest.raises(BadInput, match="unknown kind"):
        edit(c, lambda a, m: m["layout"][4].__setitem__("kind", "mystery"))
    from attncheck.constructions.spec import Layout, Slot
    slots = list(c.layout.slots)
    s = slots[4]
    slots[4] = Slot(s.name, s.start, s.stop, "mystery", s.codebook, s.label)
    v = certify(c.replace(layout=Layout(tuple(slots))), "induction", {}, c.fmt)
    assert v.status is Status.UNKNOWN and "unknown kind" in v.reason


def test_hand_edited_file_through_the_cli(tmp_path, cli):
    """The issue's report, replayed: build, edit one W_O entry by hand, verify both ways."""
    path = tmp_path / "ih.npz"
    save_construction(build_induction(6, 3), str(path))
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["L0H0/W_O"] = arrays["L0H0/W_O"].copy()
    arrays["L0H0/W_O"][0, 0] += 3.0                            # layer 1 writes into the constant 1
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    ex = cli("verify", "induction", "--from", path, "--mode", "exhaustive", "--json")
    ce = cli("verify", "induction", "--from", path, "--mode", "certificate", "--json")
    assert ex.code == 1 and ex.json["verdict"] == "refuted"
    assert ce.code == 3 and ce.json["verdict"] == "unknown"
