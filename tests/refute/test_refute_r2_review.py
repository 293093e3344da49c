"""Reviewer R2's regression tests for the refute commands (bad inputs found by hand)."""
from __future__ import annotations


def test_softmax_in_a_format_without_exp0_is_bad_input(cli):
    # fixed:1.0 stores exp(0) = 1 above its range: softmax is undefined there (was exit 4).
    r = cli("refute", "one-layer", "induction", "--N", "4", "--precision", "fixed:1.0")
    assert r.code == 2, (r.code, r.err)
    assert len(r.err.strip().splitlines()) == 1 and "exp(0)" in r.err
    r = cli("refute", "one-layer", "induction", "--N", "4", "--precision", "fixed:1.0", "--attention", "hardmax")
    assert r.code in (1, 3), (r.code, r.err)


def test_hop_with_the_default_k_has_a_working_default_split(cli):
    # before: the default split of hop was block, which needs k >= 2, while --k defaults to 1
    r = cli("refute", "one-layer", "hop", "--N", "5", "--json")
    assert r.code in (1, 3), (r.code, r.err)
    assert r.json["evidence"]["split"] == "halves"
    r = cli("refute", "one-layer", "hop", "--N", "5", "--k", "2", "--json")
    assert r.code in (1, 3), (r.code, r.err)
    assert r.json["evidence"]["split"] == "block"
