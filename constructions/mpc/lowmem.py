"""MPC protocols with local memory s = ceil(N^delta): rounds that depend on delta, not on N [R].

``model.mpc`` (SHT24a Def 2.3, after Andoni et al. 2018) fixes s = O(N^delta) words per machine.
The protocols of :mod:`attncheck.constructions.mpc.basic` were written for s = 4, so their
rounds grow with N (log_s N for broadcast, log2 of the chunk count for prefix sums, L(L+1)/2
bitonic stages for sort).  Here s is a power of N and every protocol is a constant number of
fan-in/fan-out trees of branching about s, so its round count is a function of delta alone.
All three are reconstructions [R]: the textbook tree schemes written for this machine model
(inbox ordered by (src, k), a machine keeps state by sending it to itself).

* :func:`memory_words` -- s = ceil(N^delta), computed in integers (the least s with s^den >=
  N^num for delta = num/den).
* ``broadcast`` -- :func:`attncheck.constructions.mpc.basic.broadcast` at that s: machines
  [0, s^r) know the word after r rounds, ``ceil(log_s N) <= ceil(1/delta)`` rounds.
* :func:`tree_prefix` -- inclusive prefix sums mod 2^p by an up-sweep and a down-sweep over a
  tree of branching b = s - 1 whose leaves are 2 ceil(N/s) holders (half an input chunk each):
  ``2h + 1`` rounds with h the least integer with b^h >= 2 ceil(N/s).  Since s - 1 >= sqrt(s)
  for s >= 3 and 2 ceil(N/s) <= N, h <= ceil(2/delta) for every N with s >= 3.
* :func:`rank_sort` -- sorting by ranks over block pairs: blocks of c = floor(s/2) words; one
  machine per unordered block pair {a, b} counts, for each key of either block, the keys of the
  other block below it (keys (x_i, i), so ties are broken by position); per-element fan-in-s
  trees add the counts; the rank routes each word to output machine floor(rank/s).  Each word
  reaches its ceil(N/c) pair machines through a fan-out-s tree of single words.
  ``H + H_A + 2`` rounds, with H = H_A the height of a tree with ceil(ceil(N/c)/s) <= N leaves,
  so H <= 1 + ceil(log_s N) <= 1 + ceil(1/delta) and R <= 2 ceil(1/delta) + 4.
  Total memory is O(N^2/s) words (q = O(N^2/s^2) pair machines of s words, and O(N/s) tree
  nodes per element): a (1 - delta, delta)-MPC protocol, so Thm 3.1's
  gamma < delta holds for delta > 1/2 only (Thm B.3 drops that condition).  The sample sort of
  Goodrich, Sitchinava and Zhang (O(1/delta) rounds with O(N) total memory) is not built.

Shape glossary: N input words, s words per machine, q machines, p-bit words.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from attncheck.constructions.mpc.basic import broadcast
from attncheck.constructions.mpc.model import Inbox, Limits, Protocol
from attncheck.constructions.verdict import BadInput


def parse_delta(delta) -> Fraction:
    """delta as an exact fraction in (0, 1) ('1/2', '0.5', 0.5 or a Fraction)."""
    try:
        d = Fraction(str(delta)).limit_denominator(10 ** 6)
    except (ValueError, ZeroDivisionError):
        raise BadInput(f"--delta must be a number in (0, 1) such as 0.5 or 1/3, got {delta!r}") from None
    if not 0 < d < 1:
        raise BadInput(f"--delta must lie strictly between 0 and 1, got {delta}")
    return d


def memory_words(N: int, delta) -> int:
    """s = ceil(N^delta) in integers: the least s >= 1 with s^den >= N^num (delta = num/den)."""
    d = parse_delta(delta)
    num, den = d.numerator, d.denominator
    target = N ** num
    lo, hi = 1, N                      # N^delta <= N
    while lo < hi:                     # least s with s^den >= N^num
        mid = (lo + hi) // 2
        if mid ** den >= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


def tree_levels(leaves: int, fan: int) -> list[int]:
    """Level sizes of a tree with ``leaves`` nodes at level 0 and ``fan`` children per node:
    [leaves, ceil(leaves/fan), ..., 1] (just [1] for one leaf)."""
    if fan < 2:
        raise BadInput(f"a tree needs branching >= 2, got {fan}")
    sizes = [max(1, leaves)]
    while sizes[-1] > 1:
        sizes.append(-(-sizes[-1] // fan))
    return sizes


def _offsets(sizes: Sequence[int]) -> list[int]:
    out, acc = [], 0
    for n in sizes:
        out.append(acc)
        acc += n
    return out


# --- broadcast ------------------------------------------------------------------------------
def fanout_broadcast(n: int, s: int, p: int) -> Protocol:
    """``basic.broadcast`` at s words: ceil(log_s max(n, s)) rounds (at most ceil(1/delta) when
    s = ceil(n^delta))."""
    return broadcast(n, s, p)


# --- prefix sums ----------------------------------------------------------------------------
def tree_prefix(n: int, s: int, p: int) -> Protocol:
    """Inclusive prefix sums mod 2^p of ``n`` words with s >= 3 words per machine.

    Machines: holders [0, 2m) (m = ceil(n/s) input chunks; holder 2j gets the first ceil(c/2)
    words of chunk j, holder 2j+1 the rest), then the tree levels 1..h (level k node x has the
    children [x b, x b + b) of level k - 1, b = s - 1).  Rounds:

    * 0: input chunk j -> holders 2j, 2j + 1;
    * 1: holders send their sum to the parent (and keep their words: every round a holder
      sends its words to itself);
    * k + 1 (1 <= k < h): a level-k node sends the sum of its children's sums up and keeps them;
    * h + 1: the root sends child t the sum of the sums of children 0..t-1;
    * 2h + 1 - k (k < h): a level-k node receives its offset and sends child t
      offset + sum of children 0..t-1; the holders receive theirs after round 2h.

    A node keeps at most b = s - 1 sums and receives one offset (s words); a holder keeps
    ceil(s/2) words plus one offset."""
    if s < 3:
        raise BadInput(f"tree prefix sums need s >= 3 (a node keeps s - 1 sums and its offset), got {s}")
    b = s - 1
    m = -(-n // s)
    leaves = 2 * m
    sizes = tree_levels(leaves, b)
    if len(sizes) == 1:                          # one holder cannot happen (leaves >= 2)
        raise BadInput("tree prefix sums need at least two holders")
    h = len(sizes) - 1
    off = _offsets(sizes)                        # level k starts at machine off[k] (holders at 0)
    lim = Limits(off[-1] + 1, s, p)
    mod = 1 << p
    R = 2 * h + 1

    def level_of(i: int) -> tuple[int, int]:
        for k in range(h, -1, -1):
            if i >= off[k]:
                return k, i - off[k]
        raise AssertionError(i)

    def parent(k: int, x: int) -> int:
        return off[k + 1] + x // b

    def children(k: int, x: int) -> range:
        lo = off[k - 1] + x * b
        return range(lo, min(lo + b, off[k - 1] + sizes[k - 1]))

    def step(r: int, i: int, inbox: Inbox):
        if r == 0:
            if i >= m or not inbox:
                return ()
            ws = [w for _, w in inbox]
            na = (len(ws) + 1) // 2
            return tuple((2 * i, w) for w in ws[:na]) + tuple((2 * i + 1, w) for w in ws[na:])
        k, x = level_of(i)
        if k == 0:                                                   # a holder
            ws = [w for src, w in inbox if src != parent(0, x) or r == 1]
            out = [(i, w) for w in ws]
            if r == 1:
                out.append((parent(0, x), sum(ws) % mod))
            return tuple(out)
        if r < k + 1 or r > R - k:                                   # not yet / done
            return ()
        kids = children(k, x)
        if r == k + 1:                                               # the children's sums arrive
            sums = [w for _, w in inbox]
            if k == h:
                return _down(sums, 0, kids, mod)
            return ((parent(k, x), sum(sums) % mod),) + tuple((i, w) for w in sums)
        sums = [w for src, w in inbox if src == i]
        if r < R - k:                                                # waiting for the offset
            return tuple((i, w) for w in sums)
        offset = next(w for src, w in inbox if src == parent(k, x))
        return _down(sums, offset, kids, mod)

    def output(i: int, inbox: Inbox):
        if i >= off[1]:
            return ()
        offset = [w for src, w in inbox if src != i]
        acc, out = (offset[0] if offset else 0), []
        for src, w in inbox:
            if src == i:
                acc = (acc + w) % mod
                out.append(acc)
        return tuple(out)

    return Protocol("prefix", "model.mpc", "R", lim, n, R, step, output,
                    params={"N": n, "s": s, "p": p, "holders": leaves, "branching": b, "height": h},
                    notes=(f"fan-in {b} tree over {leaves} holders: up-sweep and down-sweep, 2h+1 rounds",))


def _down(sums: list[int], offset: int, kids: range, mod: int) -> tuple[tuple[int, int], ...]:
    out, acc = [], offset
    for child, w in zip(kids, sums):
        out.append((child, acc))
        acc = (acc + w) % mod
    return tuple(out)


# --- sort by ranks --------------------------------------------------------------------------
def rank_sort(n: int, s: int, p: int) -> Protocol:
    """Ascending sort of ``n`` words < 2^p with s >= 2 words per machine (see the module
    docstring).  Machines, in order: output/input machines [0, ceil(n/s)); per element i a
    fan-out tree (levels W); one pair machine per unordered block pair a <= b; per element i a
    fan-in tree (levels A).  Word i of block a goes to the pair machine of {a, b'} for every
    block b' (flag 0 when a is the pair's first block, 1 when its second); pair machine {a, b}
    sends each key of a the count of keys of b below it, and each key of b the count of keys of
    a below it (a = b: one block, counted once).  Words: (flag, x, i) with 1 + p + h bits,
    h = bit_length(n); counts and ranks in the index field."""
    if s < 2:
        raise BadInput(f"rank sort needs s >= 2 (a pair machine holds a block of floor(s/2) words"
                       f" and its partner's), got {s}")
    c = s // 2
    nb = -(-n // c)                               # blocks
    W = tree_levels(-(-nb // s), s)               # fan-out tree: leaves serve s copies each
    A = tree_levels(-(-nb // s), s)               # fan-in tree: level-0 node adds s counts
    H, HA = len(W), len(A)
    m0 = -(-n // s)
    woff, aoff = _offsets(W), _offsets(A)
    wtot, atot = sum(W), sum(A)
    npairs = nb * (nb + 1) // 2
    T0 = m0
    C0 = T0 + n * wtot
    A0 = C0 + npairs
    q = A0 + n * atot
    hb = max(1, n.bit_length())
    lim = Limits(q, s, 1 + p + hb)
    imask, xmask = (1 << hb) - 1, (1 << p) - 1
    R = H + HA + 2
    pairs = [(a, b) for a in range(nb) for b in range(a, nb)]       # pair machine C0 + index

    def pid(a: int, b: int) -> int:
        return C0 + a * nb - a * (a - 1) // 2 + (b - a)

    def wnode(i: int, k: int, t: int) -> int:
        return T0 + i * wtot + woff[k] + t

    def anode(i: int, k: int, t: int) -> int:
        return A0 + i * atot + aoff[k] + t

    def role(i: int) -> tuple[str, int, int, int]:
        if i < T0:
            return ("io", i, 0, 0)
        if i < C0:
            e, rest = divmod(i - T0, wtot)
            k = max(k for k in range(H) if woff[k] <= rest)
            return ("w", e, k, rest - woff[k])
        if i < A0:
            a, b_ = pairs[i - C0]
            return ("c", a, b_, 0)
        e, rest = divmod(i - A0, atot)
        k = max(k for k in range(HA) if aoff[k] <= rest)
        return ("a", e, k, rest - aoff[k])

    def counts(mine, other, other_block: int):
        return [(anode(idx, 0, other_block // s), (x << hb) | sum(1 for y in other if y < (x, idx)))
                for x, idx in mine]

    def step(r: int, i: int, inbox: Inbox):
        kind, e, k, t = role(i)
        if r == 0:
            if kind != "io":
                return ()
            return tuple((wnode(i * s + u, H - 1, 0), (w << hb) | (i * s + u))
                         for u, (_, w) in enumerate(inbox))
        if kind == "w" and r == H - k and inbox:
            word = inbox[0][1]
            if k > 0:
                return tuple((wnode(e, k - 1, t * s + u), word) for u in range(s) if t * s + u < W[k - 1])
            a = e // c
            return tuple((pid(min(a, b), max(a, b)), ((1 if b < a else 0) << (p + hb)) | word)
                         for b in range(t * s, min(t * s + s, nb)))
        if kind == "c" and r == H + 1:
            a, b = e, k
            first, second = [], []
            for _, w in inbox:
                key = ((w >> hb) & xmask, w & imask)
                (second if w >> (p + hb) else first).append(key)
            if a == b:
                return tuple(counts(first, first, a))
            return tuple(counts(first, second, b) + counts(second, first, a))
        if kind == "a" and r == H + 2 + k and inbox:
            x = (inbox[0][1] >> hb) & xmask
            total = sum(w & imask for _, w in inbox)
            if k < HA - 1:
                return ((anode(e, k + 1, t // s), (x << hb) | total),)
            return ((total // s, (total << p) | x),)
        return ()

    def output(i: int, inbox: Inbox):
        if i >= m0:
            return ()
        return tuple(w & xmask for w in sorted(w for _, w in inbox))

    return Protocol("sort", "model.mpc", "R", lim, n, R, step, output,
                    params={"N": n, "s": s, "p": lim.p, "value_bits": p, "block": c, "blocks": nb,
                            "fanout_height": H, "fanin_height": HA},
                    notes=("all-pairs ranking over unordered block pairs: total memory O(N^2/s) words"
                           " ((1 - delta, delta)-MPC)",))
