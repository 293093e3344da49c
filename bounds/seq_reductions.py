"""The reductions of the sequential-architecture separations and of the Match3 lower bound,
checked as finite identities (docs/sequential.md; the registry style of
:mod:`attncheck.bounds.reductions`):

=============  ========================  =====================================================
id             theorem                   identity
=============  ========================  =====================================================
rnn-multipass  sht24a.cor5_2 [P]         L-layer RNN output = L-round protocol (s-bit messages)
                                         = 1-round protocol (L*s bits), on every x in V^N
rnn-pointer    sht24a.cor5_2 [P]         pointer chasing -> hop_k layout (each block from its
               an21.prop4_12 [P]         player's matching) -> RNN -> L-round protocol: its
                                         answer is the RNN's; where the RNN solves hop_k, it
                                         solves (q,k)-pointer chasing in R = L rounds
cot-rounds     sht24a.cor5_6 [P/R]       one layer + N_CoT tokens = (N_CoT+1)-round protocol
disj-match3    sht23.thm7 [S/M/R]        Match3(X)_1 = 1 - DISJ(a, b), all four conventions
=============  ========================  =====================================================

Each record is a :class:`attncheck.bounds.reductions.Reduction`; :func:`check` enumerates every
instance when there are at most ``EXHAUSTIVE_CAP`` (VERIFIED) or samples them (UNKNOWN), and
returns, besides the verdict, what the identity establishes: the protocol's rounds and message
bits, how many instances the model answers correctly (the premise of the chain), and the bound
row of an21.prop4_12 for that protocol (no constants: the row states the quantities, never a
violation).
"""
from __future__ import annotations

import itertools
import math
import random
from typing import Callable

from attncheck.bounds import cot_rounds, match3_embed, multipass
from attncheck.bounds.reduction_instances import pointer_hop_encode
from attncheck.bounds import reductions
from attncheck.bounds.reductions import Reduction, _need
from attncheck.constructions.budget import Budget
from attncheck.constructions.tasks import hop, pointer_chasing
from attncheck.constructions.verdict import BadInput, Verdict


# --- the pointer-chasing family, split by player ----------------------------------------------
def player_block(j: int, matching, q: int, k: int, first_half=frozenset()) -> list[int]:
    """P_j's tokens from its own matching E_j (P_k: and the public split; P_1: and the public
    start X_N = 1), as ``task.hopk_blackboard`` lays them out (codes of ``pointer_hop_encode``)."""
    code = lambda jj, u: u + 1 if jj % 2 == 1 else q + u + 1                   # noqa: E731
    out = []
    for u in range(q):
        img = matching[u]
        out += [code(j, u), code(j + 1, img) if j < k else (2 * q + 1 if img in first_half else 2 * q + 2)]
    return out + ([1] if j == 1 else [])


def pointer_spans(q: int, k: int) -> tuple[tuple[int, int], ...]:
    """P_k gets positions [0, 2q), ..., P_1 the last 2q positions and X_N."""
    return tuple((2 * q * t, 2 * q * (t + 1) + (1 if t == k - 1 else 0)) for t in range(k))


def pointer_instances(p):
    q, k = p["q"], p["k"]
    for m in itertools.product(itertools.permutations(range(q)), repeat=k):
        for r in range(q + 1):
            for s in itertools.combinations(range(q), r):
                yield m, frozenset(s)


def pointer_sample(p, rnd: random.Random):
    q, k = p["q"], p["k"]
    return (tuple(tuple(rnd.sample(range(q), q)) for _ in range(k)),
            frozenset(u for u in range(q) if rnd.random() < 0.5))


def pointer_tokens(inst, q: int, k: int, encode=pointer_hop_encode) -> tuple[list[int], bool]:
    """The hop_k input of a pointer-chasing instance, and whether it is the concatenation of the
    players' own blocks (P_k first)."""
    matchings, first_half = inst
    x = encode(matchings, first_half, q)
    blocks = [player_block(j, matchings[j - 1], q, k, first_half) for j in range(k, 0, -1)]
    return x, x == [t for b in blocks for t in b]


# --- identities --------------------------------------------------------------------------------
def _model(p) -> tuple:
    if p.get("from"):
        given = [o for o in ("layers", "state_bits") if p.get(o) is not None]
        if given or p.get("model") is not None:
            raise BadInput(f"--from gives the model; not --{(given or ['model'])[0].replace('_', '-')}")
        layers, V = multipass.load_model(p["from"])
        if V < p["V"]:
            raise BadInput(f"{p['from']}: alphabet {V} is too small; this family needs >= {p['V']} symbols")
        return layers
    return multipass.build_model(p["model"] or "successor", p["layers"], p["V"], p.get("state_bits"), p["seed"])


def _id_multipass(inst, p, encode):
    layers = p["_layers"]
    ok, detail = multipass.protocol_identity(layers, list(inst), p["_spans"])
    return ok, list(inst), detail["rnn_output"], detail["L_rounds_output"], detail


def _id_pointer(inst, p, encode):
    q, k = p["q"], p["k"]
    x, split_ok = pointer_tokens(inst, q, k, encode)
    truth = pointer_chasing(inst[0], 0, inst[1])
    hop_ok = hop(x, k)[-1] == (2 * q + 1 if truth == 1 else 2 * q + 2)
    ok, detail = multipass.protocol_identity(p["_layers"], x, p["_spans"])
    out = detail["L_rounds_output"]
    answer = {2 * q + 1: 1, 2 * q + 2: 2}.get(out)
    detail.update(split_ok=split_ok, hop_equals_pointer=hop_ok, pointer_answer=truth,
                  protocol_answer=answer, premise=detail["rnn_output"] == hop(x, k)[-1])
    return ok and split_ok and hop_ok, x, truth, answer, detail


def _id_cot(inst, p, encode):
    q, k = p["q"], p["k"]
    x, split_ok = pointer_tokens(inst, q, k, encode)
    ok, detail = cot_rounds.cot_identity(p["_cot"], x, p["cot"], p["_spans"])
    detail.update(split_ok=split_ok, premise=detail["model_tokens"][-1] == hop(x, k)[-1])
    return ok and split_ok, x, detail["model_tokens"][-1], detail["protocol_tokens"][-1], detail


def _id_match3(inst, p, encode):
    a, b = inst
    ok, x, detail = match3_embed.identity(a, b, encode)
    got = sorted(set(detail["match3_at_1"].values()))
    return ok, x, detail["want"], got[0] if len(got) == 1 else str(got), detail


# --- registry ------------------------------------------------------------------------------------
def _validate_rnn(p, pointer: bool):
    if pointer:
        _need(p, "q", 1, 4)
        _need(p, "k", 1, 6)
        p["V"] = 2 * p["q"] + 3
        if p.get("alphabet") is not None:
            raise BadInput("rnn-pointer fixes the alphabet at 2q+3 (codes 1..2q+2 of task.hopk_blackboard)")
        p["N"] = 2 * p["q"] * p["k"] + 1
        p["_spans"] = pointer_spans(p["q"], p["k"])
        if p.get("layers") is None and not p.get("from"):
            p["layers"] = p["k"]
    else:
        _need(p, "N", 2, 12)
        _need(p, "alphabet", 2, 6)
        p["V"] = p["alphabet"]
        _need(p, "players", 1, p["N"])
        p["_spans"] = multipass.blocks(p["N"], p["players"])
    p["_layers"] = _model(p)


def _validate_cot(p):
    _need(p, "q", 1, 3)
    _need(p, "k", 1, 4)
    _need(p, "cot", 0, 6)
    _need(p, "H", 1, 4)
    p["V"], p["N"] = 2 * p["q"] + 3, 2 * p["q"] * p["k"] + 1
    p["_spans"] = pointer_spans(p["q"], p["k"])
    p["_cot"] = cot_rounds.random_cot_model(p["V"], p["N"] + p["cot"], p["H"], 2, 2, p["seed"])


_POINTER_COUNT = lambda p: math.factorial(p["q"]) ** p["k"] * (1 << p["q"])        # noqa: E731

def _hooks(rid: str) -> dict:
    """A record's evidence hooks: what its identity establishes (:func:`consequences`) and the
    short form of an instance's detail for reason lines (:func:`_brief`)."""
    return {"consequences": lambda p, premise, total: consequences(rid, p, premise, total),
            "brief": lambda detail: _brief(detail)}


REDUCTIONS: dict[str, Reduction] = {r.id: r for r in (
    Reduction("rnn-multipass", "sht24a.cor5_2", "P",
              "L-layer RNN = L-round protocol with s-bit messages = 1-round protocol with L*s bits"
              " (P_1's last message is the output at N)",
              ("N", "alphabet", "players", "layers", "state_bits", "model"),
              {"N": 6, "alphabet": 3, "players": 3, "layers": 2, "state_bits": None, "model": "successor",
               "seed": 0},
              lambda p: _validate_rnn(p, False), lambda p: p["V"] ** p["N"],
              lambda p: itertools.product(range(p["V"]), repeat=p["N"]),
              lambda p, r: tuple(r.randrange(p["V"]) for _ in range(p["N"])),
              _id_multipass, None, **_hooks("rnn-multipass")),
    Reduction("rnn-pointer", "sht24a.cor5_2", "P, chain R",
              "(q,k)-pointer chasing -> hop_k layout (block j from E_j) -> RNN -> L-round protocol"
              " whose answer is the RNN's", ("q", "k", "layers", "state_bits", "model", "from"),
              {"q": 2, "k": 3, "layers": None, "state_bits": None, "model": None, "seed": 0},
              lambda p: _validate_rnn(p, True), _POINTER_COUNT, pointer_instances, pointer_sample,
              _id_pointer, pointer_hop_encode, **_hooks("rnn-pointer")),
    Reduction("cot-rounds", "sht24a.cor5_6", "P/R",
              "one layer with N_CoT chain-of-thought tokens = (N_CoT+1)-round protocol with H(m+1)p-bit"
              " messages", ("q", "k", "cot", "H"), {"q": 2, "k": 3, "cot": 2, "H": 1, "seed": 0},
              _validate_cot, _POINTER_COUNT, pointer_instances, pointer_sample, _id_cot, pointer_hop_encode,
              **_hooks("cot-rounds")),
    Reduction("disj-match3", "sht23.thm7", "S/M, embedding R",
              "X = (3n, Alice's a-tokens, Bob's b-tokens) mod 9n+1  =>  Match3(X)_1 = 1 - DISJ(a,b)"
              " under all four conventions", ("n",), {"n": 4},
              lambda p: _need(p, "n", 1, 8), lambda p: 1 << (2 * p["n"]),
              lambda p: itertools.product(itertools.product((0, 1), repeat=p["n"]), repeat=2),
              lambda p, r: (tuple(r.randrange(2) for _ in range(p["n"])),
                            tuple(r.randrange(2) for _ in range(p["n"]))),
              _id_match3, match3_embed.disj_match3_encode, **_hooks("disj-match3")),
)}


# --- what an identity establishes --------------------------------------------------------------
def an21_row(R: int, s: int, q: int, k: int) -> dict:
    """The an21.prop4_12 row beside a protocol with R rounds and s-bit messages: which disjunct
    it meets.  No constants are known, so a row never says "violated"."""
    ratio = q / k ** 5
    if R >= k:
        reading = f"R = {R} >= k = {k}: the first disjunct holds; the bound asks nothing of s"
    else:
        reading = (f"R = {R} < k = {k}: the bound asks s = Omega(q/k^5); here s = {s} bits,"
                   f" q/k^5 = {ratio:.3g} (no constants, so no violation can be read off)")
    return {"id": "an21.prop4_12", "status": "P", "text": "R >= k or s = Omega(q/k^5)", "R": R, "s": s,
            "q": q, "k": k, "q_over_k5": ratio, "reading": reading}


def consequences(rid: str, p: dict, premise: int, total: int) -> dict:
    """The protocol an identity yields, the premise count, and the bound row (JSON-ready)."""
    if rid == "disj-match3":
        n = p["n"]
        return {"embedding": {"N": 2 * n + 1, "M": match3_embed.modulus(n), "query": 3 * n},
                "bound": {"id": "sht23.thm7", "status": "R",
                          "text": f"one layer, H heads: H(m+1)p >= n = (N-1)/2 = {n} (Alice's partial sums"
                                  " decide DISJ_n, whose one-way cost is n: rank 2^n); the [S] statement"
                                  " is m p H > c N / log log N",
                          "reading": "Alice's tokens depend on a only, Bob's on b only, the query is fixed"}}
    if rid == "cot-rounds":
        s = cot_rounds.message_bits(p["_cot"], p["_spans"])
        R = p["cot"] + 1
        return {"protocol": {"players": p["k"], "rounds": R, "message_bits": s, "H": p["H"], "m": 2},
                "premise": {"what": f"the model's answer equals hop_{p['k']}(X)_N", "holds_on": premise,
                            "of": total},
                "bound": an21_row(R, s, p["q"], p["k"]),
                "note": "R = N_CoT + 1, so the bound gives N_CoT >= k - 1 (erratum.6), not N_CoT >= k"}
    layers = p["_layers"]
    s = [lay.bits for lay in layers]
    proto = {"players": len(p["_spans"]), "rounds": len(layers), "message_bits_per_round": s,
             "one_round_message_bits": sum(s), "output_bits": multipass.out_bits(layers)}
    if rid == "rnn-multipass":
        return {"protocol": proto}
    q, k, L = p["q"], p["k"], len(layers)
    out = {"protocol": proto,
           "premise": {"what": f"the RNN's output at N equals hop_{k}(X)_N", "holds_on": premise, "of": total},
           "bound": an21_row(L, max(s), q, k), "one_round_bound": an21_row(1, sum(s), q, k)}
    out["conclusion"] = (f"the {L}-round protocol with {max(s)}-bit messages solves ({q},{k})-pointer"
                         " chasing on every instance" if premise == total else
                         f"the RNN errs on {total - premise} of {total} instances: no pointer-chasing"
                         " protocol follows")
    return out


def planned(rid: str, params: dict | None = None, mode: str = "auto", samples: int = 1000) -> int:
    """:func:`attncheck.bounds.reductions.planned` over this module's records."""
    return reductions.planned(rid, params, mode, samples, registry=REDUCTIONS)


def check(rid: str, params: dict | None = None, mode: str = "auto", samples: int = 1000, seed: int = 0,
          budget: Budget | None = None, encoder: Callable | None = None,
          on_step: Callable[[int], None] | None = None) -> Verdict:
    """:func:`attncheck.bounds.reductions.check` over this module's records: every instance
    (VERIFIED, with the protocol, premise count and bound row of :func:`consequences`) or
    ``samples`` seeded ones (UNKNOWN unless an instance breaks the identity: REFUTED)."""
    return reductions.check(rid, params, mode, samples, seed, budget, encoder, on_step, registry=REDUCTIONS)


def _brief(detail: dict) -> dict:
    return {k: v for k, v in detail.items() if not isinstance(v, (dict, list)) or k in ("a", "b")}
