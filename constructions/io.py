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
        return Construction(
            name=meta["name"], task=meta["task"], theorem=meta["theorem"], status=meta["status"],
            params=meta["params"], layout=layout, codebooks=books, tok_embed=arrays["tok_embed"],
            pos_embed=arrays["pos_embed"], start_row=arrays["start_row"], layers=tuple(layers),
            decoder=Decoder(dec["slot"], dec["codebook"], tuple(dec["symbols"])),
            fmt=parse_format(meta["format"]), target=_label(meta["target"]), notes=tuple(meta["notes"]))
    except BadInput:
        raise
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as e:
        raise BadInput(f"{path} is not a valid attncheck construction file ({type(e).__name__}: {e})") from None
