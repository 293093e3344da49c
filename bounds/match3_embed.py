"""DISJ_n embedded into Match3 at position 1 (``sht23.thm7`` [S/M/R]), checked as a finite identity.

Alice holds A subset [n] (as a in {0,1}^n), Bob B (as b).  With c0 = 3n, M = 9n + 1 and a neutral
value z = n + 1 (all values mod M):

  X = (c0, alpha_1, ..., alpha_n, beta_1, ..., beta_n),   N = 2n + 1,
  alpha_t = t if a_t = 1 else z,     beta_t = -(c0 + t) mod M if b_t = 1 else z.

Position 1 holds the fixed query c0, Alice's tokens depend on a alone and Bob's on b alone.  The
triple sums through position 1 are c0 + u + w with u, w among {c0, t, -(c0 + t), z}; as integers
they are a - b (for alpha_a, beta_b: zero iff a = b) or lie in [-5n, -(3n+2)], [1, n], [2n, 3n-1],
[3n+2, 9n], none of which is 0 mod 9n + 1.  So Match3(X)_1 = 1 exactly when A and B meet:
Match3(X)_1 = 1 - DISJ(a, b), under every convention (j1 or j2 = 1 allowed or not, j1 = j2
allowed or not): the only zero triples use one alpha and one beta, at two distinct positions
other than 1.  :func:`identity` checks this on every (a, b) against ``tasks.match3`` itself.

Consequence [R]: in a one-layer transformer with H heads the output at position 1 is a function of
x_1 and each head's softmax numerator and denominator, which split into Alice's and Bob's
partial sums; Alice's H(m+1) p-bit partial sums are a one-way protocol for DISJ_n, whose
deterministic cost is n (rank 2^n: ``attncheck witness rank disj``), so H(m+1)p >= n = (N-1)/2
(randomised: Omega(N)).  The [S] statement m p H <= c N / log log N is not this argument; its
log log N is not reproduced here.
"""
from __future__ import annotations

from typing import Sequence

from attncheck.constructions.tasks import disj, match3

CONVENTIONS = ((True, True), (True, False), (False, True), (False, False))   # (allow_self, allow_repeat)


def modulus(n: int) -> int:
    return 9 * n + 1


def alice_tokens(a: Sequence[int]) -> list[int]:
    """Alice's n tokens: t where a_t = 1, else the neutral z = n + 1 (t = 1..n)."""
    n = len(a)
    return [t if at else n + 1 for t, at in enumerate(a, start=1)]


def bob_tokens(b: Sequence[int]) -> list[int]:
    """Bob's n tokens: -(3n + t) mod (9n + 1) where b_t = 1, else z = n + 1."""
    n, M = len(b), modulus(len(b))
    return [(-(3 * n + t)) % M if bt else n + 1 for t, bt in enumerate(b, start=1)]


def disj_match3_encode(a: Sequence[int], b: Sequence[int]) -> tuple[list[int], int]:
    """(X, M): the query c0 = 3n, then Alice's tokens, then Bob's."""
    return [3 * len(a)] + alice_tokens(a) + bob_tokens(b), modulus(len(a))


def identity(a: Sequence[int], b: Sequence[int], encode=disj_match3_encode) -> tuple[bool, list[int], dict]:
    """Match3(X)_1 = 1 - DISJ(a, b) under all four conventions, and the split: X = (c0, Alice's
    tokens from a alone, Bob's tokens from b alone)."""
    x, M = encode(a, b)
    n = len(a)
    want = 1 - disj(a, b)
    got = {f"{'self' if s else 'no-self'},{'repeat' if r else 'no-repeat'}": match3(x, M, s, r)[0]
           for s, r in CONVENTIONS}
    split = len(x) == 2 * n + 1 and x[1:n + 1] == alice_tokens(a) and x[n + 1:] == bob_tokens(b) \
        and x[0] == 3 * n
    ok = split and all(g == want for g in got.values())
    return ok, x, {"a": list(a), "b": list(b), "M": M, "want": want, "match3_at_1": got, "split_ok": split}
