"""Connected components in O(log D / delta) rounds by squaring the reachability matrix [R].

``sht24a.cor3_3`` [P] states L = O(log D).  This protocol reaches a round count of that shape,
``3 + H_O + K (H + H_O + 2) + H_O + 1`` with K = ceil(log2 D) squarings and tree heights
H, H_O = O(1/delta), by spending memory: q = O(N^3 / s^2) machines, total memory O(N^3/s)
words -- far above the O(N^{1+gamma}) with gamma < delta of Thm 3.1 (Thm B.3 drops gamma < delta;
Coy--Czumaj reach O(log D) with near-linear memory, which is not built).

The matrix: B_0 = A + I (adjacency of the input graph plus the identity), B_{k+1} = B_k B_k over
the Boolean semiring, so B_k(i, j) = 1 iff dist(i, j) <= 2^k.  With the promise that every
component has diameter <= D, B_K with 2^K >= D is the "same component" relation, and the label
of i is the least j with B_K(i, j) = 1 (the SHT24a label, the least vertex of i's component).

Layout: row i of B is cut into nseg = ceil(N/g) words of g = min(s - 1, 60 - h) bits
(h = bit_length(N)); word (i, t) holds B(i, t g .. t g + g - 1).  One squaring:

* holder Wd(i, t) sends its word to the top of its fan-out tree (fan s); the leaves deliver
  N + nseg copies: copy c < N goes to M(c, t, i // g) as operand row i (index i mod g), copy
  N + t' goes to M(i, t', t) as row i's selector for the group t;
* M(i, t, u) holds the selector B(i, u g .. u g + g - 1) and the operand words (k, t) of the g
  rows k of group u (g + 1 <= s words); it sends OR_{k : B(i,k)} B(k, t-segment) up a fan-in s
  OR tree over u, whose top delivers the new word (i, t) to Wd(i, t).

Initially each edge (u, v) sends bit v of row u (and bit u of row v) to M(u, v // g, e // g)
(e the edge slot), which ORs what it gets and sends it up the same OR trees.  Finally Wd(i, t)
sends the least set column of its word up the OR tree of (i, 0), run as a min tree, to Wd(i, 0),
which outputs it.  Every address is fixed in advance, so no machine ever sends or receives more
than s words, whatever the degrees.

Shape glossary: N vertices and edge slots, s words, g bits per matrix word, q machines.
"""
from __future__ import annotations

from attncheck.constructions.mpc.lowmem import _offsets, tree_levels
from attncheck.constructions.mpc.model import Inbox, Limits, Protocol
from attncheck.constructions.verdict import BadInput


def squarings(D: int) -> int:
    """K = ceil(log2 D) (0 for D = 1): the least K with 2^K >= D."""
    return (max(D, 1) - 1).bit_length()


def reach_components(N: int, s: int, D: int | None = None) -> Protocol:
    """Component labels (least vertex) of any graph with at most N edges on [N] whose components
    have diameter <= D (default N - 1, i.e. no promise); input: 2N tokens, padding (N, N)."""
    if isinstance(N, bool) or not isinstance(N, int) or N < 2:
        raise BadInput(f"reach components need an integer N >= 2, got {N!r}")
    if s < 3:
        raise BadInput(f"reach components need s >= 3 words, got {s}")
    D = N - 1 if D is None else D
    if not 1 <= D <= max(1, N - 1):
        raise BadInput(f"the diameter bound D must be in [1, N-1] = [1, {N - 1}], got {D}")
    hb = N.bit_length()
    g = min(s - 1, 60 - hb)
    nseg = -(-N // g)
    copies = N + nseg
    RT = tree_levels(-(-copies // s), s)            # fan-out tree per word
    OT = tree_levels(-(-nseg // s), s)              # OR / min tree per word
    H, HO = len(RT), len(OT)
    K = squarings(D)
    roff, ooff, rtot, otot = _offsets(RT), _offsets(OT), sum(RT), sum(OT)
    m0 = -(-2 * N // s)
    E0 = m0
    W0 = E0 + N
    R0 = W0 + N * nseg
    M0 = R0 + N * nseg * rtot
    O0 = M0 + N * nseg * nseg
    q = O0 + N * nseg * otot
    lim = Limits(q, s, 1 + hb + g)
    gmask, imask = (1 << g) - 1, (1 << hb) - 1
    OPR, SEL = 0, 1

    init_len = 3 + HO                             # Wd holds B_0 (without I) at round init_len
    sq_len = H + HO + 2
    final_at = init_len + K * sq_len              # Wd holds B_K at this round
    R = final_at + HO + 1

    def wd(i: int, t: int) -> int:
        return W0 + i * nseg + t

    def rnode(i: int, t: int, k: int, x: int) -> int:
        return R0 + (i * nseg + t) * rtot + roff[k] + x

    def mm(i: int, t: int, u: int) -> int:
        return M0 + (i * nseg + t) * nseg + u

    def onode(i: int, t: int, k: int, x: int) -> int:
        return O0 + (i * nseg + t) * otot + ooff[k] + x

    def role(i: int):
        if i < E0:
            return ("in", i, 0, 0, 0)
        if i < W0:
            return ("e", i - E0, 0, 0, 0)
        if i < R0:
            a, t = divmod(i - W0, nseg)
            return ("w", a, t, 0, 0)
        if i < M0:
            w_, rest = divmod(i - R0, rtot)
            k = max(k for k in range(H) if roff[k] <= rest)
            return ("r", w_ // nseg, w_ % nseg, k, rest - roff[k])
        if i < O0:
            a, rest = divmod(i - M0, nseg * nseg)
            t, u = divmod(rest, nseg)
            return ("m", a, t, u, 0)
        w_, rest = divmod(i - O0, otot)
        k = max(k for k in range(HO) if ooff[k] <= rest)
        return ("o", w_ // nseg, w_ % nseg, k, rest - ooff[k])

    def phase(r: int) -> tuple[str, int]:
        """('init', j) for r < init_len, ('sq', j) inside a squaring, ('min', j) at the end."""
        if r < init_len:
            return "init", r
        if r < final_at:
            return "sq", (r - init_len) % sq_len
        return "min", r - final_at

    def bits_of(inbox: Inbox) -> int:
        acc = 0
        for _, w in inbox:
            acc |= w & gmask
        return acc

    def word(flag: int, idx: int, bits: int) -> int:
        return (flag << (hb + g)) | (idx << g) | bits

    def step(r: int, i: int, inbox: Inbox):
        kind, a, t, k, x = role(i)
        ph, j = phase(r)
        if kind == "in":
            if r != 0:
                return ()
            return tuple((E0 + (i * s + u) // 2, word((i * s + u) % 2, min(w, imask), 0))
                         for u, (_, w) in enumerate(inbox))
        if kind == "e":
            if r != 1 or len(inbox) < 2:
                return ()
            ends = {(w >> (hb + g)) & 1: (w >> g) & imask for _, w in inbox}
            u, v = ends.get(0, N), ends.get(1, N)
            if u >= N or v >= N or u == v:
                return ()
            return ((mm(u, v // g, a // g), 1 << (v % g)), (mm(v, u // g, a // g), 1 << (u % g)))
        if kind == "w":
            if ph == "init" or (ph == "min" and j > 0):
                return ()
            bits = bits_of(inbox)
            if t == a // g:
                bits |= 1 << (a % g)                           # the identity: B contains I
            if ph == "min":
                low = t * g + (bits & -bits).bit_length() - 1 if bits else N
                return ((onode(a, 0, 0, t // s), min(low, N)),)
            if j == 0:
                return ((rnode(a, t, H - 1, 0), bits),)
            return ()
        if kind == "r":
            if ph != "sq" or j != H - k or not inbox:
                return ()
            bits = inbox[0][1] & gmask
            if k > 0:
                return tuple((rnode(a, t, k - 1, x * s + y), bits) for y in range(s) if x * s + y < RT[k - 1])
            out = []
            for c in range(x * s, min(x * s + s, copies)):
                if c < N:
                    out.append((mm(c, t, a // g), word(OPR, a % g, bits)))
                else:
                    out.append((mm(a, c - N, t), word(SEL, 0, bits)))
            return tuple(out)
        if kind == "m":
            if ph == "init" and j == 2:
                return ((onode(a, t, 0, k // s), bits_of(inbox)),)
            if ph != "sq" or j != H + 1:
                return ()
            sel = next((w & gmask for _, w in inbox if (w >> (hb + g)) & 1 == SEL), 0)
            acc = 0
            for _, w in inbox:
                if (w >> (hb + g)) & 1 == OPR and sel >> ((w >> g) & imask) & 1:
                    acc |= w & gmask
            return ((onode(a, t, 0, k // s), acc),)
        if kind == "o" and inbox:
            if ph == "min":
                if j != k + 1:
                    return ()
                val = min(w for _, w in inbox)
            else:
                start = 3 if ph == "init" else H + 2
                if j != start + k:
                    return ()
                val = bits_of(inbox)
            up = wd(a, t) if k == HO - 1 else onode(a, t, k + 1, x // s)
            return ((up, val),)
        return ()

    def output(i: int, inbox: Inbox):
        kind, a, t, _, _ = role(i)
        if kind == "w" and t == 0:
            return (min((w for _, w in inbox), default=a),)
        return ()

    return Protocol("components", "sht24a.cor3_3", "R", lim, 2 * N, R, step, output,
                    params={"N": N, "s": s, "D": D, "p": lim.p, "squarings": K, "bits_per_word": g,
                            "segments": nseg, "fanout_height": H, "or_height": HO},
                    notes=("Boolean squaring of A + I: O(log D / delta) rounds, O(N^3/s) total memory",))
