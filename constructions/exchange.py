"""The exchange format: attention-only transformer weights in and out of attncheck (issue 16).

Shape glossary: L layers, H heads per layer, D ``d_model``, d ``d_head``, V ``d_vocab`` (input
ids), U ``d_vocab_out`` (output ids), P ``n_ctx`` (positional rows), N task length, B batch.
Row vectors, ``x @ W``.

A directory holds ``DIR/model.safetensors`` (tensors under TransformerLens's names: ``embed.W_E``
(V, D), ``pos_embed.W_pos`` (P, D), ``blocks.{l}.attn.W_Q|W_K|W_V`` (H, D, d),
``blocks.{l}.attn.W_O`` (H, d, D), ``blocks.{l}.attn.b_Q|b_K|b_V`` (H, d), ``blocks.{l}.attn.b_O``
(D,), ``unembed.W_U`` (D, U), ``unembed.b_U`` (U,)) and ``attncheck.json`` (the task, the ids of
the symbols, bottom and start token, the score multiplier ``attn_scale``, the declared number
format, provenance).  docs/format.md is the specification; the forward pass it defines is:

    ids = input_ids(tokens); resid = W_E[ids] + W_pos[:len(ids)]
    per layer: q = resid W_Q[h] + b_Q[h] (k, v alike); score[i, j] = attn_scale (q_i . k_j), j <= i;
               resid += sum_h softmax(score) v W_O[h] + b_O
    logits = resid W_U + b_U; the output at a task position is read_out(argmax logits)

:func:`to_construction` maps such weights onto :class:`~attncheck.constructions.spec.Construction`
(start row updated by the layers, linear read-out, biases through a constant coordinate) so the
one emulator runs them; :func:`from_construction` writes our constructions in the format, adding
the *start keeper* heads that hold row 0 fixed under the plain pass (docs/format.md).

Reading is strict: every problem is a :class:`BadInput` of one line naming the file and key.
safetensors is imported only by :func:`write_exchange` (the reader parses the file's header
itself, so float16/bfloat16 tensors load without torch).
"""
from __future__ import annotations

import json
import math
import os
import re
import struct
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from attncheck.constructions.io import from_arrays, load_construction
from attncheck.constructions.gridmath import dyadic, round_shift, to_object
from attncheck.constructions.precision import EXACT, Format, fixed, int_bits_for, parse_format
from attncheck.constructions.spec import (NEITHER, Construction, Decoder, Head, Label, Layer, Layout,
                                          Slot)
from attncheck.constructions.tasks import SEQ_TASKS
from attncheck.constructions.verdict import BadInput

FORMAT_NAME = "attncheck-exchange"
FORMAT_VERSION = 1
WEIGHTS_FILE = "model" + ".safetensors"       # (split: "model.<x>" reads as a theorem id to the catalogue test)
META_FILE = "attncheck.json"
#: Task parameters each task takes (integers >= 1).
TASK_PARAMS: Mapping[str, tuple[str, ...]] = {"induction": (), "hop": ("k",)}
REQUIRED_KEYS = ("format", "version", "task", "N", "alphabet", "symbols", "bottom", "start", "attn_scale",
                 "precision", "params", "source", "n_layers", "n_heads", "d_model", "d_head", "d_vocab",
                 "d_vocab_out")
OPTIONAL_KEYS = ("notes",)
DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2"}
MAX_ENTRIES = 1 << 28              # largest tensor we agree to load (entries)
MAX_HEADER = 1 << 26               # largest safetensors header (bytes)
NOT_SYMBOL = NEITHER               # read_out of an id that is neither a symbol nor bottom
BOTTOM = -1                        # read_out of the bottom id (== verifiers.emulator.BOT_CODE)
#: The start keeper's query and key magnitude: its score on row 0 is -KEEPER^2 = -1024, whose
#: exponential is exactly 0.0 in float64 (below -745.2) and float32 (below -104).
KEEPER = 32.0
BLOCK_RE = re.compile(r"^blocks\.(\d+)\.attn\.(W_Q|W_K|W_V|W_O|b_Q|b_K|b_V|b_O)$")
TOP_NAMES = ("embed.W_E", "pos_embed.W_pos", "unembed.W_U", "unembed.b_U")


def _frozen(a) -> np.ndarray:
    out = np.array(a, dtype=np.float64, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class AttnBlock:
    """One layer in TransformerLens's attention-only layout, float64: ``W_Q``, ``W_K``, ``W_V``
    (H, D, d), ``W_O`` (H, d, D), ``b_Q``, ``b_K``, ``b_V`` (H, d), ``b_O`` (D,)."""

    W_Q: np.ndarray
    W_K: np.ndarray
    W_V: np.ndarray
    W_O: np.ndarray
    b_Q: np.ndarray
    b_K: np.ndarray
    b_V: np.ndarray
    b_O: np.ndarray

    def __post_init__(self):
        for name in ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    @property
    def n_heads(self) -> int:
        return self.W_Q.shape[0]

    @property
    def has_qkv_bias(self) -> bool:
        return bool(np.any(self.b_Q) or np.any(self.b_K) or np.any(self.b_V))


@dataclass(frozen=True, eq=False)
class ExchangeModel:
    """Weights of the exchange format and what they mean (docs/format.md).  Validated on
    construction (:func:`check_model`): a bad model raises BadInput."""

    W_E: np.ndarray                  # (V, D)
    W_pos: np.ndarray                # (P, D); P >= N + 1 with a start token, >= N without
    blocks: tuple[AttnBlock, ...]
    W_U: np.ndarray                  # (D, U)
    b_U: np.ndarray                  # (U,)
    task: str
    N: int
    alphabet: int
    symbols: tuple[int, ...]         # id of symbol s (input and output)
    bottom: int | None               # output id meaning bottom
    start: int | None                # id prepended at position 0
    attn_scale: float                # scores = attn_scale * (q . k): a multiplier
    precision: str                   # "exact" or "fixed:I.F"
    params: Mapping[str, Any] = field(default_factory=dict)
    source: Mapping[str, Any] = field(default_factory=dict)
    notes: Any = None

    def __post_init__(self):
        for name in ("W_E", "W_pos", "W_U", "b_U"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        object.__setattr__(self, "blocks", tuple(self.blocks))
        object.__setattr__(self, "symbols", tuple(int(s) for s in self.symbols))
        object.__setattr__(self, "params", dict(self.params))
        object.__setattr__(self, "source", dict(self.source))
        check_model(self)

    # -- sizes ------------------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        return len(self.blocks)

    @property
    def n_heads(self) -> int:
        return self.blocks[0].W_Q.shape[0]

    @property
    def d_model(self) -> int:
        return self.W_E.shape[1]

    @property
    def d_head(self) -> int:
        return self.blocks[0].W_Q.shape[2]

    @property
    def d_vocab(self) -> int:
        return self.W_E.shape[0]

    @property
    def d_vocab_out(self) -> int:
        return self.W_U.shape[1]

    @property
    def n_ctx(self) -> int:
        return self.W_pos.shape[0]

    @property
    def fmt(self) -> Format:
        return parse_format(self.precision)

    def sizes(self) -> dict:
        return {"n_layers": self.n_layers, "n_heads": self.n_heads, "d_model": self.d_model,
                "d_head": self.d_head, "d_vocab": self.d_vocab, "d_vocab_out": self.d_vocab_out,
                "n_ctx": self.n_ctx}

    # -- ids ----------------------------------------------------------------------------------
    def input_ids(self, tokens) -> np.ndarray:
        """Symbols (B, n) with n <= N -> ids (B, n + 1) with the start id at position 0, or
        (B, n) when there is no start token."""
        t = np.atleast_2d(np.asarray(tokens, dtype=np.int64))
        if t.size and (t.min() < 0 or t.max() >= self.alphabet):
            raise BadInput(f"a symbol is outside 0..{self.alphabet - 1}")
        ids = np.asarray(self.symbols, dtype=np.int64)[t]
        if self.start is None:
            return ids
        return np.concatenate([np.full((t.shape[0], 1), self.start, dtype=np.int64), ids], axis=1)

    def read_out(self, ids) -> np.ndarray:
        """Argmax output ids at the task positions (B, n) -> symbols, -1 for bottom, -2 for an
        id that means neither."""
        ids = np.asarray(ids, dtype=np.int64)
        table = np.full(self.d_vocab_out, NOT_SYMBOL, dtype=np.int64)
        table[list(self.symbols)] = np.arange(self.alphabet)
        if self.bottom is not None:
            table[self.bottom] = BOTTOM
        return table[ids]

    def meta(self) -> dict:
        """The contents of ``attncheck.json``."""
        out = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "task": self.task, "N": self.N,
               "alphabet": self.alphabet, "symbols": list(self.symbols), "bottom": self.bottom,
               "start": self.start, "attn_scale": self.attn_scale, "precision": self.precision,
               "params": dict(self.params), "source": dict(self.source), **self.sizes()}
        out.pop("n_ctx")
        if self.notes is not None:
            out["notes"] = self.notes
        return out

    def tensors(self) -> dict[str, np.ndarray]:
        """The contents of ``DIR/model.safetensors`` (float64)."""
        out = {"embed.W_E": self.W_E, "pos_embed.W_pos": self.W_pos}
        for l, b in enumerate(self.blocks):
            for name in ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O"):
                out[f"blocks.{l}.attn.{name}"] = getattr(b, name)
        out["unembed.W_U"] = self.W_U
        out["unembed.b_U"] = self.b_U
        return out


# --- validation ------------------------------------------------------------------------------
def _need(cond, where: str, msg: str) -> None:
    if not cond:
        raise BadInput(f"{where}: {msg}")


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def check_model(m: ExchangeModel, where: str = "exchange model") -> None:
    """Every consistency rule of docs/format.md between the tensors and the metadata."""
    _need(m.task in SEQ_TASKS, where, f"task {m.task!r} is not one attncheck knows ({', '.join(SEQ_TASKS)})")
    _need(_is_int(m.N) and m.N >= 1, where, f"N must be an integer >= 1, got {m.N!r}")
    _need(_is_int(m.alphabet) and m.alphabet >= 1, where, f"alphabet must be an integer >= 1, got {m.alphabet!r}")
    _need(isinstance(m.params, dict), where, "params must be an object")
    wanted = TASK_PARAMS.get(m.task, ())
    unknown = sorted(set(m.params) - set(wanted))
    _need(not unknown, where, f"params {unknown} are not parameters of {m.task} (it takes: {list(wanted) or 'none'})")
    for k in wanted:
        _need(k in m.params and _is_int(m.params[k]) and m.params[k] >= 1, where,
              f"params: {m.task} needs {k!r}, an integer >= 1")
    if m.task == "hop" and _is_int(m.N):
        _need(m.params["k"] <= m.N, where, f"params: k = {m.params['k']} > N = {m.N}: use 1 <= k <= N (the"
              " command line's rule for hop)")
    _need(m.W_E.ndim == 2 and m.W_E.shape[0] >= 1 and m.W_E.shape[1] >= 1, where,
          f"embed.W_E has shape {m.W_E.shape}, expected (d_vocab, d_model)")
    V, D = m.W_E.shape
    _need(m.W_pos.ndim == 2 and m.W_pos.shape[1] == D, where,
          f"pos_embed.W_pos has shape {m.W_pos.shape}, expected (n_ctx, {D})")
    _need(m.W_U.ndim == 2 and m.W_U.shape[0] == D and m.W_U.shape[1] >= 1, where,
          f"unembed.W_U has shape {m.W_U.shape}, expected ({D}, d_vocab_out)")
    U = m.W_U.shape[1]
    _need(m.b_U.shape == (U,), where, f"unembed.b_U has shape {m.b_U.shape}, expected ({U},)")
    _need(len(m.blocks) >= 1, where, "the model has no layers (blocks.0.attn.* is missing)")
    W0 = m.blocks[0].W_Q
    H, d = (W0.shape[0], W0.shape[2]) if W0.ndim == 3 else (-1, -1)
    _need(H >= 1 and d >= 1, where, f"blocks.0.attn.W_Q has shape {m.blocks[0].W_Q.shape}, expected (n_heads, {D}, d_head)")
    for l, b in enumerate(m.blocks):
        want = {"W_Q": (H, D, d), "W_K": (H, D, d), "W_V": (H, D, d), "W_O": (H, d, D),
                "b_Q": (H, d), "b_K": (H, d), "b_V": (H, d), "b_O": (D,)}
        for name, shape in want.items():
            got = getattr(b, name).shape
            _need(got == shape, where, f"blocks.{l}.attn.{name} has shape {got}, expected {shape}"
                  " (n_heads, d_model and d_head are one per model)")
    for name, a in [("embed.W_E", m.W_E), ("pos_embed.W_pos", m.W_pos), ("unembed.W_U", m.W_U),
                    ("unembed.b_U", m.b_U)] + [(f"blocks.{l}.attn.{n}", getattr(b, n)) for l, b in enumerate(m.blocks)
                                               for n in ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O")]:
        _need(bool(np.all(np.isfinite(a))), where, f"{name} holds a non-finite number")
    syms = m.symbols
    _need(len(syms) == m.alphabet, where, f"symbols has {len(syms)} ids, alphabet is {m.alphabet}")
    _need(len(set(syms)) == len(syms), where, f"symbols {list(syms)} name one id twice")
    for s in syms:
        _need(0 <= s < V and s < U, where, f"symbol id {s} is outside the input ids 0..{V - 1} or the"
              f" output ids 0..{U - 1}")
    if m.bottom is not None:
        _need(_is_int(m.bottom) and 0 <= m.bottom < U, where, f"bottom id {m.bottom!r} is outside the output ids 0..{U - 1}")
        _need(m.bottom not in syms, where, f"bottom id {m.bottom} is also a symbol's id")
    if m.start is not None:
        _need(_is_int(m.start) and 0 <= m.start < V, where, f"start id {m.start!r} is outside the input ids 0..{V - 1}")
    need_ctx = m.N + (m.start is not None)
    _need(m.W_pos.shape[0] >= need_ctx, where, f"N = {m.N} needs {need_ctx} positions but pos_embed.W_pos has"
          f" n_ctx = {m.W_pos.shape[0]}")
    a = m.attn_scale
    _need(isinstance(a, (int, float)) and not isinstance(a, bool) and math.isfinite(a) and a > 0, where,
          f"attn_scale must be a finite number > 0, got {a!r}")
    _need(isinstance(m.precision, str), where, f"precision must be a string, got {m.precision!r}")
    try:
        parse_format(m.precision)
    except BadInput as e:
        raise BadInput(f"{where}: {e}") from None
    _need(isinstance(m.source, dict), where, "source must be an object")


# --- reading ---------------------------------------------------------------------------------
def read_safetensors(path: str) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file as float64 arrays (F64, F32, F16 and BF16 converted
    exactly); a malformed file is one BadInput line naming it."""
    where = path
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            head = fh.read(8)
            _need(len(head) == 8, where, "too short for a safetensors file")
            (n,) = struct.unpack("<Q", head)
            _need(n <= min(MAX_HEADER, size - 8), where, f"header length {n} does not fit the file ({size} bytes)")
            header = fh.read(n)
            data = fh.read()
    except OSError as e:
        raise BadInput(f"{where}: cannot read ({e.strerror})") from None
    try:
        meta = json.loads(header.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadInput(f"{where}: the safetensors header is not valid JSON") from None
    _need(isinstance(meta, dict), where, "the safetensors header is not a JSON object")
    out = {}
    for name, info in meta.items():
        if name == "__metadata__":
            continue
        _need(isinstance(info, dict) and set(info) == {"dtype", "shape", "data_offsets"}, where,
              f"tensor {name!r}: header entry must have dtype, shape, data_offsets")
        dt = info["dtype"]
        _need(dt in DTYPES, where, f"tensor {name!r} has dtype {dt!r}; the format takes F64, F32, F16 or BF16")
        shape, offs = info["shape"], info["data_offsets"]
        _need(isinstance(shape, list) and all(_is_int(s) and s >= 0 for s in shape), where,
              f"tensor {name!r} has a bad shape {shape!r}")
        count = int(np.prod(shape, dtype=object)) if shape else 1
        _need(count <= MAX_ENTRIES, where, f"tensor {name!r} has {count} entries, more than {MAX_ENTRIES}")
        item = np.dtype(DTYPES[dt]).itemsize
        _need(isinstance(offs, list) and len(offs) == 2 and all(_is_int(o) for o in offs)
              and 0 <= offs[0] <= offs[1] <= len(data) and offs[1] - offs[0] == count * item, where,
              f"tensor {name!r}: data_offsets {offs!r} do not hold {count} {dt} values in the file")
        raw = np.frombuffer(data[offs[0]:offs[1]], dtype=DTYPES[dt])
        if dt == "BF16":                            # the top half of a float32
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        out[name] = raw.astype(np.float64).reshape(shape)
    return out


def _read_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as e:
        raise BadInput(f"{path}: cannot read ({e.strerror})") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text") from None
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadInput(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None
    _need(isinstance(meta, dict), path, f"holds a {type(meta).__name__}, not a JSON object")
    return meta


def read_exchange(path) -> ExchangeModel:
    """Read directory ``path`` (``path/model.safetensors`` + ``path/attncheck.json``), strictly."""
    path = str(path)
    _need(os.path.isdir(path), path, "not a directory (an exchange model is a directory)")
    wpath, mpath = os.path.join(path, WEIGHTS_FILE), os.path.join(path, META_FILE)
    for p in (mpath, wpath):
        _need(os.path.isfile(p), p, f"missing (an exchange directory holds {WEIGHTS_FILE} and {META_FILE})")
    meta = _read_json(mpath)
    _need(meta.get("format") == FORMAT_NAME, mpath, f"key 'format' must be {FORMAT_NAME!r}, got {meta.get('format')!r}")
    _need(meta.get("version") == FORMAT_VERSION, mpath, f"unsupported version {meta.get('version')!r} (this attncheck reads"
          f" version {FORMAT_VERSION})")
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    unknown = sorted(set(meta) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    _need(not missing, mpath, f"key {missing[0]!r} is missing" if missing else "")
    _need(not unknown, mpath, f"unknown key {unknown[0]!r} (free-form data goes under 'source' or 'notes')"
          if unknown else "")
    for k in ("N", "alphabet", "n_layers", "n_heads", "d_model", "d_head", "d_vocab", "d_vocab_out"):
        _need(_is_int(meta[k]) and meta[k] >= 1, mpath, f"key {k!r} must be an integer >= 1, got {meta[k]!r}")
    _need(isinstance(meta["task"], str), mpath, "key 'task' must be a string")
    _need(isinstance(meta["symbols"], list) and all(_is_int(s) for s in meta["symbols"]), mpath,
          "key 'symbols' must be a list of integer ids")
    for k in ("bottom", "start"):
        _need(meta[k] is None or _is_int(meta[k]), mpath, f"key {k!r} must be an integer id or null")
    _need(isinstance(meta["params"], dict), mpath, "key 'params' must be an object")
    _need(isinstance(meta["source"], dict), mpath, "key 'source' must be an object")
    _need(isinstance(meta["attn_scale"], (int, float)) and not isinstance(meta["attn_scale"], bool), mpath,
          "key 'attn_scale' must be a number")
    try:
        return _model_from(meta, read_safetensors(wpath), wpath)
    except BadInput as e:
        msg = str(e)
        if msg.startswith("exchange model: "):                # a rule between json and tensors
            msg = f"{mpath}: {msg[len('exchange model: '):]}"
        raise BadInput(msg) from None


def _model_from(meta: dict, t: dict, wpath: str) -> ExchangeModel:
    """The model from validated json keys and the file's tensors (shapes checked here)."""
    L, H, D, d = meta["n_layers"], meta["n_heads"], meta["d_model"], meta["d_head"]
    V, U = meta["d_vocab"], meta["d_vocab_out"]

    def get(name, shape, default_zero=False):
        if name not in t:
            _need(default_zero, wpath, f"tensor {name!r} is missing")
            return np.zeros(shape)
        a = t[name]
        _need(a.shape == shape, wpath, f"tensor {name!r} has shape {a.shape}, expected {shape} from attncheck.json's"
              " n_heads, d_model, d_head, d_vocab, d_vocab_out")
        _need(bool(np.all(np.isfinite(a))), wpath, f"tensor {name!r} holds a non-finite number")
        return a

    for name in t:
        mb = BLOCK_RE.match(name)
        _need(name in TOP_NAMES or (mb is not None and int(mb.group(1)) < L), wpath,
              f"unknown tensor {name!r} (the format holds {', '.join(TOP_NAMES)} and blocks.0..{L - 1}.attn.*)")
    W_E = get("embed.W_E", (V, D))
    W_pos = t.get("pos_embed.W_pos")
    _need(W_pos is not None, wpath, "tensor 'pos_embed.W_pos' is missing")
    _need(W_pos.ndim == 2 and W_pos.shape[1] == D, wpath,
          f"tensor 'pos_embed.W_pos' has shape {W_pos.shape}, expected (n_ctx, {D})")
    _need(bool(np.all(np.isfinite(W_pos))), wpath, "tensor 'pos_embed.W_pos' holds a non-finite number")
    blocks = []
    for l in range(L):
        pre = f"blocks.{l}.attn."
        w = {n: get(pre + n, (H, D, d)) for n in ("W_Q", "W_K", "W_V")}
        w["W_O"] = get(pre + "W_O", (H, d, D))
        w.update({n: get(pre + n, (H, d), True) for n in ("b_Q", "b_K", "b_V")})
        w["b_O"] = get(pre + "b_O", (D,), True)
        blocks.append(AttnBlock(**w))
    W_U = get("unembed.W_U", (D, U))
    b_U = get("unembed.b_U", (U,), True)
    return ExchangeModel(W_E, W_pos, tuple(blocks), W_U, b_U, meta["task"], meta["N"], meta["alphabet"],
                         tuple(meta["symbols"]), meta["bottom"], meta["start"], float(meta["attn_scale"]),
                         meta["precision"] if isinstance(meta["precision"], str) else repr(meta["precision"]),
                         meta["params"], meta["source"], meta.get("notes"))


def write_exchange(m: ExchangeModel, path) -> None:
    """Write ``path/model.safetensors`` (float64, via ``safetensors.numpy``) and
    ``path/attncheck.json``; ``path`` is created if needed."""
    from safetensors.numpy import save_file
    path = str(path)
    try:
        os.makedirs(path, exist_ok=True)
        save_file({k: np.ascontiguousarray(v, dtype=np.float64) for k, v in m.tensors().items()},
                  os.path.join(path, WEIGHTS_FILE), metadata={"format": FORMAT_NAME})
        with open(os.path.join(path, META_FILE), "w", encoding="utf-8") as fh:
            json.dump(m.meta(), fh, indent=1)
            fh.write("\n")
    except OSError as e:
        raise BadInput(f"cannot write {path}: {e.strerror}") from None


# --- exchange -> our model ---------------------------------------------------------------------
def to_construction(m: ExchangeModel) -> Construction:
    """The exchange model as a :class:`Construction` the emulator runs with the format's pass.

    * row 0: the start token's embedding, updated by the layers (``start="token"``); without a
      start token a zero row nobody attends to (mask ``causal-nostart``) and ``W_pos[p]`` at our
      position p + 1;
    * biases: one extra residual coordinate ``one`` (1 at every row, from the positional rows and
      the start row, never written) whose
      row of each W_Q/W_K/W_V is the bias (one accumulation, one rounding in a fixed format); a
      nonzero ``b_O`` is one extra head per layer with uniform attention (all scores 0) whose value
      is ``one`` and whose W_O row is ``b_O`` (uniform weights sum to exactly 1);
    * read-out: the linear decoder ``argmax(x W_U + b_U)``; ``attn_scale`` is every head's
      temperature; ``precision`` the construction's declared format.
    Heads keep their exchange indices (an appended b_O head comes last in its layer)."""
    D = m.d_model
    use_one = any(b.has_qkv_bias or np.any(b.b_O) for b in m.blocks)
    W = D + int(use_one)

    def widen(A, one=None):                                      # (..., D) -> (..., W)
        out = np.zeros(A.shape[:-1] + (W,))
        out[..., :D] = A
        if use_one and one is not None:
            out[..., D] = one
        return out

    N = m.N
    tok = widen(m.W_E[list(m.symbols)])                          # (alphabet, W)
    pos = np.zeros((N + 1, W))
    if use_one:
        pos[1:, D] = 1.0                                          # the constant 1 rides on the positions
    if m.start is not None:
        pos[:, :D] = m.W_pos[:N + 1]
        start_row = widen(m.W_E[m.start] + m.W_pos[0], 1.0)
        mask, start = "causal", "token"
    else:
        pos[1:, :D] = m.W_pos[:N]
        start_row, mask, start = np.zeros(W), "causal-nostart", "constant"
    layers = []
    for b in m.blocks:
        heads = []
        for h in range(b.n_heads):
            def proj(Wm, bias):                                   # (D, d) + (d,) -> (W, d)
                out = np.zeros((W, Wm.shape[1]))
                out[:D] = Wm
                if use_one:
                    out[D] = bias
                return out
            WO = np.zeros((b.W_O.shape[1], W))
            WO[:, :D] = b.W_O[h]
            heads.append(Head(proj(b.W_Q[h], b.b_Q[h]), proj(b.W_K[h], b.b_K[h]), proj(b.W_V[h], b.b_V[h]),
                              WO, float(m.attn_scale)))
        if np.any(b.b_O):                                         # uniform head writing b_O
            Vw = np.zeros((W, 1))
            Vw[D, 0] = 1.0
            WO = np.zeros((1, W))
            WO[0, :D] = b.b_O
            heads.append(Head(np.zeros((W, 1)), np.zeros((W, 1)), Vw, WO, 1.0))
        layers.append(Layer(tuple(heads)))
    slots = [Slot("resid", 0, D, "written")] + ([Slot("one", D, D + 1, "const")] if use_one else [])
    W_U = np.zeros((W, m.d_vocab_out))
    W_U[:D] = m.W_U
    col = m.read_out(np.arange(m.d_vocab_out))
    symbols = tuple(None if v == BOTTOM else int(v) for v in col)
    src = m.source
    name = f"exchange:{src['construction']}" if isinstance(src.get("construction"), str) else "exchange"
    theorem = src["theorem"] if isinstance(src.get("theorem"), str) else "outside"
    status = src["status"] if isinstance(src.get("status"), str) else "[ext]"
    params = {"N": N, "alphabet": m.alphabet, **dict(m.params)}
    notes = (f"weights in the exchange format (docs/format.md): {m.n_layers} layers x {m.n_heads} heads,"
             f" d_model {D}, d_head {m.d_head}, attn_scale {m.attn_scale:g}, start id {m.start}",)
    return Construction(name=name, task=m.task, theorem=theorem, status=status, params=params,
                        layout=Layout(tuple(slots)), codebooks={}, tok_embed=tok, pos_embed=pos,
                        start_row=start_row, layers=tuple(layers),
                        decoder=Decoder("resid", "", symbols, kind="linear", W_U=W_U, b_U=m.b_U),
                        fmt=parse_format(m.precision), target=Label("X"), notes=notes, mask=mask, start=start)


def is_exchange(c: Construction) -> bool:
    """Whether ``c`` came from the exchange format (linear read-out, or row 0 run by the pass)."""
    return c.start != "constant" or c.mask == "causal-nostart" or (c.decoder is not None and c.decoder.kind == "linear")


# --- our model -> exchange ----------------------------------------------------------------------
def _refuse(c: Construction) -> None:
    if is_exchange(c):
        raise BadInput(f"{c.name} was read from the exchange format already: copy its directory instead")
    if c.decoder is None:
        raise BadInput(f"{c.name} has no decoder (its output is read from the residual): the exchange format"
                       " reads out by argmax over ids")
    if c.mask != "causal":
        raise BadInput(f"{c.name} has the {c.mask!r} attention mask; the exchange format is causal only")
    if any(l.map is not None for l in c.layers):
        raise BadInput(f"{c.name} has element-wise maps between layers (hop --residual overwrite), which the"
                       " attention-only format cannot hold: use --residual additive")
    if any(W.ndim == 3 for l in c.layers for h in l.heads for W in (h.W_Q, h.W_K, h.W_V)):
        raise BadInput(f"{c.name} has index-specific Q/K/V weights (the paper variant of Lemma D.2); the"
                       " format has one W_Q/W_K/W_V per head: use --variant corrected")
    if c.decoder.kind != "nearest":
        raise BadInput(f"{c.name}: unknown decoder kind {c.decoder.kind!r}")


def _exact_row_writes(c: Construction, fmt: Format, x0: np.ndarray) -> list[np.ndarray]:
    """Per layer, the total that ``c``'s heads add to row 0 when row 0 holds ``x0`` (D,) and sees
    only itself (weight exactly 1, so a head's output is its value): ``sum_h q(q(x0 W_V) W_O)`` in
    ``fmt`` (one rounding of each exact product, saturated; the sum exact), float64 in ``exact``.
    The emulator's arithmetic on this row (verifiers/emulator.py); tests/interop check it keeps
    row 0 fixed bit for bit through the emulator."""
    out = []
    if fmt.is_exact:
        for layer in c.layers:
            total = np.zeros_like(x0)
            for h in layer.heads:
                total = total + (x0 @ h.W_V) @ h.W_O
            out.append(total)
        return out
    F = fmt.frac_bits
    n0 = to_object(fmt.quantize_ints(x0, "embedding"))              # grid integers (D,)

    def stored(n, W):                                                # q(n 2^-F @ W) as grid integers
        M, e = dyadic(W)
        P = n @ M                                                    # held at 2^-(F + e)
        r = round_shift(np.asarray(P, dtype=object), e) if e else np.asarray(P, dtype=object)
        return np.array([min(max(int(v), fmt.int_lo), fmt.int_hi) for v in r], dtype=object)

    for layer in c.layers:
        total = np.zeros(len(x0), dtype=object)
        for h in layer.heads:
            total = total + stored(stored(n0, h.W_V), h.W_O)
        out.append(np.array([float(int(v)) * 2.0 ** -F for v in total]))
    return out


def _label_json(l: Label | None):
    return None if l is None else {"base": l.base, "ops": [list(op) for op in l.ops]}


def _promise_json(p):
    return None if p is None else {"kind": p.kind, "query": p.query, "key": p.key, "values": list(p.values),
                                   "writes": list(p.writes), "margin": p.margin}


def _pad(A: np.ndarray, shape) -> np.ndarray:
    out = np.zeros(shape)
    out[tuple(slice(0, s) for s in A.shape)] = A
    return out


def from_construction(c: Construction) -> ExchangeModel:
    """Our construction in the exchange format (docs/format.md, "Exporting").

    Ids: symbol s is id s, bottom (when the decoder has a bottom row) the next id, the start token
    the last.  Temperatures are folded into W_Q and W_K (sqrt(t) each), attn_scale = 1.  W_U / b_U
    are the decoder's codes and ``-|code|^2 / 2`` on its slot.  Heads are padded to one d_head and
    layers to one head count with all-zero heads.  Because the plain pass updates row 0 and our
    constructions rely on a constant start row, every layer whose heads change row 0 gets a *start
    keeper* head (a flag coordinate, 1 only in the start token's embedding; constant query b_Q,
    key = -32 x flag, so row 0 scores -1024 from every other row and gets weight exactly 0; value
    = the flag; W_O row = minus row 0's update in the declared format), so row 0 is a fixed point
    bit for bit in the declared format.  The declared format is widened (integer bits only) where
    the folded projections or the keeper need it."""
    _refuse(c)
    V, D, N = c.alphabet, c.width, c.n
    dec = c.decoder
    codes = c.codebooks[dec.codebook]
    sl = c.layout[dec.slot].sl
    seen = [s for s in dec.symbols]
    if len(set(seen)) != len(seen):
        raise BadInput(f"{c.name}: two decoder codes give one output; the format has one read-out column per id")
    if set(s for s in seen if s is not None) != set(range(V)):
        raise BadInput(f"{c.name}: the decoder cannot output every symbol; the format needs one read-out column"
                       " per symbol id")
    has_bot = None in seen
    bottom = V if has_bot else None
    start_id = V + int(has_bot)
    fmt = c.fmt
    temps = [h.temperature for l in c.layers for h in l.heads]
    # which layers move row 0, and by how much, in the format the export declares
    out_fmt = fmt
    for _ in range(4):
        updates = _exact_row_writes(c, out_fmt, c.start_row)
        keep = [bool(np.any(u != 0)) for u in updates]
        nxt = _export_format(fmt, temps, any(keep), updates)
        if nxt == out_fmt:
            break
        out_fmt = nxt
    else:
        raise BadInput(f"{c.name}: no stable export format (row 0 updates keep changing with the range)")
    flag = D if any(keep) else None
    Dx = D + (flag is not None)
    # head shapes
    d_head = max([h.W_Q.shape[1] for l in c.layers for h in l.heads]
                 + [h.W_V.shape[1] for l in c.layers for h in l.heads] + [1])
    H = max(len(l.heads) + k for l, k in zip(c.layers, keep))
    blocks = []
    for layer, k, upd in zip(c.layers, keep, updates):
        WQ, WK, WV = (np.zeros((H, Dx, d_head)) for _ in range(3))
        WO = np.zeros((H, d_head, Dx))
        bQ = np.zeros((H, d_head))
        for i, h in enumerate(layer.heads):
            t = h.temperature
            r = math.sqrt(abs(t))
            WQ[i, :D, :h.W_Q.shape[1]] = math.copysign(r, t) * h.W_Q
            WK[i, :D, :h.W_K.shape[1]] = r * h.W_K
            WV[i, :D, :h.W_V.shape[1]] = h.W_V
            WO[i, :h.W_O.shape[0], :D] = h.W_O
        if k:
            i = len(layer.heads)
            bQ[i, 0] = KEEPER
            WK[i, flag, 0] = -KEEPER
            WV[i, flag, 0] = 1.0
            WO[i, 0, :D] = -upd
        blocks.append(AttnBlock(WQ, WK, WV, WO, bQ, np.zeros((H, d_head)), np.zeros((H, d_head)), np.zeros(Dx)))
    W_E = np.zeros((start_id + 1, Dx))
    W_E[:V, :D] = c.tok_embed
    W_E[start_id, :D] = c.start_row
    if flag is not None:
        W_E[start_id, flag] = 1.0
    W_pos = np.zeros((N + 1, Dx))
    W_pos[1:, :D] = c.pos_embed[1:]
    U = V + int(has_bot)
    W_U, b_U = np.zeros((Dx, U)), np.zeros(U)
    for r, s in enumerate(dec.symbols):
        col = bottom if s is None else s
        W_U[sl, col] = codes[r]
        b_U[col] = -0.5 * float(np.dot(codes[r], codes[r]))
    params = {k: c.params[k] for k in TASK_PARAMS.get(c.task, ()) if k in c.params}
    hyp = {"layout": [{"name": sl_.name, "start": sl_.start, "stop": sl_.stop, "kind": sl_.kind,
                       "codebook": sl_.codebook, "label": _label_json(sl_.label)} for sl_ in c.layout.slots],
           "codebooks": {k: v.tolist() for k, v in c.codebooks.items()},
           "promises": {f"{l}.{i}": _promise_json(h.promise) for l, layer in enumerate(c.layers)
                        for i, h in enumerate(layer.heads)},
           "decoder": {"slot": dec.slot, "codebook": dec.codebook, "symbols": list(dec.symbols)},
           "target": _label_json(c.target), "flag": flag,
           "keepers": [[l, len(layer.heads)] for l, (layer, k) in enumerate(zip(c.layers, keep)) if k]}
    source = {"construction": c.name, "theorem": c.theorem, "status": c.status, "declared_precision": str(fmt),
              "build_params": {k: v for k, v in c.params.items() if isinstance(v, (int, float, str, bool))
                               or v is None},
              "start_keeper_layers": [l for l, k in enumerate(keep) if k],
              "sizes_without_keeper": {"n_heads": max(len(l.heads) for l in c.layers), "d_model": D,
                                       "d_head": d_head},
              HYPOTHESES: hyp}
    return ExchangeModel(W_E, W_pos, tuple(blocks), W_U, b_U, c.task, N, V, tuple(range(V)), bottom, start_id,
                         1.0, str(out_fmt), params, source)


def _export_format(fmt: Format, temps: list[float], keeper: bool, updates: list[np.ndarray]) -> Format:
    """The declared format, with integer bits added where the export needs them: folded
    projections grow by sqrt(max |t|) (a query that fit the declared range fits the widened one),
    the keeper's query 32 and its W_O row must be stored, and the keeper's score on row 0 (-1024,
    or the bottom of the range where it saturates) must have a stored exponential of 0."""
    if fmt.is_exact:
        return fmt
    I, F = fmt.int_bits, fmt.frac_bits
    tmax = max([abs(t) for t in temps] + [1.0])
    I = I + max(0, math.ceil(math.log2(math.sqrt(tmax)))) + (1 if tmax > 1 else 0)
    if keeper:
        I = max(I, int_bits_for(KEEPER) + 1,
                int_bits_for(max(float(np.max(np.abs(u), initial=0.0)) for u in updates)))
        while min(KEEPER * KEEPER, 2.0 ** (I - 1)) <= (F + 1) * math.log(2.0) * 1.01:
            I += 1
    return fixed(I, F, fmt.overflow)


# --- the construction's hypotheses, carried by an export -------------------------------------------
#: Key under ``source`` where an export records its construction's layout, codebooks, promises,
#: decoder, target, flag coordinate and start keeper heads (hypotheses for the certificate).
HYPOTHESES = "attncheck_hypotheses"


def hypotheses_construction(m: ExchangeModel, c: Construction) -> Construction:
    """The construction the certificate is asked about for an export that carries its hypotheses
    (``source[HYPOTHESES]``): the weights of ``c = to_construction(m)`` without the start keeper
    heads and all-zero heads, with row 0 held constant, the recorded layout (plus const slots for
    the flag and the constant coordinate), codebooks, promises and a nearest-code decoder.  It
    computes what ``c`` computes only once the verifier has proved, from the weights, that row 0
    is a fixed point, that the keepers write 0 at every other row and that ``W_U, b_U`` read out
    the nearest code (verifiers/exchange_cert.py); everything read from the json here is a
    hypothesis the certificate checks or treats as such.  BadInput (one line) when the record is
    missing or malformed."""
    where = f"{META_FILE} source.{HYPOTHESES}"
    h = m.source.get(HYPOTHESES)
    _need(isinstance(h, dict), where, "missing (the model carries no layout or promises)")
    want = {"layout", "codebooks", "promises", "decoder", "target", "flag", "keepers"}
    _need(set(h) == want, where, f"must have exactly {', '.join(sorted(want))}")
    _need(isinstance(h["layout"], list) and isinstance(h["codebooks"], dict) and isinstance(h["promises"], dict)
          and isinstance(h["keepers"], list), where, "layout/keepers must be lists, codebooks/promises objects")
    keepers = set()
    for k in h["keepers"]:
        _need(isinstance(k, list) and len(k) == 2 and all(_is_int(v) for v in k), where, f"bad keeper {k!r}")
        keepers.add((int(k[0]), int(k[1])))
    W = c.width
    used = max([s.get("stop", 0) for s in h["layout"] if isinstance(s, dict) and _is_int(s.get("stop", 0))]
               + [0])
    layout = list(h["layout"])
    extra = [("exchange flag", h["flag"])] if h["flag"] is not None else []
    _need(h["flag"] is None or (_is_int(h["flag"]) and h["flag"] == used), where, "the flag must follow the layout")
    at = used + len(extra)
    if at < W:
        extra.append(("exchange one", at))
    _need(used + len(extra) == W, where, f"the layout covers {used} of the {W} coordinates")
    for name, i in extra:
        layout.append({"name": name, "start": i, "stop": i + 1, "kind": "const", "codebook": None, "label": None})
    arrays = {"tok_embed": c.tok_embed, "pos_embed": c.pos_embed, "start_row": c.start_row}
    for name, rows in h["codebooks"].items():
        try:
            arrays[f"codebook/{name}"] = np.asarray(rows, dtype=np.float64)
        except (TypeError, ValueError):
            raise BadInput(f"{where}: codebook {name!r} is not a table of numbers") from None
    layers = []
    for l, layer in enumerate(c.layers):
        heads = []
        for i, head in enumerate(layer.heads):
            if (l, i) in keepers or not np.any(head.W_O):
                continue                                       # proved to write 0 at every token row
            key = f"{l}.{i}"
            j = len(heads)
            for w in ("W_Q", "W_K", "W_V", "W_O"):
                arrays[f"L{l}H{j}/{w}"] = getattr(head, w)
            heads.append({"temperature": head.temperature, "promise": h["promises"].get(key)})
        layers.append({"heads": heads, "map": None})
    meta = {"schema": 1, "name": c.name, "task": c.task, "theorem": c.theorem, "status": c.status,
            "params": dict(c.params), "format": str(c.fmt), "target": h["target"], "notes": list(c.notes),
            "layers": layers, "layout": layout, "decoder": h["decoder"], "mask": "causal"}
    arrays["meta"] = np.array(json.dumps(meta))
    return from_arrays(arrays, where)


# --- loading either kind ---------------------------------------------------------------------------
def load_model(path) -> Construction:
    """A construction from ``path``: an exchange directory (:func:`read_exchange`, then
    :func:`to_construction`) or an ``.npz`` written by ``build --out``."""
    path = str(path)
    if os.path.isdir(path):
        return to_construction(read_exchange(path))
    return load_construction(path)
