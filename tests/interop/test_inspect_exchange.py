"""``inspect`` on weights in the exchange format (docs/format.md): no promises, no layout, the
converter's own heads labelled from their weights, a start token or none (issue 16)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pytest.importorskip("safetensors")

from attncheck.constructions import exchange as ex                      # noqa: E402
from attncheck.constructions.hop import build_hop                       # noqa: E402
from attncheck.constructions.induction import build_induction           # noqa: E402
from attncheck.constructions.precision import EXACT                     # noqa: E402
from attncheck.verifiers import inspect as insp                         # noqa: E402


def exported(c, path):
    ex.write_exchange(ex.from_construction(c), path)
    return str(path)


def heads(rep):
    return {(h.layer, h.head): h for h in rep.heads}


def test_exported_induction_keeps_its_roles_and_labels_the_keepers(tmp_path):
    c = ex.load_model(exported(build_induction(9, 3), tmp_path / "ih"))
    assert c.start == "token"
    rep = insp.inspect_model(c, "induction", {}, c.fmt, count=16)
    hm = heads(rep)
    assert rep.start == "token"
    assert hm[(1, 1)].claimed == "prev" and hm[(2, 1)].claimed == "find^1"
    assert hm[(1, 1)].best_alignment > 0.9 and hm[(2, 1)].best_alignment > 0.9
    assert all(h.intended is None and h.agrees is None for h in rep.heads)     # no promises
    assert hm[(1, 2)].kind == hm[(2, 2)].kind == "start keeper"
    assert hm[(1, 1)].kind is None and hm[(2, 1)].kind is None
    # the keeper never looks at the start row from a token row
    assert next(s for s in hm[(1, 2)].scores if s.role == "start").mass == 0.0


def test_exported_hop_layers_follow_the_doubling(tmp_path):
    c = ex.load_model(exported(build_hop(12, 4, 3, residual="additive"), tmp_path / "hop"))
    hm = heads(insp.inspect_model(c, "hop", {"k": 4}, c.fmt, count=16))
    assert [hm[(l, 1)].claimed for l in range(1, 5)] == ["prev", "find^1", "find^1", "find^2"]


def test_an_output_bias_becomes_a_labelled_bias_head(tmp_path):
    m = ex.from_construction(build_induction(8, 3))
    b = m.blocks[0]
    b_O = np.zeros_like(b.b_O)
    b_O[0] = 0.01                                       # one coordinate the keeper does not read
    m = dataclasses.replace(m, blocks=(dataclasses.replace(b, b_O=b_O),) + m.blocks[1:])
    ex.write_exchange(m, tmp_path / "bias")
    c = ex.load_model(str(tmp_path / "bias"))
    assert [len(l.heads) for l in c.layers] == [3, 2]
    assert insp.head_kinds(c) == [[None, "start keeper", "bias"], [None, "start keeper"]]
    hm = heads(insp.inspect_model(c, "induction", {}, EXACT, count=8))
    assert hm[(1, 3)].kind == "bias" and hm[(1, 3)].claimed is None


def test_padding_heads_write_nothing():
    c = build_induction(8, 3)
    h = c.layers[0].heads[0]
    pad = h.replace(W_O=np.zeros_like(h.W_O), promise=None)
    c = c.with_layer(0, dataclasses.replace(c.layers[0], heads=(h, pad)))
    assert insp.head_kinds(c)[0] == [None, "no output"]


def test_without_a_start_token_start_is_no_role(tmp_path, cli):
    m = ex.from_construction(build_induction(8, 3))
    ex.write_exchange(dataclasses.replace(m, start=None), tmp_path / "nostart")
    c = ex.load_model(str(tmp_path / "nostart"))
    rep = insp.inspect_model(c, "induction", {}, c.fmt, count=16)
    assert rep.start == "absent" and "start" not in rep.roles
    r = cli("inspect", "induction", "--from", tmp_path / "nostart", "--inputs", "8", "--json")
    assert r.code == 0, r.err
    assert r.json["inspection"]["start"] == "absent"


def test_random_weights_in_the_format_get_a_report(tmp_path, cli):
    m = ex.from_construction(build_induction(7, 3))
    rng = np.random.default_rng(2)
    blocks = tuple(dataclasses.replace(b, W_Q=rng.normal(size=b.W_Q.shape), W_K=rng.normal(size=b.W_K.shape),
                                       W_V=rng.normal(size=b.W_V.shape), W_O=rng.normal(size=b.W_O.shape))
                   for b in m.blocks)
    ex.write_exchange(dataclasses.replace(m, blocks=blocks, precision="exact"), tmp_path / "rand")
    r = cli("inspect", "induction", "--from", tmp_path / "rand", "--inputs", "8", "--picture",
            tmp_path / "rand.png", "--json")
    assert r.code == 0, r.err
    for h in r.json["inspection"]["heads"]:
        assert all(0.0 <= s["alignment"] <= 1.0 + 1e-12 for s in h["roles"].values())
    assert (tmp_path / "rand.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize("make", [lambda: build_induction(8, 3), lambda: build_induction(8, 3, encoding="onehot"),
                                  lambda: build_hop(9, 3, 3), lambda: build_hop(9, 3, 3, residual="additive")])
def test_our_own_heads_are_never_labelled(make):
    c = make()
    assert all(k is None for row in insp.head_kinds(c) for k in row)
