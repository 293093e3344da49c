"""Save and load constructions: weights in ``.npz``, everything else as JSON metadata inside it.

The file holds arrays named ``tok_embed``, ``pos_embed``, ``start_row``, ``codebook/<name>``,
``L<l>H<h>/<W>`` (``W_Q``, ``W_K``, ``W_V``, ``W_O``) and one ``meta`` entry (a JSON string:
name, task, theorem, status, params, layout, promises, temperatures, maps, decoder, format,
target, notes, a schema number).  docs/formats.md documents every key.

Loading is strict (:func:`from_arrays`): every metadata field is checked against a closed
schema and against the arrays -- shapes, dtypes, finiteness, slot kinds from a closed list, a
layout that partitions the width, promises, maps and the decoder naming real slots of matching
widths and codebooks, no array left over and none missing.  Anything else raises
:class:`BadInput` with one line naming the field.  Pickles are never loaded.  Note that strict
loading only makes a file *well formed*; what the weights compute is for the verifiers to
prove (the certificate treats all metadata as hypotheses).
"""
from __future__ import annotations

import json
import math
import zipfile

import numpy as np

from attncheck.constructions.spec import (MASKS, Construction, Decoder, Head, Label, Layer, Layout,
                                          Promise, Slot, SnapMap)
from attncheck.constructions.precision import parse_format
from attncheck.constructions.verdict import BadInput

FILE_SCHEMA = 1
WEIGHTS = ("W_Q", "W_K", "W_V", "W_O")
SLOT_KINDS = ("const", "token", "written")
PROMISE_KINDS = ("lookup", "last_occurrence")
LABEL_BASES = ("X", "pos")
LABEL_OPS = ("shift", "find")
META_KEYS = {"schema", "name", "task", "theorem", "status", "params", "format", "target", "notes",
             "layers", "layout", "decoder"}
OPTIONAL_KEYS = {"mask"}       # absent in files written before mask kinds existed: causal
MAX_ENTRIES = 1 << 28          # largest array we agree to load (entries)


def _label_json(l: Label | None):
    return None if l is None else {"base": l.base, "ops": [list(op) for op in l.ops]}


def to_arrays(c: Construction) -> dict[str, np.ndarray]:
    """The file's contents: named float64 arrays and the ``meta`` JSON string.  Weights read from
    the exchange format (row 0 run by the pass, a linear read-out) have no place in this schema:
    BadInput, rather than a file that loads as a different model."""
    if c.start != "constant" or (c.decoder is not None and c.decoder.kind != "nearest"):
        raise BadInput(f"{c.name} came from the exchange format (row 0 run by the pass, read-out by W_U);"
                       " an .npz cannot hold it: keep the exchange directory (docs/format.md)")
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
            "notes": list(c.notes), "layers": layers, "mask": c.mask,
            "layout": [{"name": s.name, "start": s.start, "stop": s.stop, "kind": s.kind,
                        "codebook": s.codebook, "label": _label_json(s.label)} for s in c.layout.slots],
            "decoder": None if c.decoder is None else
                       {"slot": c.decoder.slot, "codebook": c.decoder.codebook, "symbols": list(c.decoder.symbols)}}
    arrays["meta"] = np.array(json.dumps(meta))
    return arrays


def save_construction(c: Construction, path: str) -> None:
    arrays = to_arrays(c)                     # before the file is opened: a refusal leaves none behind
    try:
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)
    except OSError as e:
        raise BadInput(f"cannot write {path}: {e.strerror}") from None


def load_construction(path: str) -> Construction:
    """Read ``path`` (never unpickling anything) and validate it with :func:`from_arrays`."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if not hasattr(z, "files"):
                raise BadInput(f"{path} is a single array, not an attncheck construction file (.npz)")
            arrays = {}
            for k in z.files:
                arrays[k] = z[k]
    except BadInput:
        raise
    except (OSError, zipfile.BadZipFile, EOFError):
        raise BadInput(f"{path} is not a readable .npz archive (truncated, or another kind of file)") from None
    except ValueError:
        raise BadInput(f"{path} is not an .npz archive of plain arrays (attncheck never unpickles files)") from None
    except Exception as e:  # noqa: BLE001 - zip/format corruption surfaces as many types
        raise BadInput(f"{path} is not a readable .npz archive ({type(e).__name__})") from None
    return from_arrays(arrays, path)


# --- strict validation -----------------------------------------------------------------------
def _need(cond: bool, where: str, msg: str) -> None:
    if not cond:
        raise BadInput(f"{where}: {msg}")


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _name(x) -> bool:
    return isinstance(x, str) and 0 < len(x) <= 200


def _label(d, where: str) -> Label | None:
    if d is None:
        return None
    _need(isinstance(d, dict) and set(d) == {"base", "ops"}, where, "a label must be {base, ops}")
    _need(d["base"] in LABEL_BASES, where, f"unknown label base {d['base']!r} (known: X, pos)")
    _need(isinstance(d["ops"], list), where, "label ops must be a list")
    ops = []
    for op in d["ops"]:
        _need(isinstance(op, list) and len(op) == 2 and op[0] in LABEL_OPS and _is_int(op[1]),
              where, f"label op {op!r} is not [shift|find, integer]")
        ops.append((op[0], op[1]))
    return Label(d["base"], tuple(ops))


def _array(arrays: dict, key: str, where: str, ndim: tuple[int, ...]) -> np.ndarray:
    _need(key in arrays, where, f"array {key!r} is missing")
    a = arrays[key]
    _need(a.dtype == np.float64, where, f"array {key!r} has dtype {a.dtype}, expected float64")
    _need(a.ndim in ndim, where, f"array {key!r} has {a.ndim} dimensions, expected {' or '.join(map(str, ndim))}")
    _need(a.size <= MAX_ENTRIES, where, f"array {key!r} has {a.size} entries, more than {MAX_ENTRIES}")
    _need(bool(np.all(np.isfinite(a))), where, f"array {key!r} holds a non-finite number")
    return a


def _layout(meta_layout, where: str, D: int) -> Layout:
    _need(isinstance(meta_layout, list) and meta_layout, where, "layout must be a non-empty list of slots")
    slots, owner = [], np.full(D, -1)
    for i, s in enumerate(meta_layout):
        _need(isinstance(s, dict) and set(s) == {"name", "start", "stop", "kind", "codebook", "label"},
              where, f"layout entry {i} must have exactly name, start, stop, kind, codebook, label")
        _need(_name(s["name"]), where, f"layout entry {i} has no valid name")
        _need(_is_int(s["start"]) and _is_int(s["stop"]) and 0 <= s["start"] < s["stop"] <= D, where,
              f"slot {s['name']!r} spans {s['start']!r}..{s['stop']!r}, outside the width {D}")
        _need(s["kind"] in SLOT_KINDS, where,
              f"slot {s['name']!r} has unknown kind {s['kind']!r} (known: {', '.join(SLOT_KINDS)})")
        _need(s["codebook"] is None or _name(s["codebook"]), where, f"slot {s['name']!r} has a bad codebook name")
        if np.any(owner[s["start"]:s["stop"]] >= 0):
            other = meta_layout[int(owner[s["start"]:s["stop"]].max())]["name"]
            raise BadInput(f"{where}: slot {s['name']!r} overlaps slot {other!r}")
        owner[s["start"]:s["stop"]] = i
        slots.append(Slot(s["name"], s["start"], s["stop"], s["kind"], s["codebook"],
                          _label(s["label"], f"{where}: slot {s['name']!r}")))
    _need(len({s.name for s in slots}) == len(slots), where, "two slots share a name")
    _need(not np.any(owner < 0), where, f"residual coordinate {int(np.argmax(owner < 0))} belongs to no slot"
          f" (the layout must cover 0..{D - 1})")
    return Layout(tuple(slots))


def _head(arrays: dict, meta_head, li: int, hi: int, where: str, D: int, T: int, layout: Layout) -> Head:
    at = f"{where}: layer {li + 1} head {hi + 1}"
    _need(isinstance(meta_head, dict) and set(meta_head) == {"temperature", "promise"}, at,
          "must have exactly temperature and promise")
    t = meta_head["temperature"]
    _need(isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t), at,
          f"temperature {t!r} is not a finite number")
    W = {w: _array(arrays, f"L{li}H{hi}/{w}", at, (2,) if w == "W_O" else (2, 3)) for w in WEIGHTS}
    for w in ("W_Q", "W_K", "W_V"):
        a = W[w]
        _need(a.shape[-2] == D and (a.ndim == 2 or a.shape[0] == T), at,
              f"{w} has shape {a.shape}, expected ({D}, k) or ({T}, {D}, k)")
    _need(W["W_Q"].shape[-1] == W["W_K"].shape[-1], at, f"W_Q and W_K widths differ: {W['W_Q'].shape} vs {W['W_K'].shape}")
    _need(W["W_O"].shape == (W["W_V"].shape[-1], D), at,
          f"W_O has shape {W['W_O'].shape}, expected ({W['W_V'].shape[-1]}, {D})")
    p = meta_head["promise"]
    promise = None
    if p is not None:
        _need(isinstance(p, dict) and set(p) == {"kind", "query", "key", "values", "writes", "margin"}, at,
              "promise must have exactly kind, query, key, values, writes, margin")
        _need(p["kind"] in PROMISE_KINDS, at, f"unknown promise kind {p['kind']!r} (known: {', '.join(PROMISE_KINDS)})")
        names = set(layout.names())
        _need(isinstance(p["values"], list) and isinstance(p["writes"], list)
              and len(p["values"]) == len(p["writes"]), at, "promise values and writes must be lists of one length")
        for role in ("query", "key"):
            _need(p[role] in names, at, f"promise {role} names no slot ({p[role]!r})")
        for v, w in zip(p["values"], p["writes"]):
            _need(v in names and w in names, at, f"promise copies {v!r} into {w!r}: no such slot")
            _need(layout[v].width == layout[w].width, at, f"promise copies {v!r} into {w!r} of another width")
        _need(len(set(p["writes"])) == len(p["writes"]), at, "promise writes one slot twice")
        _need(isinstance(p["margin"], (int, float)) and not isinstance(p["margin"], bool)
              and math.isfinite(p["margin"]), at, "promise margin is not a finite number")
        promise = Promise(p["kind"], p["query"], p["key"], tuple(p["values"]), tuple(p["writes"]),
                          float(p["margin"]))
    return Head(**W, temperature=float(t), promise=promise)


def _snap(m, li: int, where: str, layout: Layout, books: dict) -> SnapMap | None:
    if m is None:
        return None
    at = f"{where}: the map after layer {li + 1}"
    _need(isinstance(m, dict) and set(m) == {"moves", "clears"}, at, "must have exactly moves and clears")
    names = set(layout.names())
    _need(isinstance(m["moves"], list) and isinstance(m["clears"], list), at, "moves and clears must be lists")
    for mv in m["moves"]:
        _need(isinstance(mv, list) and len(mv) == 2 and all(x in names for x in mv), at,
              f"move {mv!r} does not name two slots")
        src, dst = (layout[x] for x in mv)
        _need(src.codebook is not None and src.codebook in books and src.width == dst.width, at,
              f"move {mv!r}: the source names no codebook, or the widths differ")
    _need(all(x in names for x in m["clears"]), at, f"clears {m['clears']!r} name a slot that does not exist")
    return SnapMap(tuple(tuple(x) for x in m["moves"]), tuple(m["clears"]))


def _decoder(dec, where: str, layout: Layout, books: dict, V: int) -> Decoder | None:
    """The decoder (null: the model's output is read from the residual, as qSA's is)."""
    if dec is None:
        return None
    _need(isinstance(dec, dict) and set(dec) == {"slot", "codebook", "symbols"}, where,
          "decoder must have exactly slot, codebook, symbols")
    _need(dec["slot"] in layout.names() and dec["codebook"] in books, where,
          f"the decoder reads slot {dec['slot']!r} / codebook {dec['codebook']!r}, which do not exist")
    _need(layout[dec["slot"]].width == books[dec["codebook"]].shape[1], where,
          "the decoder's codebook has another width than its slot")
    syms = dec["symbols"]
    _need(isinstance(syms, list) and len(syms) == len(books[dec["codebook"]])
          and all(v is None or (_is_int(v) and 0 <= v < V) for v in syms), where,
          f"the decoder's symbols do not match codebook {dec['codebook']!r} and the alphabet 0..{V - 1}")
    return Decoder(dec["slot"], dec["codebook"], tuple(syms))


def from_arrays(arrays: dict, where: str = "construction file") -> Construction:
    """Build a construction from a file's arrays, validating every field (one-line BadInput)."""
    _need("meta" in arrays, where, "no 'meta' entry (not an attncheck construction file)")
    raw = arrays["meta"]
    _need(raw.dtype.kind == "U" and raw.ndim == 0, where, "'meta' must be one JSON string")
    try:
        meta = json.loads(str(raw))
    except json.JSONDecodeError as e:
        raise BadInput(f"{where}: metadata is not valid JSON ({e.msg} at character {e.pos})") from None
    _need(isinstance(meta, dict), where, f"metadata is a {type(meta).__name__}, not an object")
    _need(meta.get("schema") == FILE_SCHEMA, where, f"unsupported file schema {meta.get('schema')!r}")
    missing, unknown = META_KEYS - set(meta), set(meta) - META_KEYS - OPTIONAL_KEYS
    _need(not missing and not unknown, where, f"metadata keys {sorted(missing | unknown)} missing or unknown")
    mask = meta.get("mask", "causal")
    _need(mask in MASKS, where, f"unknown mask kind {mask!r} (known: {', '.join(MASKS)})")
    for key in ("name", "task", "theorem", "status"):
        _need(isinstance(meta[key], str), where, f"metadata {key!r} must be a string")
    _need(isinstance(meta["params"], dict), where, "metadata 'params' must be an object")
    _need(isinstance(meta["notes"], list) and all(isinstance(n, str) for n in meta["notes"]), where,
          "metadata 'notes' must be a list of strings")
    tok = _array(arrays, "tok_embed", where, (2,))
    pos = _array(arrays, "pos_embed", where, (2,))
    start = _array(arrays, "start_row", where, (1,))
    D = start.shape[0]
    _need(D >= 1 and tok.shape[1] == D and pos.shape[1] == D, where,
          f"tok_embed {tok.shape}, pos_embed {pos.shape} and start_row {start.shape} disagree on the width")
    _need(tok.shape[0] >= 1 and pos.shape[0] >= 2, where, "no symbols or no positions")
    T = pos.shape[0]
    layout = _layout(meta["layout"], where, D)
    books = {}
    for k in arrays:
        if k.startswith("codebook/"):
            books[k.split("/", 1)[1]] = _array(arrays, k, where, (2,))
    for s in layout.slots:
        _need(s.codebook is None or (s.codebook in books and books[s.codebook].shape[1] == s.width), where,
              f"slot {s.name!r} names codebook {s.codebook!r} of another width or none")
    _need(isinstance(meta["layers"], list), where, "metadata 'layers' must be a list")
    layers = []
    for li, L in enumerate(meta["layers"]):
        _need(isinstance(L, dict) and set(L) == {"heads", "map"} and isinstance(L["heads"], list), where,
              f"layer {li + 1} must have exactly heads (a list) and map")
        heads = tuple(_head(arrays, h, li, hi, where, D, T, layout) for hi, h in enumerate(L["heads"]))
        layers.append(Layer(heads, _snap(L["map"], li, where, layout, books)))
    expected = {"meta", "tok_embed", "pos_embed", "start_row", *(f"codebook/{b}" for b in books),
                *(f"L{li}H{hi}/{w}" for li, L in enumerate(meta["layers"]) for hi in range(len(L["heads"]))
                  for w in WEIGHTS)}
    extra = sorted(set(arrays) - expected)
    if extra:
        raise BadInput(f"{where}: unexpected array {extra[0]!r} (not named by the metadata)")
    decoder = _decoder(meta["decoder"], where, layout, books, tok.shape[0])
    try:
        fmt = parse_format(meta["format"]) if isinstance(meta["format"], str) else None
    except BadInput as e:
        raise BadInput(f"{where}: {e}") from None
    _need(fmt is not None, where, "metadata 'format' must be a string")
    p = meta["params"]
    _need(p.get("N", T - 1) == T - 1 and p.get("alphabet", tok.shape[0]) == tok.shape[0], where,
          f"metadata N={p.get('N')!r}, alphabet={p.get('alphabet')!r} disagrees with the weights"
          f" (N={T - 1}, alphabet={tok.shape[0]})")
    if "k" in p:
        _need(_is_int(p["k"]) and p["k"] >= 1, where, f"metadata k={p['k']!r} is not an integer >= 1")
    try:
        return Construction(
            name=meta["name"], task=meta["task"], theorem=meta["theorem"], status=meta["status"],
            params=p, layout=layout, codebooks=books, tok_embed=tok, pos_embed=pos, start_row=start,
            layers=tuple(layers), decoder=decoder,
            fmt=fmt, target=_label(meta["target"], f"{where}: the target"), notes=tuple(meta["notes"]),
            mask=mask)
    except ValueError as e:
        raise BadInput(f"{where}: {e}") from None
