"""Mask kinds of ``spec.Construction`` (qSA ``sht23.thm2``, Match2 ``sht23.match2_ub``): what each
kind lets a row see, one forward pass for tokens and pre-embedded residuals, and the
sequence-task certificate refusing anything but the causal mask."""
import numpy as np
import pytest

from attncheck.constructions.induction import build_induction
from attncheck.constructions.spec import MASKS, attention_mask
from attncheck.constructions.verdict import Status
from attncheck.verifiers.certificate import certify
from attncheck.verifiers.emulator import embed, forward, forward_residual


def test_mask_kinds_row_by_row():
    T = 4                                                            # start row + 3 tokens
    causal, full = attention_mask("causal", T), attention_mask("full", T)
    start, noself = attention_mask("full+start", T), attention_mask("full+start-self", T)
    assert np.array_equal(causal, np.tril(np.ones((T, T), bool)))
    for m in (causal, full, start, noself):
        assert m[0].tolist() == [True, False, False, False]          # the start row sees itself only
    assert not full[1:, 0].any() and full[1:, 1:].all()
    assert start[1:].all()
    assert noself[1:, 0].all() and not np.diag(noself)[1:].any() and noself[1, 2] and noself[3, 1]
    with pytest.raises(ValueError, match="unknown mask kind"):
        attention_mask("sideways", T)
    assert set(MASKS) == {"causal", "full", "full+start", "full+start-self", "causal-nostart"}   # the last: exchange weights without a start token (docs/format.md)


def test_forward_is_embed_then_forward_residual():
    c = build_induction(6, 3)
    X = np.array([[0, 1, 2, 0, 1, 2], [2, 2, 1, 0, 0, 1]])
    a = forward(c, X, c.fmt)
    b = forward_residual(c, embed(c, X, c.fmt), c.fmt)
    assert np.array_equal(a.outputs, b.outputs)
    assert all(np.array_equal(x, y) for x, y in zip(a.attention, b.attention))


def test_the_mask_kind_is_what_runs():
    c = build_induction(6, 3)
    w = forward(c.replace(mask="full+start"), [[0, 1, 2, 0, 1, 2]]).attention[0][0, 0]   # (T, T)
    assert w[1, 2:].sum() > 0                                        # row 1 now sees later rows
    with pytest.raises(ValueError, match="unknown mask kind"):
        c.replace(mask="sideways")


def test_the_sequence_task_certificate_refuses_a_non_causal_mask():
    c = build_induction(6, 3)
    assert certify(c, "induction", {}, c.fmt).status is Status.VERIFIED
    v = certify(c.replace(mask="full+start"), "induction", {}, c.fmt)
    assert v.status is Status.UNKNOWN and "mask kind 'full+start'" in v.reason
