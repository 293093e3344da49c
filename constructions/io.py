"""Save and load constructions: weights in ``.npz``, everything else as JSON metadata inside it.

The file holds arrays named ``tok_embed``, ``pos_embed``, ``start_row``, ``codebook/<name>``,
``L<l>H<h>/<W>`` and one ``meta`` entry (a JSON string: name, task, theorem, status, params,
layout, promises, temperatures, maps, decoder, format, target, notes, a schema number).  Loading
validates shapes, dtypes and metadata and raises BadInput on anything tampered or truncated;
a saved-then-loaded construction is the same construction.
"""
from __future__ import annotations

import json
import zipfile

import numpy as np

from attncheck.constructions.spec import (Construction, Decoder, Head, Label, Layer, Layout, Promise,
                                          Slot, SnapMap)
from attncheck.verifiers.precision import parse_format
from attncheck.verifiers.verdict import BadInput

FILE_SCHEMA = 1
WEIGHTS = ("W_Q", "W_K", "W_V", "W_O")
PROMISE_KINDS = ("lookup", "last_occurrence")
LABEL_BASES = ("X", "pos")
LABEL_OPS = ("shift", "find")


def _label_json(l: Label | None):
    return None if l is None else {"base": l.base, "ops": [list(op) for op in l.ops]}


def _label(d) -> Label | None:
    return None if d is None else Label(d["base"], tuple((str(a), int(b)) for a, b in d["ops"]))


def save_construction(c: Construction, path: str) -> None:
    arrays = {"tok_embed": c.tok_embed, "pos_embed": c.pos_embed, "start_row": c.start_row}
    for name, book in c.codebooks.items():
        arrays[f"codebook/{name}"] = book
    layers = []
    for li, layer in enumerate(c.layers):
        heads = []
        for hi, h in enumerate(layer.heads):
            for w in WEIGHTS:
                arrays[f"L{li}H{hi}/{w}"] = getattr(h, w)
            p = h.promise
            heads.append({"temperature": h.temperature,
                          "promise": None if p is None else {"kind": p.kind, "query": p.query, "key": p.key,
                                                             "values": list(p.values), "writes": list(p.writes),
                                                             "margin": p.margin}})
        m = layer.map
        layers.append({"heads": heads, "map": None if m is None else
                       {"moves": [list(x) for x in m.moves], "clears": list(m.clears)}})
    meta = {"schema": FILE_SCHEMA, "name": c.name, "task": c.task, "theorem": c.theorem, "status": c.status,
            "params": dict(c.params), "format": str(c.fmt), "target": _label_json(c.target),
            "notes": list(c.notes), "layers": layers,
            "layout": [{"name": s.name, "start": s.start, "stop": s.stop, "kind": s.kind,
                        "codebook": s.codebook, "label": _label_json(s.label)} for s in c.layout.slots],
            "decoder": {"slot": c.decoder.slot, "codebook": c.decoder.codebook,
                        "symbols": list(c.decoder.symbols)}}
    arrays["meta"] = np.array(json.dumps(meta))
    try:
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)
    except OSError as e:
        raise BadInput(f"cannot write {path}: {e.strerror}") from None


def load_construction(path: str) -> Construction:
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise BadInput(f"cannot read construction file {path}: {e}") from None
    try:
        meta = json.loads(str(arrays.pop("meta")))
        if not isinstance(meta, dict):
            raise BadInput(f"{path}: metadata is a {type(meta).__name__}, not an object")
        if meta.get("schema") != FILE_SCHEMA:
            raise BadInput(f"{path}: unsupported file schema {meta.get('schema')!r}")
        layout = Layout(tuple(Slot(s["name"], int(s["start"]), int(s["stop"]), s["kind"], s["codebook"],
                                   _label(s["label"])) for s in meta["layout"]))
        D = layout.width
        for name in ("tok_embed", "pos_embed"):
            a = arrays[name]
            if a.dtype != np.float64 or a.ndim != 2 or a.shape[1] != D:
                raise BadInput(f"{path}: {name} has shape {a.shape} / dtype {a.dtype}, expected (*, {D}) float64")
        T = arrays["pos_embed"].shape[0]
        layers = []
        for li, L in enumerate(meta["layers"]):
            heads = []
            for hi, h in enumerate(L["heads"]):
                W = {w: arrays[f"L{li}H{hi}/{w}"] for w in WEIGHTS}
                for w, a in W.items():
                    if a.dtype != np.float64 or not np.all(np.isfinite(a)):
                        raise BadInput(f"{path}: layer {li + 1} head {hi + 1} {w} is not finite float64")
                    if w != "W_O" and (a.shape[-2] != D or (a.ndim == 3 and a.shape[0] != T)):
                        raise BadInput(f"{path}: layer {li + 1} head {hi + 1} {w} has shape {a.shape}")
                if W["W_O"].shape[1] != D:
                    raise BadInput(f"{path}: layer {li + 1} head {hi + 1} W_O has shape {W['W_O'].shape}")
                p = h["promise"]
                promise = None if p is None else Promise(p["kind"], p["query"], p["key"], tuple(p["values"]),
                                                         tuple(p["writes"]), float(p["margin"]))
                heads.append(Head(**W, temperature=float(h["temperature"]), promise=promise))
            m = L["map"]
            smap = None if m is None else SnapMap(tuple(tuple(x) for x in m["moves"]), tuple(m["clears"]))
            layers.append(Layer(tuple(heads), smap))
        books = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("codebook/")}
        dec = meta["decoder"]
        try:
            fmt = parse_format(meta["format"])
        except BadInput as e:
            raise BadInput(f"{path}: {e}") from None
        c = Construction(
            name=meta["name"], task=meta["task"], theorem=meta["theorem"], status=meta["status"],
            params=meta["params"], layout=layout, codebooks=books, tok_embed=arrays["tok_embed"],
            pos_embed=arrays["pos_embed"], start_row=arrays["start_row"], layers=tuple(layers),
            decoder=Decoder(dec["slot"], dec["codebook"], tuple(dec["symbols"])),
            fmt=fmt, target=_label(meta["target"]), notes=tuple(meta["notes"]))
        check_references(c, path)
        return c
    except BadInput:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, json.JSONDecodeError) as e:
        raise BadInput(f"{path} is not a valid attncheck construction file ({type(e).__name__}: {e})") from None


def _check_label(label: Label | None, where: str, path: str) -> None:
    if label is None:
        return
    if label.base not in LABEL_BASES or any(op not in LABEL_OPS for op, _ in label.ops):
        raise BadInput(f"{path}: {where} has an unknown label {label.base}{list(label.ops)}")


def check_references(c: Construction, path: str) -> None:
    """Beyond shapes and dtypes: every array is finite, every name the metadata uses (slots,
    codebooks, promise kinds, label operations) exists, and the build parameters agree with the
    weights.  A file that passes loads into a construction the emulator and verifiers accept."""
    names = set(c.layout.names())
    D = c.layout.width
    if c.start_row.shape != (D,) or not np.all(np.isfinite(c.start_row)):
        raise BadInput(f"{path}: start_row must be {D} finite numbers")
    for name in ("tok_embed", "pos_embed"):
        if not np.all(np.isfinite(getattr(c, name))):
            raise BadInput(f"{path}: {name} is not finite")
    for name, book in c.codebooks.items():
        if book.ndim != 2 or not np.all(np.isfinite(book)):
            raise BadInput(f"{path}: codebook {name!r} is not a finite matrix")
    for s in c.layout.slots:
        if not 0 <= s.start < s.stop:
            raise BadInput(f"{path}: slot {s.name!r} has coordinates {s.start}..{s.stop}")
        if s.codebook is not None and (s.codebook not in c.codebooks
                                       or c.codebooks[s.codebook].shape[1] != s.width):
            raise BadInput(f"{path}: slot {s.name!r} names codebook {s.codebook!r} of another width or none")
        _check_label(s.label, f"slot {s.name!r}", path)
    _check_label(c.target, "the target", path)
    for li, layer in enumerate(c.layers, start=1):
        for hi, h in enumerate(layer.heads, start=1):
            p = h.promise
            if p is not None and (p.kind not in PROMISE_KINDS
                                  or not {p.query, p.key, *p.values, *p.writes} <= names):
                raise BadInput(f"{path}: layer {li} head {hi} promise {p.kind!r} names an unknown kind or slot")
        m = layer.map
        if m is not None and not {n for mv in m.moves for n in mv} | set(m.clears) <= names:
            raise BadInput(f"{path}: the map after layer {li} names a slot that does not exist")
    dec = c.decoder
    if dec.slot not in names or dec.codebook not in c.codebooks:
        raise BadInput(f"{path}: the decoder reads slot {dec.slot!r} / codebook {dec.codebook!r}, which do not exist")
    if len(dec.symbols) != len(c.codebooks[dec.codebook]) or \
            any(v is not None and not (isinstance(v, int) and 0 <= v < c.alphabet) for v in dec.symbols):
        raise BadInput(f"{path}: the decoder's symbols {list(dec.symbols)} do not match codebook"
                       f" {dec.codebook!r} and the alphabet 0..{c.alphabet - 1}")
    p = c.params
    if p.get("N", c.n) != c.n or p.get("alphabet", c.alphabet) != c.alphabet:
        raise BadInput(f"{path}: metadata N={p.get('N')!r}, alphabet={p.get('alphabet')!r} disagrees with"
                       f" the weights (N={c.n}, alphabet={c.alphabet})")
