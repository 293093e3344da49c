"""Claims, theorem ids and verdicts of the SMT queries (STYLE.md practice 7: honest verdicts).

A solver answer is about a *finite* model class and a finite family of inputs; the claim text
names both.  Mapping (the claim of ``smt one-layer`` is an impossibility):

* ``unsat``   -> VERIFIED: no model of the class solves the family (a proof at this size);
* ``sat``     -> REFUTED: a model exists, and it was replayed through the emulator on every
  input of the family before being reported;
* ``unknown`` -> UNKNOWN (rlimit or budget spent, or z3 gave up): never a pass.

``smt separate`` claims "one layer cannot, two layers can" at the same size: VERIFIED iff the
one-layer query is UNSAT and the two-layer query is SAT with a replayed model; REFUTED when
either side is decided the other way; UNKNOWN otherwise.

Statement tags (docs/theorems.md): ``sht24b.one-layer-ih-lb`` is [P-abs]/[S] with the [R] constant
``h(m+1)p >= floor((n-1)/2)`` under p-bit partial sums; ``sht24b.two-layer-ub`` is [P-abs];
this finite class and its arithmetic are [R] (our reconstruction).
"""
from __future__ import annotations

from attncheck.verifiers.smt.cegis import SynthResult
from attncheck.constructions.verdict import Method, Status, Verdict

LOWER = {"theorem": "sht24b.one-layer-ih-lb", "status": "P-abs/S",
         "statement": "a one-layer transformer solving induction heads at length n needs"
                      " h·m·p = Ω(n) [P-abs]; [R] constant: h(m+1)p >= floor((n-1)/2)"}
UPPER = {"theorem": "sht24b.two-layer-ub", "status": "P-abs",
         "statement": "two layers with h = O(1), m = O(1), p = O(log n) solve induction heads"}
GAP = {"theorem": "sht24b.gap", "status": "P-abs",
       "statement": "size h·m·p: 2 layers O(log n) vs 1 layer Ω(n)"}
COMM = {"theorem": "cc.oneway", "status": "standard",
        "statement": "a deterministic one-way protocol with B-bit messages exists iff the"
                     " communication matrix has <= 2^B distinct rows (step 6 of the"
                     " sht24b.one-layer-ih-lb reduction, [R])"}


def prediction(res: SynthResult) -> dict:
    """The [R] bound beside the finite answer: h(D+1)b vs n' = floor((N-1)/2)."""
    c, N = res.cls, res.family.N
    size, n1 = c.heads * (c.width + 1) * c.bits, (N - 1) // 2
    return {"h(D+1)b": size, "n_prime": n1, "bound_rules_out": size < n1,
            "note": "the [R] bound assumes p-bit partial sums; the finite class rounds the head"
                    " output once (hardmax average or softmax num/z), so it is a comparison,"
                    " not a prediction of this solver answer"}


def synth_claim(res: SynthResult) -> str:
    c = res.cls
    return (f"no {c.layers}-layer model with H={c.heads}, head width {c.width}, {c.bits}-bit {c.fmt}"
            f" {c.attention} attention and an arbitrary decoder solves induction at N={res.family.N}"
            f" on the {res.family.name} family ({res.family.size} inputs, |Σ|={res.family.alphabet})")


def synth_verdict(res: SynthResult) -> Verdict:
    """Verdict on the impossibility claim for one synthesis result."""
    ev = res.to_json(with_model=False)
    claim = synth_claim(res)
    if res.solver_result == "unsat":
        return Verdict(Status.VERIFIED, Method.SMT, claim, res.family.size,
                       reason=f"UNSAT: {res.reason}", evidence=ev)
    if res.solver_result == "sat":
        return Verdict(Status.REFUTED, Method.SMT, claim, res.family.size,
                       reason=f"SAT: {res.reason}", evidence=ev)
    return Verdict(Status.UNKNOWN, Method.SMT, claim, len(res.inputs_used),
                   reason=f"unknown: {res.reason}", evidence=ev)


def separation_verdict(one: SynthResult, two: SynthResult) -> Verdict:
    c, f = one.cls, one.family
    claim = (f"at N={f.N}, |Σ|={f.alphabet} ({f.name} family), H={c.heads}, head width {c.width},"
             f" {c.bits}-bit {c.fmt} {c.attention}: one layer cannot solve induction, two layers can")
    ev = {"one_layer": one.to_json(with_model=False), "two_layers": two.to_json(with_model=False)}
    r1, r2 = one.solver_result, two.solver_result
    if r1 == "unsat" and r2 == "sat":
        return Verdict(Status.VERIFIED, Method.SMT, claim, f.size,
                       reason="one layer UNSAT; two layers SAT with a model replayed on every input",
                       evidence=ev)
    if r1 == "sat" or r2 == "unsat":
        why = []
        if r1 == "sat":
            why.append("one layer is SAT (a replayed one-layer model solves the family)")
        if r2 == "unsat":
            why.append("two layers are UNSAT (no two-layer model of this size exists)")
        return Verdict(Status.REFUTED, Method.SMT, claim, f.size,
                       reason="no separation at this size: " + "; ".join(why), evidence=ev)
    return Verdict(Status.UNKNOWN, Method.SMT, claim, 0,
                   reason=f"one layer: {r1} ({one.reason}); two layers: {r2} ({two.reason})",
                   evidence=ev)
