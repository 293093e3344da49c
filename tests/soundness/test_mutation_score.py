"""Mutation testing of the verifiers (issue 9): no really-wrong mutant is ever VERIFIED.

For every construction family in tests/soundness/soundness_mutants.py and every mutant of it,
exhaustive mode decides whether the mutant is really wrong (REFUTED, with a counterexample that
is replayed here independently) or equivalent (VERIFIED at this size).  The certificate -- and
the SMT certify query of verifiers/smt when it exists (hardmax only) -- must not say VERIFIED
for any really-wrong mutant.  The score (generated / really wrong / caught) is printed at the
end of the run (tests/soundness/conftest.py) and recorded in docs/reliability.md.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect

import pytest

import soundness_mutants as M
from attncheck.constructions.tasks import SEQ_TASKS
from attncheck.verifiers.certificate import certify
from attncheck.verifiers.emulator import BOT_CODE, forward
from attncheck.verifiers.exhaustive import check_exhaustive
from attncheck.constructions.verdict import Status

FAMILIES = list(M.FAMILIES.values())


SMT_PER_FAMILY = 3       # really-wrong hardmax mutants per family also put to the SMT certify query
SMT_RLIMIT = 10_000_000  # work bound per query: a refuted mutant is SAT in ~3-5 s at N <= 6


def smt_certifier():
    """The SMT certify query of verifiers/smt (issue 6) as ``f(c, task, params, fmt, attention) ->
    Verdict``, or None while it does not exist (or has another signature: recorded, not guessed)."""
    if importlib.util.find_spec("attncheck.verifiers.smt.certify") is None:
        M.SKIPPED["SMT certify"] = "attncheck.verifiers.smt.certify does not exist yet"
        return None
    mod = importlib.import_module("attncheck.verifiers.smt.certify")
    if hasattr(mod, "certify_smt"):            # issue 6's API: (c, task, params, fmt, limits, attention)
        from attncheck.verifiers.smt.solver import Limits

        def f(c, task, params, fmt, attention):
            return mod.certify_smt(c, task, params, fmt, Limits(rlimit=SMT_RLIMIT), attention)[0]
        return f
    f = getattr(mod, "certify", None) or getattr(mod, "smt_certify", None)
    try:
        inspect.signature(f).bind(None, "induction", {}, None, "hardmax")
    except (TypeError, ValueError):
        M.SKIPPED["SMT certify"] = f"no certify(c, task, params, fmt, attention) in {mod.__name__}"
        return None
    return f


def replay(m: M.Mutant, ce) -> None:
    """The counterexample is wrong when run again through the emulator, against plain Python."""
    out = forward(m.construction, [list(ce.tokens)], m.fmt, m.attention).outputs[0]
    got = None if out[ce.position - 1] == BOT_CODE else int(out[ce.position - 1])
    want = SEQ_TASKS[m.task](list(ce.tokens), **m.params)[ce.position - 1]
    assert got == ce.got and want == ce.expected and got != want, m.label


@pytest.mark.parametrize("family", FAMILIES, ids=[f.name for f in FAMILIES])
def test_correct_construction_verifies_both_ways(family):
    """Without a mutation every verifier says VERIFIED (so 'caught' is not a certificate that
    never closes)."""
    if not family.available:
        pytest.skip(f"{family.module} does not exist yet")
    c, task, params = family.build()
    for att in family.attentions:
        assert check_exhaustive(c, task, params, c.fmt, att).status is Status.VERIFIED
        assert certify(c, task, params, c.fmt, att).status is Status.VERIFIED, (family.name, att)


def certifiers() -> dict:
    """name -> f(mutant, exhaustive verdict) -> Verdict or None (not asked) for every method
    that must be sound.  The SMT query is asked about really-wrong hardmax mutants only (its
    encoding is exact for hardmax; only refuted mutants matter for soundness), at most
    SMT_PER_FAMILY of them per family."""
    out = {"certificate": lambda m, ex: certify(m.construction, m.task, m.params, m.fmt, m.attention)}
    smt = smt_certifier()
    if smt is not None:
        asked = {}

        def ask(m, ex):
            if m.attention != "hardmax" or ex.status is not Status.REFUTED:
                return None
            if asked.setdefault(m.family, 0) >= SMT_PER_FAMILY:
                return None
            asked[m.family] += 1
            return smt(m.construction, m.task, m.params, m.fmt, m.attention)
        out["smt"] = ask
    return out


def score_family(family: M.Family, methods: dict) -> tuple[M.Score, list[str]]:
    """Run every mutant through exhaustive mode and each method; returns the score and the
    really-wrong mutants some method VERIFIED."""
    score = M.Score()
    escaped = []
    for m in M.mutants(family):
        ex = check_exhaustive(m.construction, m.task, m.params, m.fmt, m.attention)
        assert ex.status in (Status.VERIFIED, Status.REFUTED), (m.label, ex.reason)
        wrong = ex.status is Status.REFUTED
        if wrong:
            replay(m, ex.counterexample)
        said = {name: f(m, ex) for name, f in methods.items()}
        fooled = [name for name, v in said.items() if v is not None and v.status is Status.VERIFIED]
        score.add(m.kind, wrong, not fooled, "certificate" in fooled)
        score.asked_smt += said.get("smt") is not None
        if wrong and fooled:
            escaped.append(f"{m.label}: exhaustive refutes ({ex.reason}) but {', '.join(fooled)} says VERIFIED")
    return score, escaped


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES, ids=[f.name for f in FAMILIES])
def test_no_really_wrong_mutant_is_verified(family):
    if not family.available:
        M.SKIPPED[family.name] = f"{family.module} does not exist yet"
        pytest.skip(M.SKIPPED[family.name])
    score, escaped = score_family(family, certifiers())
    M.SCORES[family.name] = score
    assert not escaped, "\n".join(escaped)
    assert score.wrong >= score.generated // 3, score.line()       # mutants that matter were made
    kinds_wrong = {k for k, (g, w, _) in score.by_kind.items() if w}
    assert {"perturbed weights", "dropped layer", "too few bits", "off-by-one positions"} <= kinds_wrong


def test_the_score_detects_an_unsound_certifier():
    """A certifier that trusts the declared promises without checking them would be caught."""
    from attncheck.constructions.verdict import Method, Verdict

    def gullible(m, ex):
        return Verdict(Status.VERIFIED, Method.CERTIFICATE, "trusts the promises", "all")
    family = M.FAMILIES["induction/onehot N=5"]
    score, escaped = score_family(family, {"gullible": gullible})
    assert score.caught == 0 and len(escaped) == score.wrong > 0
