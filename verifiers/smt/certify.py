"""SMT correctness certificate of a fixed-weight hardmax construction (docs/theorems.md 9.4, template 1).

The query: "there is an input x in Sigma^N and a position i where the construction's decoded
output differs from the task" -- UNSAT proves the construction correct on all |Sigma|^N inputs
(a third method beside ``exhaustive`` and ``certificate``); SAT yields an input, which is
replayed through the emulator (:func:`attncheck.verifiers.emulator.forward`) and compared with
the plain-Python task before it is reported.

Encoding (:mod:`.rows`): tokens are bit-vectors ``x_t < |Sigma|``; the embedding, every layer-1
quantity and every score whose query and key depend on a few tokens are case tables computed
by the emulator's own numpy expressions; attention with a symbolic argmax, and whatever reads
its output, is exact bit-vector arithmetic with precision.py's rounding.  Ground truth is the
task's definition written over the token variables (``task.ih``: the token after the latest
earlier occurrence; ``task.hopk``: find^1 iterated k times), checked against
:mod:`attncheck.constructions.tasks` by the tests.

Only hardmax attention is encoded (softmax would need exponentials of symbolic scores).  Where
the emulator's float64 accumulator is not exact (products wider than 53 bits), the encoding
follows precision.py's exact spec; a SAT answer the emulator does not reproduce is reported as
UNKNOWN, never as a refutation.
"""
from __future__ import annotations

import time

import numpy as np

from attncheck.constructions.spec import Construction, Head
from attncheck.constructions.tasks import SEQ_TASKS
from attncheck.verifiers.emulator import BOT_CODE, explain, forward, nearest_rows
from attncheck.constructions.precision import Format
from attncheck.verifiers.smt.encode import Arith, const, ctx, eq, fresh_context, ite, total, z3mod
from attncheck.verifiers.smt.rows import Cases, Terms, constant, join
from attncheck.verifiers.smt.solver import Limits, Session
from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.verdict import (BadInput, BudgetExceeded, Counterexample, Method, Status,
                                         Verdict)

MAX_N = 16


def _W(W: np.ndarray, t: int) -> np.ndarray:
    return W if W.ndim == 2 else W[t]


class Forward:
    """The construction's forward pass over symbolic tokens ``x_1..x_N``."""

    def __init__(self, c: Construction, fmt: Format, budget: Budget = UNLIMITED):
        z3 = z3mod()
        self.c, self.fmt, self.N, self.V, self.budget = c, fmt, c.n, c.alphabet, budget
        self.tw = max(2, int(self.V).bit_length() + 1)
        self.x = [None] + [z3.BitVec(f"x{t}", self.tw, ctx()) for t in range(1, self.N + 1)]
        self.domain = [z3.And(x >= 0, x < self.V) for x in self.x[1:]]
        self.tm = Terms(fmt, self.x, self.V)
        self.ar = Arith(fmt)

    def embed(self) -> list:
        c, q = self.c, self.fmt.quantize
        rows = [constant(q(c.start_row))]
        for t in range(1, self.N + 1):
            rows.append(Cases((t,), q(c.tok_embed + c.pos_embed[t][None, :])))
        return rows

    def project(self, row, W: np.ndarray):
        if isinstance(row, Cases):
            return Cases(row.key, self.fmt.quantize(row.table @ W))
        return self.tm.project(row, W)

    def scores(self, head: Head, qi, ks: list, temp: float) -> list:
        out = []
        for kj in ks:
            if isinstance(qi, Cases) and isinstance(kj, Cases):
                j = join(self.V, [qi, kj])
                if j is not None:
                    key, (a, b) = j
                    s = self.fmt.quantize(temp * np.sum(a * b, axis=1))[:, None]
                    out.append(self.tm.column(key, self.fmt.to_ints(s)[:, 0]))
                    continue
            temp_int = int(self.fmt.to_ints(temp))
            out.append(self.ar.score([self.tm.bv(t) for t in self.tm.terms(qi)],
                                     [self.tm.bv(t) for t in self.tm.terms(kj)], temp_int))
        return out

    def hardmax(self, scores: list, vals: list):
        if all(isinstance(s, (int, np.integer)) for s in scores):
            top = max(scores)
            sel = [j for j, s in enumerate(scores) if s == top]
            parts = [vals[j] for j in sel]
            if all(isinstance(p, Cases) for p in parts):
                j = join(self.V, parts)
                if j is not None:
                    key, tabs = j
                    return Cases(key, self.fmt.quantize(sum(tabs) / len(sel)))
            terms = [self.tm.terms(p) for p in parts]
            return [self.ar.round_div(total([self.tm.bv(t[d]) for t in terms]), const(len(sel)))
                    for d in range(len(terms[0]))]
        return self.ar.hardmax([self.tm.bv(s) for s in scores],
                               [[self.tm.bv(t) for t in self.tm.terms(v)] for v in vals])

    def residual(self, row, ys: list):
        parts = [row] + ys
        if all(isinstance(p, Cases) for p in parts):
            j = join(self.V, parts)
            if j is not None:
                key, tabs = j
                return Cases(key, self.fmt.quantize(tabs[0] + sum(tabs[1:])))
        return self.tm.add([self.tm.terms(p) for p in parts])

    def snap(self, row, smap):
        lay, books = self.c.layout, self.c.codebooks
        if isinstance(row, Cases):
            out = row.table.copy()
            for src, dst in smap.moves:
                s, d = lay[src], lay[dst]
                codes = books[s.codebook]
                out[:, d.sl] = codes[nearest_rows(row.table[:, s.sl], codes)]
            for name in smap.clears:
                out[:, lay[name].sl] = 0.0
            return Cases(row.key, self.fmt.quantize(out))
        terms = list(self.tm.terms(row))
        new = list(terms)
        for src, dst in smap.moves:
            s, d = lay[src], lay[dst]
            codes = self.fmt.to_ints(self.fmt.quantize(books[s.codebook]))
            idx = self.tm.nearest(terms[s.start:s.stop], books[s.codebook])
            for col in range(d.width):
                v = const(int(codes[-1, col]), self.ar.bits)
                for r in range(len(codes) - 2, -1, -1):
                    v = ite(eq(idx, const(r, 16)), const(int(codes[r, col]), self.ar.bits), v)
                new[d.start + col] = v
        for name in smap.clears:
            sl = lay[name]
            new[sl.start:sl.stop] = [0] * sl.width
        return new

    def run(self) -> list:
        """Final rows of positions 0..N."""
        X = self.embed()
        mask_rows = range(1, self.N + 1)
        for layer in self.c.layers:
            ys = {i: [] for i in mask_rows}
            for head in layer.heads:
                q = {i: self.project(X[i], _W(head.W_Q, i)) for i in mask_rows}
                k = [self.project(X[j], _W(head.W_K, j)) for j in range(self.N + 1)]
                v = [self.project(X[j], _W(head.W_V, j)) for j in range(self.N + 1)]
                temp = float(self.fmt.quantize(head.temperature))
                for i in mask_rows:
                    self.budget.check(stage="encoding", position=i)
                    out = self.hardmax(self.scores(head, q[i], k[:i + 1], temp), v[:i + 1])
                    ys[i].append(self.project(out, head.W_O))
            X = [X[0]] + [self.residual(X[i], ys[i]) for i in mask_rows]
            if layer.map is not None:
                X = [X[0]] + [self.snap(X[i], layer.map) for i in mask_rows]
        return X

    def decoded(self, X: list) -> list:
        """Output symbol per position (bit-vector; ``|Sigma|`` means bottom)."""
        dec = self.c.decoder
        sl = self.c.layout[dec.slot].sl
        codes = self.c.codebooks[dec.codebook]
        sym = np.array([self.V if s is None else s for s in dec.symbols], dtype=np.int64)
        out = []
        for i in range(1, self.N + 1):
            row = X[i]
            if isinstance(row, Cases):
                rows = nearest_rows(row.table[:, sl], codes)
                out.append(self.token_term(self.tm.column(row.key, sym[rows])))
            else:
                idx = self.tm.nearest(self.tm.terms(row)[sl.start:sl.stop], codes)
                v = const(int(sym[-1]), self.tw)
                for r in range(len(sym) - 2, -1, -1):
                    v = ite(eq(idx, const(r, 16)), const(int(sym[r]), self.tw), v)
                out.append(self.token_term(v))
        return out

    def token_term(self, t):
        z3 = z3mod()
        if isinstance(t, (int, np.integer)):
            return z3.BitVecVal(int(t), self.tw, ctx())
        return z3.Extract(self.tw - 1, 0, t) if t.size() > self.tw else z3.SignExt(self.tw - t.size(), t) \
            if t.size() < self.tw else t


def truth_terms(fw: Forward, task: str, k: int) -> list:
    """Ground truth per position over the token variables (``|Sigma|`` = bottom)."""
    z3 = z3mod()
    x, N, tw = fw.x, fw.N, fw.tw
    bot = z3.BitVecVal(fw.V, tw, ctx())
    pw = max(2, N.bit_length() + 1)
    P = lambda n: z3.BitVecVal(n, pw, ctx())                             # noqa: E731
    if task == "induction":
        out = []
        for i in range(1, N + 1):
            t = bot
            for j in range(1, i):                    # latest earlier occurrence wins: j ascending
                t = z3.If(x[j] == x[i], x[j + 1], t)
            out.append(t)
        return out
    find1 = [P(0)]
    for i in range(1, N + 1):
        f = P(0)
        for j in range(2, i + 1):                    # max j <= i with x_{j-1} = x_i
            f = z3.If(x[j - 1] == x[i], P(j), f)
        find1.append(f)

    def at(table, p):
        v = table[0]
        for n in range(1, len(table)):
            v = z3.If(p == P(n), table[n], v)
        return v

    out = []
    for i in range(1, N + 1):
        p = P(i)
        for _ in range(k):
            p = at(find1, p)
        out.append(z3.If(p == P(0), bot, at([bot] + x[1:], p)))
    return out


def certify_smt(c: Construction, task: str, params: dict, fmt: Format, limits: Limits,
                attention: str = "hardmax") -> tuple[Verdict, dict]:
    """UNSAT of "some input is decoded wrongly" -> VERIFIED; SAT -> replayed counterexample."""
    if attention != "hardmax":
        raise BadInput("smt certify encodes hardmax attention only (softmax needs exponentials"
                       " of symbolic scores); use --attention hardmax")
    if fmt.is_exact:
        raise BadInput("smt certify needs a fixed-point format (exact float64 has no bit-vector model)")
    if fmt.overflow != "saturate":
        raise BadInput(f"smt certify models the saturate overflow policy, not {fmt.overflow!r}")
    if c.n > MAX_N:
        raise BadInput(f"smt certify supports N <= {MAX_N}, got N={c.n}")
    if task not in SEQ_TASKS:
        raise BadInput(f"no ground truth for task {task!r}")
    with fresh_context():
        return _certify(c, task, params, fmt, limits)


def _certify(c: Construction, task: str, params: dict, fmt: Format, limits: Limits):
    k = int(params.get("k", 1))
    claim = (f"{c.name} ({c.theorem}) computes {task if task != 'hop' else f'hop_{k}'} at every"
             f" position of every input of {c.alphabet}^{c.n} in {fmt} with hardmax")
    t0 = time.perf_counter()
    fw = Forward(c, fmt, limits.budget)
    try:
        outs = fw.decoded(fw.run())
    except BudgetExceeded as e:
        ev = {"solver_result": "unknown", **limits.to_json(), "rlimit_used": 0, "encode_s": 0.0}
        return Verdict(Status.UNKNOWN, Method.SMT, claim, 0, reason=f"{e} while encoding",
                       evidence=ev), ev
    truth = truth_terms(fw, task, k)
    z3 = z3mod()
    session = Session(limits)
    session.add(fw.domain + [z3.Or([o != t for o, t in zip(outs, truth)])])
    t1 = time.perf_counter()
    status = session.check()
    ev = {"solver_result": status, **limits.to_json(), "rlimit_used": session.used,
          "encode_s": t1 - t0}
    if status == "unsat":
        return Verdict(Status.VERIFIED, Method.SMT, claim, f"{c.alphabet}^{c.n}",
                       reason=f"z3 (seed {limits.seed}, rlimit {limits.rlimit:,}): no input is decoded"
                              " wrongly (UNSAT)", evidence=ev), ev
    if status == "unknown":
        return Verdict(Status.UNKNOWN, Method.SMT, claim, 0, reason=session.reason, evidence=ev), ev
    model = session.model()
    tokens = [int(model.eval(v, model_completion=True).as_long()) for v in fw.x[1:]]
    return replay_input(c, task, params, fmt, tokens, claim, ev), ev


def replay_input(c: Construction, task: str, params: dict, fmt: Format, tokens: list[int],
                 claim: str, ev: dict) -> Verdict:
    """Run the solver's input through the emulator and the plain-Python task."""
    got = forward(c, [tokens], fmt, "hardmax", keep=False).outputs[0]
    want = [BOT_CODE if v is None else v for v in SEQ_TASKS[task](tokens, **params)]
    bad = [i for i in range(len(tokens)) if int(got[i]) != want[i]]
    ev = dict(ev, model_input=tokens)
    if not bad:
        return Verdict(Status.UNKNOWN, Method.SMT, claim, 0,
                       reason=f"z3 proposed input {tokens} but the emulator decodes it correctly"
                              " (encoding and emulator disagree; not a refutation)", evidence=ev)
    pos = bad[0] + 1
    ex = explain(c, tokens, pos, fmt, "hardmax")
    exp_v = None if want[pos - 1] == BOT_CODE else int(want[pos - 1])
    got_v = None if got[pos - 1] == BOT_CODE else int(got[pos - 1])
    ce = Counterexample(tuple(tokens), pos, exp_v, got_v,
                        {"layers": ex["layers"], "replayed": True, "format": str(fmt),
                         "attention": "hardmax"})
    return Verdict(Status.REFUTED, Method.SMT, claim, 1,
                   reason=f"z3 found an input decoded wrongly at position {pos}; replayed through"
                          " the emulator", counterexample=ce, evidence=ev)
