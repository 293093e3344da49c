"""Malformed exchange directories: one line naming the file (and key), exit 2, never a traceback.
Each case breaks one thing of a valid directory the way a hand edit or a foreign tool would."""
from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest

from attncheck.constructions import exchange as ex
from test_exchange_forward import random_model


def _json(d):
    return json.load(open(os.path.join(d, "attncheck.json")))


def _set_json(d, meta):
    with open(os.path.join(d, "attncheck.json"), "w") as fh:
        json.dump(meta, fh)


def _edit_json(**changes):
    def f(d):
        meta = _json(d)
        for k, v in changes.items():
            if v is _DROP:
                meta.pop(k)
            else:
                meta[k] = v
        _set_json(d, meta)
    return f


_DROP = object()


def _tensors(d):
    return ex.read_safetensors(os.path.join(d, "model.safetensors"))


def _save(d, t):
    from safetensors.numpy import save_file
    save_file(t, os.path.join(d, "model.safetensors"))


def _edit_tensor(name, fn):
    def f(d):
        t = _tensors(d)
        if fn is None:
            t.pop(name)
        else:
            t[name] = fn(t[name].copy())
        _save(d, t)
    return f


def _nan(a):
    a.flat[0] = np.nan
    return a


def _inf(a):
    a.flat[-1] = np.inf
    return a


def _add_tensor(name, value):
    def f(d):
        t = _tensors(d)
        t[name] = value
        _save(d, t)
    return f


def _raw_file(data: bytes):
    def f(d):
        with open(os.path.join(d, "model.safetensors"), "wb") as fh:
            fh.write(data)
    return f


def _int_tensor(d):
    t = _tensors(d)
    t["unembed.b_U"] = np.zeros(4, dtype=np.int64)
    _save(d, t)


def _remove(name):
    return lambda d: os.remove(os.path.join(d, name))


def _write_text(name, text):
    def f(d):
        with open(os.path.join(d, name), "w") as fh:
            fh.write(text)
    return f


def _header(obj, data=b""):
    h = json.dumps(obj).encode()
    return struct.pack("<Q", len(h)) + h + data


CASES = {
    "missing weights": (_remove("model.safetensors"), "model.safetensors"),
    "missing json": (_remove("attncheck.json"), "attncheck.json"),
    "bad json": (_write_text("attncheck.json", '{"format": "attncheck-exchange", '), "attncheck.json"),
    "json is a list": (_write_text("attncheck.json", "[1, 2]"), "attncheck.json"),
    "unknown key": (_edit_json(colour="blue"), "colour"),
    "wrong format name": (_edit_json(format="gguf"), "format"),
    "future version": (_edit_json(version=2), "version"),
    "missing N": (_edit_json(N=_DROP), "'N'"),
    "N not an integer": (_edit_json(N="6"), "'N'"),
    "d_head mismatch": (_edit_json(d_head=5), "d_head"),
    "d_model mismatch": (_edit_json(d_model=8), "embed.W_E"),
    "n_layers too large": (_edit_json(n_layers=3), "blocks.2"),
    "W_O wrong shape": (_edit_tensor("blocks.0.attn.W_O", lambda a: a[:, :, :-1]), "blocks.0.attn.W_O"),
    "NaN in W_Q": (_edit_tensor("blocks.1.attn.W_Q", _nan), "non-finite"),
    "inf in W_U": (_edit_tensor("unembed.W_U", _inf), "non-finite"),
    "missing W_K": (_edit_tensor("blocks.0.attn.W_K", None), "blocks.0.attn.W_K"),
    "unknown tensor": (_add_tensor("blocks.0.mlp.W_in", np.zeros((7, 4))), "blocks.0.mlp.W_in"),
    "integer tensor": (_int_tensor, "dtype"),
    "garbage weights": (_raw_file(b"\x01\x02not a safetensors file at all"), "model.safetensors"),
    "truncated weights": (_raw_file(_header({"embed.W_E": {"dtype": "F64", "shape": [5, 7],
                                                           "data_offsets": [0, 280]}}, b"\0" * 16)), "data_offsets"),
    "header not json": (_raw_file(struct.pack("<Q", 4) + b"{{{{"), "header"),
    "symbol id out of range": (_edit_json(symbols=[0, 1, 9]), "symbol id 9"),
    "duplicate symbol ids": (_edit_json(symbols=[0, 1, 1]), "twice"),
    "bottom is a symbol": (_edit_json(bottom=1), "bottom"),
    "bottom out of range": (_edit_json(bottom=40), "bottom"),
    "start out of range": (_edit_json(start=99), "start"),
    "N too large for n_ctx": (_edit_json(N=40), "n_ctx"),
    "alphabet vs symbols": (_edit_json(alphabet=2), "alphabet"),
    "unknown task": (_edit_json(task="sorting"), "sorting"),
    "hop without k": (_edit_json(task="hop"), "'k'"),
    "unknown param": (_edit_json(params={"k": 2}), "params"),
    "hop k beyond N": (_edit_json(task="hop", params={"k": 10 ** 9}), "k = 1000000000 > N"),
    "bad precision": (_edit_json(precision="float8"), "precision"),
    "negative attn_scale": (_edit_json(attn_scale=-1.0), "attn_scale"),
    "attn_scale a string": (_edit_json(attn_scale="1"), "attn_scale"),
    "source not an object": (_edit_json(source=[1]), "source"),
}


@pytest.fixture
def valid_dir(tmp_path):
    d = tmp_path / "model"
    ex.write_exchange(random_model(0, H=2, d_head=4, N=6, alphabet=3, d_model=7), d)
    return str(d)


def test_valid_dir_is_read(valid_dir, cli):
    assert ex.read_exchange(valid_dir).N == 6
    assert cli("verify", "induction", "--from", valid_dir, "--json").code == 1     # random weights: refuted


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_dir_one_line_exit_2(case, valid_dir, cli):
    breaker, needle = CASES[case]
    breaker(valid_dir)
    with pytest.raises(ex.BadInput) as e:
        ex.read_exchange(valid_dir)
    msg = str(e.value)
    assert "\n" not in msg and needle in msg, msg
    assert ("attncheck.json" in msg) or ("model.safetensors" in msg), msg
    r = cli("verify", "induction", "--from", valid_dir)
    assert r.code == 2, (case, r.out, r.err)
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.err and needle in lines[0], r.err


def test_not_a_directory_or_npz(tmp_path, cli):
    f = tmp_path / "weights.bin"
    f.write_bytes(b"hello")
    r = cli("verify", "induction", "--from", f)
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1
