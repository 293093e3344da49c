"""The communication step alone: is there a one-way protocol with B-bit messages? (9.4 template 3)

Alice holds the tokens at positions ``A``, Bob those at ``B`` (a split from
:func:`attncheck.bounds.witnesses.oneway.split_positions`).  The query has a free message
``msg(alpha)`` in ``BitVec(B)`` for every Alice half and an uninterpreted decoder
``out : BitVec(B) x Bob half -> answer``, constrained to equal the task's answer at N on every
pair.  It is SAT iff some B-bit protocol exists, i.e. iff ``2^B >= #distinct rows`` of the
communication matrix (``cc.oneway``); the solver never sees the rows, so this is an
independent check of the witness module's exact count.

Symmetry breaking (sound): relabelling messages by order of first use keeps a protocol a
protocol, so ``msg(alpha_i) <= max(msg(alpha_0..alpha_{i-1})) + 1``.

A SAT answer is replayed: the messages and the decoder table read from the model are checked
against the task on every pair in plain Python before the protocol is reported.
"""
from __future__ import annotations

from dataclasses import dataclass

from attncheck.constructions.tasks import SEQ_TASKS
from attncheck.verifiers.smt.solver import Limits, Session
from attncheck.verifiers.smt.encode import ctx, fresh_context, z3mod
from attncheck.constructions.verdict import (BadInput, BudgetExceeded, Method, Status,
                                             Verdict)

MAX_PAIRS = 1 << 16
MAX_B = 16


@dataclass(frozen=True)
class CommInstance:
    task: str
    N: int
    alphabet: int
    k: int
    split: str
    alice: tuple[int, ...]
    bob: tuple[int, ...]
    answers: tuple[tuple[int, ...], ...]      # answers[a][b], bottom = alphabet

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.answers), len(self.answers[0])

    def rows(self) -> int:
        """Distinct rows, counted here directly (the cross-check uses the witness module)."""
        return len(set(self.answers))

    def to_json(self) -> dict:
        a, b = self.shape
        return {"task": self.task, "N": self.N, "alphabet": self.alphabet, "k": self.k,
                "split": self.split, "alice": list(self.alice), "bob": list(self.bob),
                "alice_inputs": a, "bob_inputs": b}


def validate(task: str, N: int, alphabet: int, k: int = 1) -> None:
    """Refuse (one-line BadInput) an instance too large to enumerate, before it is built."""
    if task not in SEQ_TASKS:
        raise BadInput(f"unknown task {task!r} (induction, hop)")
    if not isinstance(N, int) or N < 2:
        raise BadInput(f"--N must be an integer >= 2, got {N}")
    if alphabet < 2:
        raise BadInput(f"--alphabet must be >= 2, got {alphabet}")
    if task == "hop" and not 1 <= k <= N:
        raise BadInput(f"--k must be in 1..N={N}, got {k}")
    if N > 16 or alphabet > 256 or alphabet ** N > MAX_PAIRS:
        raise BadInput(f"{alphabet}^{N} (Alice, Bob) pairs exceed the limit {MAX_PAIRS:,}"
                       " (N <= 16 and |Σ|^N <= 65536)")


def instance(task: str, N: int, alphabet: int, split: str, k: int, matrix) -> CommInstance:
    """The query's instance from the communication matrix ``matrix = (answers, alice, bob)``
    (answers[a][b] the answer at N, bottom coded as |Σ|; the caller computes it, e.g. with
    :func:`attncheck.bounds.witnesses.oneway.communication_matrix`)."""
    validate(task, N, alphabet, k)
    mat, alice, bob = matrix
    rows = [tuple(int(v) for v in r) for r in mat]
    return CommInstance(task, N, alphabet, k, split, tuple(alice), tuple(bob), tuple(rows))


@dataclass(frozen=True)
class CommResult:
    solver_result: str
    B: int
    messages: tuple[int, ...] | None
    decoder: dict | None
    replayed: bool
    reason: str
    rlimit_used: int

    def to_json(self) -> dict:
        out = {"B": self.B, "solver_result": self.solver_result, "reason": self.reason,
               "rlimit_used": self.rlimit_used}
        if self.messages is not None:
            out["protocol"] = {"messages": list(self.messages), "replayed_on_all_pairs": self.replayed,
                               "distinct_messages": len(set(self.messages))}
        return out


def protocol_query(inst: CommInstance, B: int, limits: Limits) -> CommResult:
    """Solve the B-bit factorization query and replay a SAT protocol on every pair."""
    if not isinstance(B, int) or not 0 <= B <= MAX_B:
        raise BadInput(f"--message-bits must be an integer in 0..{MAX_B}, got {B}")
    with fresh_context():
        try:
            return _protocol_query(inst, B, limits)
        except BudgetExceeded as e:
            return CommResult("unknown", B, None, None, False, f"{e} while encoding", 0)


def _protocol_query(inst: CommInstance, B: int, limits: Limits) -> CommResult:
    z3 = z3mod()
    nA, nB = inst.shape
    mw = max(B, 1)
    bw = max(1, (nB - 1).bit_length() + 1)
    aw = max(2, inst.alphabet.bit_length() + 1)
    msg = [z3.BitVec(f"m{i}", mw, ctx()) for i in range(nA)]
    out = z3.Function("out", z3.BitVecSort(mw, ctx()), z3.BitVecSort(bw, ctx()), z3.BitVecSort(aw, ctx()))
    cons = []
    if B == 0:
        cons += [m == 0 for m in msg]
    running = None
    for i, m in enumerate(msg):
        if running is None:
            cons.append(m == 0)
            running = m
        else:
            cons.append(z3.ULE(z3.ZeroExt(1, m), z3.ZeroExt(1, running) + 1) if B else m == 0)
            running = z3.If(z3.UGT(m, running), m, running)
    bobs = [z3.BitVecVal(j, bw, ctx()) for j in range(nB)]
    for i, row in enumerate(inst.answers):
        limits.budget.check(alice_rows_encoded=i)
        for j, y in enumerate(row):
            cons.append(out(msg[i], bobs[j]) == z3.BitVecVal(y, aw, ctx()))
    session = Session(limits)
    session.add(cons)
    status = session.check()
    if status != "sat":
        reason = (f"no {B}-bit message function lets Bob decode all {nA}x{nB} pairs" if status == "unsat"
                  else session.reason)
        return CommResult(status, B, None, None, False, reason, session.used)
    model = session.model()
    messages = tuple(int(model.eval(m, model_completion=True).as_long()) for m in msg)
    table: dict = {}
    ok = True
    for i, row in enumerate(inst.answers):
        for j, y in enumerate(row):
            ok &= table.setdefault((messages[i], j), y) == y
    if not ok:
        raise RuntimeError("z3's protocol does not decode every pair (encoding bug)")
    return CommResult("sat", B, messages, table, True,
                      f"{len(set(messages))} distinct messages; decoder replayed on all {nA * nB} pairs",
                      session.used)


def witness_rows(inst: CommInstance, w) -> dict:
    """Distinct rows from the witness ``w`` (``one_way_rows``: ``.rows``, ``.bits``), checked
    against the rows of the matrix the query is built from (the independent plain-Python count
    lives in tests/smt/test_smt_comm.py)."""
    direct = inst.rows()
    if w.rows != direct:
        raise RuntimeError(f"witness module counts {w.rows} rows, the query's matrix has {direct}")
    return {"rows": w.rows, "bits": w.bits,
            "source": "bounds.witnesses.oneway.one_way_rows, equal to the query matrix's distinct rows"}


def comm_verdict(inst: CommInstance, wit: dict, results: list[CommResult], explicit: bool):
    """Verdict on "no B-bit protocol" (explicit --message-bits) or on "the one-way CC is exactly bits"."""
    rows, bits = wit["rows"], wit["bits"]
    queries = []
    for r in results:
        q = r.to_json()
        q["expected"] = "sat" if (1 << r.B) >= rows else "unsat"
        queries.append(q)
    name = inst.task if inst.task != "hop" else f"hop_{inst.k}"
    where = f"{name} at N={inst.N}, |Σ|={inst.alphabet}, {inst.split} split"
    ev = {"queries": queries, "rows": rows, "bits": bits}
    wrong = [q for q in queries if q["solver_result"] in ("sat", "unsat") and q["solver_result"] != q["expected"]]
    if wrong:
        raise RuntimeError(f"z3 and the row count disagree at B={wrong[0]['B']}: "
                           f"{wrong[0]['solver_result']} vs {rows} rows")
    if explicit:
        r = results[0]
        claim = f"no one-way protocol with {r.B}-bit messages computes {where}"
        status = {"unsat": Status.VERIFIED, "sat": Status.REFUTED}.get(r.solver_result, Status.UNKNOWN)
        cases = len(inst.answers) * len(inst.answers[0])
        return Verdict(status, Method.SMT, claim, cases, reason=f"{r.solver_result}: {r.reason}", evidence=ev)
    claim = f"the deterministic one-way communication of {where} is exactly {bits} bits ({rows} rows)"
    got = {q["B"]: q["solver_result"] for q in queries}
    cases = len(inst.answers) * len(inst.answers[0])
    if got.get(bits) == "sat" and (bits == 0 or got.get(bits - 1) == "unsat"):
        return Verdict(Status.VERIFIED, Method.SMT, claim, cases,
                       reason=f"UNSAT at B={bits - 1}, SAT at B={bits} with a replayed protocol"
                       if bits else "SAT at B=0 (a single row)", evidence=ev)
    return Verdict(Status.UNKNOWN, Method.SMT, claim, cases,
                   reason="; ".join(f"B={q['B']}: {q['solver_result']} ({q['reason']})" for q in queries),
                   evidence=ev)
