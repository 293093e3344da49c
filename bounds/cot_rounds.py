"""A one-layer transformer with chain of thought as an (N_CoT + 1)-round blackboard protocol
(``sht24a.cor5_6`` [P/R], ``erratum.6`` [R]), checked as a finite identity on small instances.

Shape glossary: N input positions, C = N_CoT generated tokens, H heads, d score width, m value
width, V symbols, P players (blocks of the input).

Model (exact arithmetic, so that the identity is exact): head h gives position i (token t_i) the
query Q[h][t_i][i] in Z^d, position j the key K[h][t_j][j] and value Vv[h][t_j][j] in Z^m, small
seeded integers.  Causal attention with base-2 softmax: weight w_ij = 2^(q_i . k_j + 4d) (a
positive integer), a_h(i) = sum_j w_ij v_j / sum_j w_ij (a Fraction vector).  The token written
after position i is argmax_t sum_h U[h][t] . a_h(i) + Bo[t_i][i][t] (first maximum).  Chain of
thought (Def. 5.5): y_1 = T(X)_N, y_{t+1} = T(X o y_1..y_t)_{N+t}; X_CoT = y_1..y_C and the answer
is y_{C+1}.

Protocol: the input is cut into P blocks (the last token x_N is public, as X_N = 1 is in the
pointer-chasing layout); generated tokens are public.  In round t = 1..C+1 the query (x_N at
position N, then y_{t-1} at position N+t-1) is known to everyone; players P_P..P_2 post, per
head, the integer numerator (m entries) and denominator of their block; P_1 adds its own block
and the public generated positions and posts y_t (the answer in round C+1).  So C + 1 rounds and
H(m+1) integers of p bits per message, p from the block length.  With ``an21.prop4_12`` that gives
C + 1 >= k or H(m+1)p = Omega(q/k^5): N_CoT >= k - 1, not k (erratum.6).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from attncheck.constructions.verdict import BadInput


@dataclass(frozen=True)
class CotModel:
    """Seeded integer tables indexed [head][token][position] (positions 0..N+C-1)."""

    V: int
    H: int
    d: int
    m: int
    Q: tuple
    K: tuple
    Vv: tuple
    U: tuple          # [head][out token] -> m-vector
    Bo: tuple         # [token][position][out token]

    @property
    def shift(self) -> int:
        return 4 * self.d               # |q . k| <= 4d with entries in -2..2: exponent >= 0


def random_cot_model(V: int, positions: int, H: int, d: int, m: int, seed: int) -> CotModel:
    if not (1 <= H <= 4 and 1 <= d <= 3 and 1 <= m <= 4):
        raise BadInput(f"--H must be in 1..4 (got {H}); score width 1..3, value width 1..4")
    rnd = random.Random(seed)
    vec = lambda n, lo, hi: tuple(rnd.randint(lo, hi) for _ in range(n))          # noqa: E731
    table = lambda n, lo, hi: tuple(tuple(tuple(vec(n, lo, hi) for _ in range(positions))   # noqa: E731
                                          for _ in range(V)) for _ in range(H))
    return CotModel(V, H, d, m, table(d, -2, 2), table(d, -2, 2), table(m, -3, 3),
                    tuple(tuple(vec(m, -3, 3) for _ in range(V)) for _ in range(H)),
                    tuple(tuple(vec(V, -2, 2) for _ in range(positions)) for _ in range(V)))


def _weight(M: CotModel, h: int, qtok: int, qpos: int, tok: int, pos: int) -> int:
    s = sum(a * b for a, b in zip(M.Q[h][qtok][qpos], M.K[h][tok][pos]))
    return 1 << (s + M.shift)


def _emit(M: CotModel, qtok: int, qpos: int, heads: Sequence[tuple[Sequence[int], int]]) -> int:
    """Next token from each head's (numerator, denominator)."""
    a = [[Fraction(x, den) for x in num] for num, den in heads]
    scores = [sum(sum(u * ai for u, ai in zip(M.U[h][t], a[h])) for h in range(M.H)) + M.Bo[qtok][qpos][t]
              for t in range(M.V)]
    return scores.index(max(scores))


def partial(M: CotModel, qtok: int, qpos: int, toks: Sequence[int], poss: Sequence[int]):
    """Per head (numerator m-vector, denominator) over the given positions: integers."""
    out = []
    for h in range(M.H):
        num, den = [0] * M.m, 0
        for t, j in zip(toks, poss):
            w = _weight(M, h, qtok, qpos, t, j)
            den += w
            num = [n + w * v for n, v in zip(num, M.Vv[h][t][j])]
        out.append((num, den))
    return out


def generate(M: CotModel, x: Sequence[int], C: int) -> list[int]:
    """The reference: autoregressive decoding, attention computed over the whole prefix with
    Fraction weights w_j / sum w (not by partial sums).  Returns y_1..y_{C+1}."""
    seq, ys = list(x), []
    for _ in range(C + 1):
        i = len(seq) - 1
        heads = []
        for h in range(M.H):
            ws = [_weight(M, h, seq[i], i, seq[j], j) for j in range(i + 1)]
            tot = sum(ws)
            a = [sum(Fraction(w, tot) * M.Vv[h][seq[j]][j][c] for j, w in enumerate(ws)) for c in range(M.m)]
            heads.append(a)
        scores = [sum(sum(u * ai for u, ai in zip(M.U[h][t], heads[h])) for h in range(M.H))
                  + M.Bo[seq[i]][i][t] for t in range(M.V)]
        y = scores.index(max(scores))
        ys.append(y)
        seq.append(y)
    return ys


def int_bits(block_len: int, M: CotModel) -> int:
    """p: two's-complement bits that hold any numerator entry or denominator of a block."""
    top = block_len * (1 << (2 * M.shift)) * 3       # w <= 2^(8d), |v| <= 3
    return top.bit_length() + 1


def _to_bits(v: int, p: int) -> tuple[int, ...]:
    if not -(1 << (p - 1)) <= v < (1 << (p - 1)):
        raise RuntimeError(f"partial sum {v} does not fit {p} bits")
    u = v % (1 << p)
    return tuple((u >> (p - 1 - b)) & 1 for b in range(p))


def _from_bits(bits: Sequence[int]) -> int:
    u = int("".join(map(str, bits)), 2)
    return u - (1 << len(bits)) if bits[0] else u


@dataclass(frozen=True)
class CotTranscript:
    rounds: int
    messages: tuple[tuple[int, int, tuple[int, ...]], ...]      # (round, player, bits)
    tokens: tuple[int, ...]                                     # y_1..y_{C+1} posted by P_1


def protocol(M: CotModel, x: Sequence[int], C: int, spans) -> CotTranscript:
    """The (C+1)-round protocol; x_N (the last input token) and every y_t are public."""
    P, N = len(spans), len(x)
    p = max(int_bits(b - a, M) for a, b in spans)
    board: list[tuple[int, int, tuple[int, ...]]] = []
    ys: list[int] = []
    for rnd in range(1, C + 2):
        qtok, qpos = (x[-1], N - 1) if rnd == 1 else (ys[-1], N + rnd - 2)
        for index, (a, b) in enumerate(spans[:-1]):                  # P_P .. P_2: partial sums
            bits: list[int] = []
            for num, den in partial(M, qtok, qpos, x[a:b], range(a, b)):
                for v in (*num, den):
                    bits += _to_bits(v, p)
            board.append((rnd, P - index, tuple(bits)))
        a, b = spans[-1]                                             # P_1 finishes the heads
        own = partial(M, qtok, qpos, list(x[a:b]) + ys, list(range(a, b)) + list(range(N, N + len(ys))))
        heads = []
        for h, (num, den) in enumerate(own):
            for r, _, bits in board[-(P - 1):] if P > 1 else ():
                vals = [_from_bits(bits[i:i + p]) for i in range(0, len(bits), p)]
                part = vals[h * (M.m + 1):(h + 1) * (M.m + 1)]
                num, den = [u + w for u, w in zip(num, part[:-1])], den + part[-1]
            heads.append((num, den))
        y = _emit(M, qtok, qpos, heads)
        ys.append(y)
        board.append((rnd, 1, _to_bits(y, max(1, (M.V - 1).bit_length()) + 1)))
    return CotTranscript(C + 1, tuple(board), tuple(ys))


def message_bits(M: CotModel, spans) -> int:
    """H(m+1)p: the length of every partial-sum message."""
    return M.H * (M.m + 1) * max(int_bits(b - a, M) for a, b in spans)


def cot_identity(M: CotModel, x: Sequence[int], C: int, spans) -> tuple[bool, dict]:
    want = generate(M, x, C)
    tr = protocol(M, x, C, spans)
    s = message_bits(M, spans)
    sizes = all(len(bits) == s for _, player, bits in tr.messages if player != 1)
    ok = list(tr.tokens) == want and tr.rounds == C + 1 and sizes
    return ok, {"model_tokens": want, "protocol_tokens": list(tr.tokens), "rounds": tr.rounds,
                "sizes_ok": sizes}
