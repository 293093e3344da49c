"""Proof-carrying certificate verdicts (issue 19): the certificate's claims written as data.

Shape glossary: T = N + 1 positions, nb codebook rows, w a slot's width.

:func:`prove` runs the sequence-task certificate (:func:`attncheck.verifiers.certificate.certify`)
with a record of what it proved, and turns a VERIFIED into a proof for the independent checker
(:mod:`attncheck.verifiers.proofcheck`, docs/soundness.md "Proof-carrying verdicts"): the weights'
SHA-256, the number format, the task, and for the embedding and after every layer and map each
slot's label, the codebook rows it may name at each position and its radius; each head's score
gap and leakage; the decoder margin.

The claims are the certificate's own numbers with headroom (radii times 9/8, leakages doubled, gaps
and the margin halved): the checker derives its own bounds in exact arithmetic, which differ from
the certificate's float64 ones by the certificate's slack, and a claim is accepted when it is
implied by the checker's bound.  A claim is never tighter than what the certificate proved.
"""
from __future__ import annotations

import gzip
import json
from fractions import Fraction

import numpy as np

from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.exchange import hypotheses_construction, read_exchange
from attncheck.constructions.precision import Format
from attncheck.constructions.spec import Construction
from attncheck.constructions.verdict import Status, Verdict
from attncheck.verifiers.certificate import certify
from attncheck.verifiers.proofcheck import FORMAT_TAG, VERSION, label_str, parse_label, then, weights_digest

RADIUS_FACTOR = Fraction(9, 8)
GAP_FACTOR = Fraction(1, 2)


def exact(x) -> str:
    """A float (or Fraction) as an exact rational string "n/d"."""
    f = Fraction(x)
    return f"{f.numerator}/{f.denominator}"


def _rows(d, book_rows: int) -> dict:
    """A certificate SlotState's per-position rows as a proof row set (single / upto / runs)."""
    if d.kind == "table":
        return {"single": [int(r) for r in d.rows]}
    R = d.allowed.at_start(d.start_row)
    if R.kind == "single":
        return {"single": R.rows.tolist()}
    if R.kind == "upto":
        return {"upto": R.ub.tolist()}
    runs, m = [], R.mask
    top = np.where(m.any(axis=1), m.shape[1] - 1 - np.argmax(m[:, ::-1], axis=1), -1)
    if np.array_equal(m, np.arange(m.shape[1])[None, :] <= top[:, None]):      # every set is 0..top
        return {"upto": top.tolist()}
    for t in range(len(m)):
        rows = np.flatnonzero(m[t]).tolist()
        if runs and runs[-1][2] == rows and runs[-1][1] == t - 1:
            runs[-1][1] = t
        else:
            runs.append([t, t, rows])
    return {"runs": runs}


def _labels(c: Construction) -> list[dict]:
    """The label of every slot after the embedding and after every layer and map, by the
    promises (the checker derives the same and compares)."""
    cur = {s.name: (parse_label(str(s.label)) if s.label is not None and s.kind != "written" else None)
           for s in c.layout.slots}
    out = [dict(cur)]
    for layer in c.layers:
        new = dict(cur)
        for h in layer.heads:
            p = h.promise
            ops = cur[p.query][1] if p.kind == "lookup" else (("find", 1),)
            for v, w in zip(p.values, p.writes):
                new[w] = then(ops, cur[v])
        cur = new
        out.append(dict(cur))
        if layer.map is not None:
            new = dict(cur)
            for src, dst in layer.map.moves:
                new[dst] = cur[src]
            for n in layer.map.clears:
                new[n] = None
            cur = new
            out.append(dict(cur))
    return out


def build_proof(c: Construction, task: str, params: dict, fmt: Format, attention: str, record: dict,
                digest_of: Construction | None = None) -> dict:
    """The proof (a JSON-ready dict) from a VERIFIED certificate's record; ``digest_of``: the
    weights the digest is over when they are not ``c`` (an exchange model, whose certificate is
    about the construction of its recorded hypotheses)."""
    T = c.n + 1
    labels = _labels(c)
    states = []
    heads = {}
    for rep in record["heads"]:
        heads.setdefault(rep.layer, []).append(rep)
    for (where, st), labs in zip(record["states"], labels):
        slots = {}
        for s in c.layout.slots:
            d = st[s.name]
            lab = labs[s.name]
            r = np.asarray(d.radius, float)
            if lab is not None and d.kind == "table":        # centre: the stored value, not the code
                r = r + np.abs(d.values[1:] - c.codebooks[s.codebook][d.rows[1:]]).max(axis=0)
            rad = [exact(RADIUS_FACTOR * Fraction(float(x))) for x in r]
            entry = {"label": label_str(lab), "radius": rad}
            if lab is not None:
                entry["rows"] = _rows(d, len(c.codebooks[s.codebook]))
            slots[s.name] = entry
        ent = {"after": where, "slots": slots}
        if where.startswith("layer"):
            li = int(where.split()[1])
            ent["heads"] = []
            for h, rep in zip(c.layers[li - 1].heads, heads.get(li, [])):
                p = h.promise
                ent["heads"].append({"promise": p.kind, "query": p.query, "key": p.key,
                                     "values": list(p.values), "writes": list(p.writes),
                                     "gap": exact(GAP_FACTOR * Fraction(float(rep.min_gap))),
                                     "leak": exact(2 * Fraction(float(rep.leak)))})
        states.append(ent)
    return {"format": FORMAT_TAG, "version": VERSION, "weights_sha256": weights_digest(digest_of or c),
            "number_format": str(fmt), "attention": attention, "task": task,
            "params": {k: v for k, v in params.items()}, "N": c.n, "alphabet": c.alphabet,
            "states": states,
            "decoder": {"slot": c.decoder.slot, "margin": exact(GAP_FACTOR * Fraction(float(record["margin"])))}}


def prove(c: Construction, task: str, params: dict, fmt: Format, attention: str = "softmax",
          budget: Budget = UNLIMITED) -> tuple[Verdict, dict | None]:
    """The certificate's verdict, and its proof when VERIFIED (else None)."""
    record: dict = {}
    v = certify(c, task, params, fmt, attention, budget, record=record)
    if v.status is not Status.VERIFIED:
        return v, None
    return v, build_proof(c, task, params, fmt, attention, record)


def prove_exchange(path: str, c: Construction, task: str, params: dict, fmt: Format,
                   attention: str = "softmax") -> dict | None:
    """The proof for an exchange export of ours (``c = load_model(path)``): the certificate of its
    hypotheses construction, the digest over the exchange weights; None unless VERIFIED.  The
    checker re-derives the exchange premises itself (:func:`proofcheck.exchange_premises`)."""
    m = read_exchange(path)
    ch = hypotheses_construction(m, c)
    record: dict = {}
    if certify(ch, task, params, fmt, attention, record=record).status is not Status.VERIFIED:
        return None
    return {**build_proof(ch, task, params, fmt, attention, record, digest_of=c), "exchange": True}


def write_proof(proof: dict, path: str) -> int:
    """Write the proof as JSON (gzip when the name ends in .gz); returns the bytes written."""
    data = json.dumps(proof, separators=(",", ":")).encode()
    if str(path).endswith(".gz"):
        data = gzip.compress(data)
    with open(path, "wb") as f:
        f.write(data)
    return len(data)
