"""Connected components and minimum spanning forests of graphs of any degree, s = ceil(N^delta) [R].

``sht24a.cor3_3`` [P] (Coy--Czumaj 2022 with Thm 3.1; Cor B.9 for the MSF) states L = O(log D)
layers.  What is built here is weaker and says so: a deterministic Borůvka protocol whose round
count is fixed in advance, ``2 + K (2 (L_X + 1) + (J + 1)(L_Y + 1)) (+ 2 (L_Y + 1) for labels)``
with K = J = ceil(log2 N) and tree heights L_X, L_Y = O(1/delta), i.e. O(log^2 N / delta) rounds,
not O(log D), with O(N^2/s) total memory.  :mod:`attncheck.constructions.mpc.reach` has the
O(log D / delta) rounds for components, at O(N^3/s) memory.  docs/mpc.md, "Low memory", has the
measured rounds.

Input: ``k`` tokens per edge slot, N edge slots on N vertices -- (u, v) for components (the
SHT24a edge-list serialisation, padding (N, N)), (u, v, w) for the MSF (padding (N, N, 0)).
An edge with an endpoint >= N or with u = v is ignored (neither changes components or the MSF).

Machines, all with s >= 3 words (c = min(s - 1, 56) items per group):

* input machines [0, ceil(k N / s)), vertex machines V_x, edge machines E_e;
* per vertex x an *incidence tree*: leaves F(x, g) over the edge groups g = [g c, g c + c), fan s.
  Leaf F(x, g) learns once (round 1) the bitmask of the edges of g incident to x and keeps it.
  Down the tree goes x's parent pointer to exactly its incident edges (fetch); up the tree
  goes the minimum of what the edges of g send to x (gather), whoever x is;
* per vertex w a *request tree*: leaves Q(w, g') over the vertex groups g' = [g' c, g' c + c).
  Down goes a value of w; requests from the vertices of g' meet it at leaf Q(w, g') and are
  answered there (read: every vertex v learns value(P(v)) in L_Y + 1 rounds).

Every tree is independent of the input (static addresses), so every machine sends and receives
at most s words whatever the degrees.  Total memory is O(N^2/s) words (N trees of N/s leaves).

One Borůvka phase (every vertex points to its component's root, P(root) = root):
fetch (each edge learns P(u), P(v)); gather (each root r learns the least key over the edges
leaving its component: MSF key (w, e), components key (min(P u, P v), max(P u, P v)) -- a
symmetric key, so choices form no cycle longer than two); hook (P(r) = the other root) and
read(CH) (r learns the key its new parent chose: a mutual choice keeps the smaller root; MSF:
the chosen edge is marked); J pointer jumps P(v) = P(P(v)).  Each phase merges every component
that has a neighbour, so K = ceil(log2 N) phases suffice, and a hooked forest has depth < N, so
J = ceil(log2 N) jumps flatten it.  Components then gather the least vertex of each component
at its root (over the request trees) and read it: the output is the SHT24a label (least vertex).

Shape glossary: N vertices and edge slots, s words, q machines, p-bit words.
"""
from __future__ import annotations

from typing import Sequence

from attncheck.constructions.mpc.lowmem import _offsets, tree_levels
from attncheck.constructions.mpc.model import Inbox, Limits, Protocol
from attncheck.constructions.verdict import BadInput

WEIGHT_BITS = 8
TAG_BITS = 3
PAR, CH, EDGE, MASK, VAL, REQ, TOK, MARK = range(8)


def _log2_ceil(n: int) -> int:
    return max(1, (max(n, 2) - 1).bit_length())


def boruvka(N: int, s: int, weighted: bool) -> Protocol:
    """The phase protocol of the module docstring: ``weighted`` = MSF (output: one 0/1 word per
    edge slot), else components (output: the least vertex of each vertex's component)."""
    if isinstance(N, bool) or not isinstance(N, int) or N < 2:
        raise BadInput(f"graph protocols need an integer N >= 2, got {N!r}")
    if s < 3:
        raise BadInput(f"graph protocols need s >= 3 words (an edge slot holds 3 words), got {s}")
    k_tok = 3 if weighted else 2
    c = min(s - 1, 56)
    hb = N.bit_length()
    wb = WEIGHT_BITS if weighted else hb
    X = tree_levels(-(-N // c), s)                 # incidence tree levels (leaves = edge groups)
    Y = tree_levels(-(-N // c), s)                 # request tree levels (leaves = vertex groups)
    LX, LY = len(X), len(Y)
    if LY == 1 and s < 4:
        raise BadInput(f"N = {N} with s = {s}: one request leaf makes a vertex send 4 words in a round")
    K = J = _log2_ceil(N)
    xoff, yoff, xt, yt = _offsets(X), _offsets(Y), sum(X), sum(Y)
    n_in = k_tok * N
    m0 = -(-n_in // s)
    V0 = m0
    E0 = V0 + N
    F0 = E0 + N
    Q0 = F0 + N * xt
    q = Q0 + N * yt
    payload = max(c, 1 + wb + 2 * hb, 2 + max(hb, wb))
    pb = TAG_BITS + payload
    if pb > 62:
        raise BadInput(f"graph protocol words need {pb} bits at N = {N}; at most 62")
    lim = Limits(q, s, pb)
    sh = payload
    pmask = (1 << sh) - 1
    hmask = (1 << hb) - 1
    NONE = (1 << (wb + hb)) - 1                   # no chosen key

    # --- the schedule: plan[r] = (op, j) --------------------------------------------------
    plan: list[tuple[str, int]] = [("setup", 0), ("setup", 1)]
    for _ in range(K):
        plan += [("fetch", j) for j in range(LX + 1)] + [("gather", j) for j in range(LX + 1)]
        plan += [("readCH", j) for j in range(LY + 1)]
        for _ in range(J):
            plan += [("readP", j) for j in range(LY + 1)]
    if not weighted:
        plan += [("minv", j) for j in range(LY + 1)] + [("readL", j) for j in range(LY + 1)]
    R = len(plan)
    last = {"fetch": LX, "gather": LX, "readCH": LY, "readP": LY, "minv": LY, "readL": LY}

    def w(tag: int, val: int) -> int:
        return (tag << sh) | val

    def fnode(x: int, k: int, t: int) -> int:
        return F0 + x * xt + xoff[k] + t

    def qnode(x: int, k: int, t: int) -> int:
        return Q0 + x * yt + yoff[k] + t

    def role(i: int):
        if i < V0:
            return ("in", i, 0, 0)
        if i < E0:
            return ("v", i - V0, 0, 0)
        if i < F0:
            return ("e", i - E0, 0, 0)
        base, tree, off, tot = (F0, "f", xoff, xt) if i < Q0 else (Q0, "q", yoff, yt)
        x, rest = divmod(i - base, tot)
        k = max(kk for kk in range(len(off)) if off[kk] <= rest)
        return (tree, x, k, rest - off[k])

    def arrived(r: int) -> str | None:
        """The op whose messages arrive at the start of round r (None: state only)."""
        if r == 0:
            return None
        op, j = plan[r - 1]
        return op if op != "setup" and j == last[op] else ("setup" if op == "setup" and j == 1 else None)

    def split(inbox: Inbox):
        out: dict[int, list[tuple[int, int]]] = {}
        for src, word in inbox:
            out.setdefault(word >> sh, []).append((src, word & pmask))
        return out

    # --- vertices ---------------------------------------------------------------------------
    def vstate(r: int, v: int, inbox: Inbox):
        """(P, CH, marks to send, least label) of V_v at the start of round r."""
        m = split(inbox)
        P = m[PAR][0][1] if PAR in m else v
        chosen = m[CH][0][1] if CH in m else NONE
        vals = [x for _, x in m.get(VAL, ())]
        marks, label = (), None
        got = arrived(r)
        if got == "gather" and vals:                        # a root: hook along the least key
            key = min(vals)
            P, chosen = key & hmask, key >> hb
        elif got == "readCH":
            if chosen != NONE:
                if vals and vals[0] == chosen and v < P:    # mutual choice: the smaller stays root
                    P = v
                if weighted:
                    marks = (E0 + (chosen & hmask),)        # MSF key (w, e): e in the low bits
            chosen = NONE
        elif got == "readP" and vals:
            P = vals[0]
        elif got == "minv" and vals:
            label = min(vals)
        elif got == "readL" and vals:
            label = vals[0]
        return P, chosen, marks, label

    def vstep(r: int, v: int, inbox: Inbox):
        P, chosen, marks, label = vstate(r, v, inbox)
        out = [(V0 + v, w(PAR, P))]
        if chosen != NONE:
            out.append((V0 + v, w(CH, chosen)))
        out += [(e, w(MARK, 0)) for e in marks]
        op, j = plan[r]
        if op in ("fetch", "readCH", "readP", "readL") and j == 0:
            top = fnode(v, LX - 1, 0) if op == "fetch" else qnode(v, LY - 1, 0)
            value = {"fetch": (v << hb) | P, "readCH": chosen, "readP": P, "readL": label}[op]
            if value is not None:                            # readL: only roots hold a label
                out.append((top, w(VAL, value)))
        if op in ("readCH", "readP", "readL") and j == LY - 1:
            out.append((qnode(P, 0, v // c), w(REQ, 0)))
        if op == "minv" and j == 0:
            out.append((qnode(P, 0, v // c), w(VAL, v)))
        return tuple(out)

    # --- edges ------------------------------------------------------------------------------
    def estate(r: int, e: int, inbox: Inbox):
        """(flag, weight, u, v, active) of E_e."""
        m = split(inbox)
        if EDGE in m:
            word = m[EDGE][0][1]
            flag, wt = word >> (wb + 2 * hb), (word >> (2 * hb)) & ((1 << wb) - 1)
            u, v = (word >> hb) & hmask, word & hmask
        else:
            toks = sorted((x >> (sh - 2), x & ((1 << (sh - 2)) - 1)) for _, x in m.get(TOK, ()))
            vals = [x for _, x in toks] + [N, N, 0]
            u, v, wt, flag = vals[0], vals[1], (vals[2] if weighted else 0), 0
            u, v = min(u, N), min(v, N)
            wt = min(wt, (1 << wb) - 1)
        if MARK in m:
            flag = 1
        return flag, wt, u, v, u < N and v < N and u != v

    def eword(flag, wt, u, v) -> int:
        return w(EDGE, (flag << (wb + 2 * hb)) | (wt << (2 * hb)) | (u << hb) | v)

    def estep(r: int, e: int, inbox: Inbox):
        flag, wt, u, v, active = estate(r, e, inbox)
        out = [(E0 + e, eword(flag, wt, u, v))]
        if not active:
            return tuple(out)
        op, j = plan[r]
        if op == "setup" and j == 1:
            bit = w(VAL, 1 << (e % c))
            out += [(fnode(u, 0, e // c), bit), (fnode(v, 0, e // c), bit)]
        if op == "gather" and j == 0:
            lab = {x >> hb: x & hmask for _, x in split(inbox).get(VAL, ())}
            pu, pv = lab[u], lab[v]
            if pu != pv:
                if weighted:
                    key = (wt << hb) | e
                    out += [(fnode(pu, 0, e // c), w(VAL, (key << hb) | pv)),
                            (fnode(pv, 0, e // c), w(VAL, (key << hb) | pu))]
                else:
                    key = (min(pu, pv) << hb) | max(pu, pv)
                    out += [(fnode(pu, 0, e // c), w(VAL, (key << hb) | pv)),
                            (fnode(pv, 0, e // c), w(VAL, (key << hb) | pu))]
        return tuple(out)

    # --- tree nodes -------------------------------------------------------------------------
    def fstep(r: int, x: int, k: int, t: int, inbox: Inbox):
        m = split(inbox)
        vals = [val for _, val in m.get(VAL, ())]
        out = []
        if k == 0:
            mask = m[MASK][0][1] if MASK in m else 0
            if arrived(r) == "setup":
                for val in vals:
                    mask |= val
                vals = []
            out.append((fnode(x, 0, t), w(MASK, mask)))
        op, j = plan[r]
        if op == "fetch" and j == LX - k and vals:
            if k > 0:
                out += [(fnode(x, k - 1, t * s + u), w(VAL, vals[0])) for u in range(s) if t * s + u < X[k - 1]]
            else:
                out += [(E0 + t * c + b, w(VAL, vals[0])) for b in range(c) if mask >> b & 1]
        if op == "gather" and j == k + 1 and vals:
            up = V0 + x if k == LX - 1 else fnode(x, k + 1, t // s)
            out.append((up, w(VAL, min(vals))))
        return tuple(out)

    def qstep(r: int, x: int, k: int, t: int, inbox: Inbox):
        m = split(inbox)
        vals = [val for _, val in m.get(VAL, ())]
        op, j = plan[r]
        if op in ("readCH", "readP", "readL") and j == LY - k and vals:
            if k > 0:
                return tuple((qnode(x, k - 1, t * s + u), w(VAL, vals[0])) for u in range(s) if t * s + u < Y[k - 1])
            return tuple((src, w(VAL, vals[0])) for src, _ in m.get(REQ, ()))
        if op == "minv" and j == k + 1 and vals:
            up = V0 + x if k == LY - 1 else qnode(x, k + 1, t // s)
            return ((up, w(VAL, min(vals))),)
        return ()

    def step(r: int, i: int, inbox: Inbox):
        kind, x, k, t = role(i)
        if r == 0:
            if kind != "in":
                return ()
            out = []
            for u, (_, word) in enumerate(inbox):
                pos = i * s + u
                out.append((E0 + pos // k_tok, w(TOK, ((pos % k_tok) << (sh - 2)) | min(word, (1 << (sh - 2)) - 1))))
            return tuple(out)
        if kind == "v":
            return vstep(r, x, inbox)
        if kind == "e":
            return estep(r, x, inbox)
        if kind == "f":
            return fstep(r, x, k, t, inbox)
        if kind == "q":
            return qstep(r, x, k, t, inbox)
        return ()

    def output(i: int, inbox: Inbox):
        kind, x, _, _ = role(i)
        if weighted and kind == "e":
            return (estate(R, x, inbox)[0],)
        if not weighted and kind == "v":
            return (vstate(R, x, inbox)[3],)
        return ()

    name = "msf" if weighted else "components"
    return Protocol(name, "sht24a.cor3_3", "R", lim, n_in, R, step, output,
                    params={"N": N, "s": s, "p": pb, "phases": K, "jumps": J, "incidence_height": LX,
                            "request_height": LY, "group": c},
                    notes=("deterministic Borůvka with static fan-in/fan-out trees:"
                           " O(log^2 N / delta) rounds, not the O(log D) of Coy-Czumaj",))


def components_any(N: int, s: int) -> Protocol:
    """Component labels (least vertex) of any graph with at most N edges on [N] (2N tokens)."""
    return boruvka(N, s, weighted=False)


def msf(N: int, s: int) -> Protocol:
    """Minimum spanning forest indicators of a weighted graph with at most N edges (3N tokens),
    weights below 2^8, ties broken by edge index."""
    return boruvka(N, s, weighted=True)


# --- plain ground truth ------------------------------------------------------------------------
def weighted_edges(N: int, tokens: Sequence[int]) -> list[tuple[int, int, int]]:
    if len(tokens) != 3 * N:
        raise BadInput(f"a weighted edge list on N = {N} has 3N = {3 * N} tokens, got {len(tokens)}")
    return [(tokens[3 * e], tokens[3 * e + 1], tokens[3 * e + 2]) for e in range(N)]


def _finder(parent: list[int]):
    """Union-find's ``find`` over ``parent`` (path halving: each step links x to its grandparent)."""
    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    return find


def kruskal(N: int, edges: Sequence[tuple[int, int, int]]) -> tuple[int, ...]:
    """0/1 per edge slot: in the minimum spanning forest under the order (weight, slot); loops,
    padding and endpoints >= N are never in it (union-find, path halving)."""
    parent = list(range(N))

    find = _finder(parent)

    chosen = [0] * len(edges)
    for e in sorted(range(len(edges)), key=lambda e: (edges[e][2], e)):
        u, v, _ = edges[e]
        if u >= N or v >= N or u == v:
            continue
        a, b = find(u), find(v)
        if a != b:
            parent[a] = b
            chosen[e] = 1
    return tuple(chosen)


def union_find_labels(N: int, edges: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    """Least vertex of each vertex's component by union-find (independent of the DFS truth)."""
    parent = list(range(N))

    find = _finder(parent)

    for u, v in edges:
        if u < N and v < N and u != v:
            a, b = find(u), find(v)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return tuple(find(v) for v in range(N))
