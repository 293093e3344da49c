"""Hand-edits of construction files, drawn at random, for the differential soundness fuzzer.

An *edit* changes what a user could change in a saved ``.npz``: one entry of any array
(weights, embeddings, start row, codebooks), a whole array (scaled, noised, rows swapped), a
temperature, or any metadata field (slot kinds, bounds, labels and codebooks; promise kinds
and slot names; maps; the decoder; the format; the build parameters).  Edits work on the
file's contents (:func:`attncheck.constructions.io.to_arrays`), so the strict loader sees them
exactly as it would see an edited file.

The fuzzer's property (issue 12): *certificate VERIFIED => exhaustive VERIFIED*, for every
edit that the loader accepts.  Unlike the builders' own mutants (soundness_mutants.py), these
edits touch every place of every array and every metadata field.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

import numpy as np

from attncheck.constructions.induction import build_induction
from attncheck.constructions.io import to_arrays

ENTRY_OPS = ("zero", "negate", "scale", "add", "random", "copy")
DELTAS = (1e-4, 1e-2, 0.1, 0.5, 1.0, 3.0)
SCALES = (0.5, 0.9, 1.1, 2.0, 10.0)


@dataclass(frozen=True)
class FileFamily:
    """A construction to edit: ``build()`` -> construction; task and its parameters."""

    name: str
    build: Callable
    task: str
    params: dict


def families() -> list[FileFamily]:
    from attncheck.constructions.hop import build_hop
    return [
        FileFamily("induction N=5 sinusoidal", lambda: build_induction(5, 3), "induction", {}),
        FileFamily("induction N=5 random D=8", lambda: build_induction(5, 3, "random", D=8, seed=1),
                   "induction", {}),
        FileFamily("induction N=5 onehot |S|=2", lambda: build_induction(5, 2, "onehot"), "induction", {}),
        FileFamily("hop k=2 N=5 overwrite", lambda: build_hop(5, 2, 3), "hop", {"k": 2}),
        FileFamily("hop k=3 N=6 additive |S|=2", lambda: build_hop(6, 3, 2, residual="additive"), "hop",
                   {"k": 3}),
    ]


# --- array edits -----------------------------------------------------------------------------
def _array_keys(arrays: dict, suffix: str = "") -> list[str]:
    return sorted(k for k in arrays if k != "meta" and k.endswith(suffix))


def edit_entry(arrays: dict, meta: dict, rng: np.random.Generator, suffix: str = "") -> str:
    """One entry of one array (of those whose name ends with ``suffix``): zeroed, negated,
    scaled, shifted, replaced or copied."""
    keys = _array_keys(arrays, suffix)
    key = keys[rng.integers(len(keys))]
    a = arrays[key].copy()
    if a.size == 0:
        return f"{key}: empty, unchanged"
    nz = np.flatnonzero(a)
    flat = int(nz[rng.integers(len(nz))]) if len(nz) and rng.random() < 0.5 else int(rng.integers(a.size))
    idx = np.unravel_index(flat, a.shape)
    op = ENTRY_OPS[rng.integers(len(ENTRY_OPS))]
    old = float(a[idx])
    if op == "zero":
        a[idx] = 0.0
    elif op == "negate":
        a[idx] = -old
    elif op == "scale":
        a[idx] = old * SCALES[rng.integers(len(SCALES))]
    elif op == "add":
        a[idx] = old + DELTAS[rng.integers(len(DELTAS))] * rng.choice([-1.0, 1.0])
    elif op == "random":
        a[idx] = rng.normal()
    else:
        a[idx] = a.flat[int(rng.integers(a.size))]
    arrays[key] = a
    return f"{key}{list(map(int, idx))} {op}: {old:.4g} -> {float(a[idx]):.4g}"


def edit_array(arrays: dict, meta: dict, rng: np.random.Generator) -> str:
    """A whole array: scaled, noised, or two rows (positions, symbols, codes) swapped."""
    keys = _array_keys(arrays)
    key = keys[rng.integers(len(keys))]
    a = arrays[key].copy()
    kind = rng.integers(3)
    if kind == 0:
        f = SCALES[rng.integers(len(SCALES))]
        arrays[key] = a * f
        return f"{key} scaled by {f}"
    if kind == 1:
        s = float(rng.choice([1e-6, 1e-4, 1e-2]))
        arrays[key] = a + rng.normal(scale=s, size=a.shape) * (a != 0 if rng.random() < 0.5 else 1)
        return f"{key} noise {s:g}"
    if a.ndim >= 1 and a.shape[0] >= 2:
        i, j = rng.choice(a.shape[0], 2, replace=False)
        a[[i, j]] = a[[j, i]]
        arrays[key] = a
        return f"{key} rows {i} and {j} swapped"
    return f"{key}: too small to swap, unchanged"


# --- metadata edits --------------------------------------------------------------------------
def _slot_names(meta: dict) -> list[str]:
    return [s["name"] for s in meta["layout"]]


def _heads(meta: dict) -> list[dict]:
    return [h for L in meta["layers"] for h in L["heads"]]


def edit_meta(arrays: dict, meta: dict, rng: np.random.Generator) -> str:
    """One metadata field: kinds, bounds, labels, codebooks, promises, maps, decoder, format,
    parameters, temperatures."""
    names = _slot_names(meta)
    pick = rng.integers(12)
    if pick == 0:
        s = meta["layout"][rng.integers(len(names))]
        old, s["kind"] = s["kind"], str(rng.choice(["const", "token", "written", "scratch"]))
        return f"slot {s['name']} kind {old} -> {s['kind']}"
    if pick == 1:
        s = meta["layout"][rng.integers(len(names))]
        key = str(rng.choice(["start", "stop"]))
        s[key] += int(rng.choice([-1, 1]))
        return f"slot {s['name']} {key} -> {s[key]}"
    if pick == 2:
        s = meta["layout"][rng.integers(len(names))]
        choices = [None, {"base": "X", "ops": []}, {"base": "X", "ops": [["shift", -1]]},
                   {"base": "pos", "ops": []}, {"base": "pos", "ops": [["shift", -1]]},
                   {"base": "pos", "ops": [["shift", -2]]}, {"base": "X", "ops": [["find", 1]]}]
        s["label"] = choices[rng.integers(len(choices))]
        return f"slot {s['name']} label -> {s['label']}"
    if pick == 3:
        s = meta["layout"][rng.integers(len(names))]
        books = [None] + sorted(k.split("/", 1)[1] for k in arrays if k.startswith("codebook/"))
        s["codebook"] = books[rng.integers(len(books))]
        return f"slot {s['name']} codebook -> {s['codebook']}"
    heads = _heads(meta)
    h = heads[rng.integers(len(heads))]
    p = h["promise"]
    if pick == 4 and p is not None:
        field = str(rng.choice(["query", "key"]))
        p[field] = names[rng.integers(len(names))]
        return f"promise {field} -> {p[field]}"
    if pick == 5 and p is not None:
        field = str(rng.choice(["values", "writes"]))
        i = int(rng.integers(len(p[field])))
        p[field][i] = names[rng.integers(len(names))]
        return f"promise {field}[{i}] -> {p[field][i]}"
    if pick == 6 and p is not None:
        p["kind"] = "lookup" if p["kind"] == "last_occurrence" else "last_occurrence"
        return f"promise kind -> {p['kind']}"
    if pick == 7:
        f = float(rng.choice([0.1, 0.5, 2.0, -1.0]))
        h["temperature"] = h["temperature"] * f if f != -1.0 else -h["temperature"]
        return f"temperature x {f}"
    if pick == 8:
        maps = [L for L in meta["layers"] if L["map"] is not None]
        if maps:
            m = maps[rng.integers(len(maps))]["map"]
            if m["moves"] and rng.random() < 0.5:
                mv = m["moves"][rng.integers(len(m["moves"]))]
                mv[int(rng.integers(2))] = names[rng.integers(len(names))]
                return f"map move -> {mv}"
            m["clears"] = m["clears"][:-1] if m["clears"] and rng.random() < 0.5 else \
                m["clears"] + [names[rng.integers(len(names))]]
            return f"map clears -> {m['clears']}"
        L = meta["layers"][rng.integers(len(meta["layers"]))]
        L["map"] = {"moves": [], "clears": [names[rng.integers(len(names))]]}
        return f"map added: clears {L['map']['clears']}"
    if pick == 9:
        d = meta["decoder"]
        if rng.random() < 0.5:
            d["slot"] = names[rng.integers(len(names))]
            return f"decoder slot -> {d['slot']}"
        k = int(rng.integers(1, len(d["symbols"])))
        d["symbols"] = d["symbols"][k:] + d["symbols"][:k]
        return f"decoder symbols rotated by {k}"
    if pick == 10:
        I, F = (int(x) for x in meta["format"].split(":")[1].split("."))
        I, F = (I + int(rng.choice([-2, -1, 1])), F) if rng.random() < 0.5 else (I, F + int(rng.choice([-4, -2, -1, 2])))
        meta["format"] = f"fixed:{max(I, 1)}.{max(F, 0)}"
        return f"format -> {meta['format']}"
    key = str(rng.choice(["N", "alphabet", "k"] if "k" in meta["params"] else ["N", "alphabet"]))
    meta["params"][key] = meta["params"].get(key, 0) + int(rng.choice([-1, 1]))
    return f"params {key} -> {meta['params'][key]}"


EDITS = (edit_entry, edit_entry, edit_entry, edit_array, edit_meta, edit_meta)


def edit_w_o(arrays: dict, meta: dict, rng: np.random.Generator) -> str:
    """One entry of one head's W_O (the place the trust-gap fuzzer found its false verdicts)."""
    return edit_entry(arrays, meta, rng, "/W_O")


def mutate(base: dict, rng: np.random.Generator, n_edits: int, edits=EDITS) -> tuple[dict, list[str]]:
    """A copy of a file's contents ``base`` with ``n_edits`` random edits drawn from ``edits``,
    and their descriptions."""
    arrays = {k: v.copy() for k, v in base.items() if k != "meta"}
    meta = json.loads(str(base["meta"]))
    done = []
    for _ in range(n_edits):
        done.append(edits[rng.integers(len(edits))](arrays, meta, rng))
    arrays["meta"] = np.array(json.dumps(meta))
    return arrays, done


def contents(c) -> dict:
    return to_arrays(c)
