"""Pointer programs: the accumulator schedules of the k-hop head and the depth reach analysis.

Plain Python (no numpy): this module is the symbolic side of ``sht24a.thm4_2`` (docs/theorems.md
section 4.2 and the errata of section 11 item 1).

A *pointer* at position i is ``find^t(i)`` for an offset t >= 0 (``find^0`` = identity, the
position's own code).  The one-head-per-layer doubling transformer works on pointers only:

* layers 1-2 (previous-token lookUp, then lastOccurrence) give ``find^1``, so after layer 2 a
  position holds the offsets ``O_2 = {0, 1}``;
* every layer l >= 3 is ONE lookUp at a stored pointer ``find^t(i)`` and may copy what the
  target stores: a pointer ``find^o`` read at ``find^t(i)`` is ``find^(o + t)(i)``
  (``find^a o find^b = find^(a+b)``).  Hence ``O_(l+1) <= O_l u (t + O_l)``.

:class:`Schedule` is the doubling scheme with one jump register J and one accumulator A:
layer l >= 3 looks up at ``J_(l-1) = find^(2^(l-3))``, doubles J, and extends A by the jump when
its bit is set.  The output is ``X[A_L(i)]`` with ``A_L = find^(offset)``.

* :func:`corrected_schedule` [R]: ``A_2 = find^1`` and the bits of k - 1 (bit of weight 2^(l-3)
  at layer l), so ``offset = 1 + (k - 1) = k`` with ``L = 2 + ceil(log2 k)`` layers.
* :func:`printed_schedule` [P as printed, refuted]: ``L = floor(log2 k) + 2``; the update
  ``find^(k:l-1) = find^(k:l-2) o find^(2^(l-2))`` when ``k_(l-1) = 1`` adds 2^(l-2) hops for a bit
  of weight 2^(l-1), and ``A_2 = find^(k:0) = find^(k_0)``: offset ``(k mod 2) + floor(k / 2)``,
  which equals k only for k = 1 (also wrong at powers of two: k = 2 gives find^1).
* :func:`truncated_schedule` and :func:`flip_bit` are the broken mutants the tests feed to
  every verifier (one layer too few; a wrong bit of k).

:func:`reach` is the exhaustive reach analysis: breadth-first over *all* programs of the form
above (any register looked up, any register overwritten), with at most ``width`` pointer
registers besides the identity, it returns the offsets some program can output at depth L.
Claim (docs/theorems.md section 4.2, [R]): with unbounded width the reachable set is exactly
``{0, ..., 2^(L-2)}`` (so hop_k needs ``L >= 2 + ceil(log2 k)`` in this scheme: k = 3 needs 4
layers).  The claim is *shown* by the search, not assumed: :func:`reach_closed_form` is only
what the search is compared with.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product

from attncheck.constructions.intlog import ceil_log2, floor_log2

#: Largest depth the k-hop builder and the reach analysis accept (k <= 2^(MAX_LAYERS - 2)).
MAX_LAYERS = 12


def corrected_depth(k: int) -> int:
    """Depth of the corrected construction: ``2 + ceil(log2 k)`` [R]."""
    return 2 + ceil_log2(k)


def paper_depth(k: int) -> int:
    """Depth stated by SHT24a Thm 4.2: ``floor(log2 k) + 2`` [P]."""
    return floor_log2(k) + 2


@dataclass(frozen=True)
class Schedule:
    """One jump register and one accumulator.

    ``a2``: the accumulator after layer 2 is ``find^a2`` (0: the identity, i.e. the position's
    own code and token; 1: ``find^1``).  ``extend[l - 3]`` for layers l = 3..L: extend the
    accumulator by the jump ``find^(2^(l-3))`` read at layer l.  ``name`` says where it comes from.
    """

    a2: int
    extend: tuple[bool, ...]
    name: str

    def __post_init__(self):
        if self.a2 not in (0, 1):
            raise ValueError(f"a2 must be 0 or 1, got {self.a2}")
        object.__setattr__(self, "extend", tuple(bool(b) for b in self.extend))

    @property
    def layers(self) -> int:
        return 2 + len(self.extend)

    def jump(self, layer: int) -> int:
        """Offset of the pointer layer ``layer >= 3`` looks up at: ``2^(layer-3)``."""
        if layer < 3 or layer > self.layers:
            raise ValueError(f"layer {layer} is not a lookup layer of a {self.layers}-layer schedule")
        return 1 << (layer - 3)

    @property
    def offset(self) -> int:
        """t such that the accumulator after the last layer is ``find^t``."""
        return self.a2 + sum(1 << i for i, e in enumerate(self.extend) if e)

    def accumulator(self, layer: int) -> int:
        """Offset held by the accumulator after ``layer`` (2 <= layer <= L)."""
        return self.a2 + sum(1 << i for i, e in enumerate(self.extend[:max(0, layer - 2)]) if e)

    def needs_jump_after(self, layer: int) -> bool:
        """The jump register is read by a later layer."""
        return layer < self.layers

    def needs_acc_after(self, layer: int) -> bool:
        """The accumulator pointer is read by a later layer (some later layer extends)."""
        return any(self.extend[max(0, layer - 2):])

    def to_json(self) -> dict:
        return {"name": self.name, "layers": self.layers, "a2": self.a2,
                "extend": [int(e) for e in self.extend], "offset": self.offset,
                "jumps": [self.jump(l) for l in range(3, self.layers + 1)]}

    def describe(self) -> str:
        steps = [f"A2=find^{self.a2}"] + [
            f"L{l}: jump find^{self.jump(l)}" + (" +acc" if e else "")
            for l, e in zip(range(3, self.layers + 1), self.extend)]
        return f"{self.name}: " + ", ".join(steps) + f" => find^{self.offset}"


def _check_k(k: int) -> None:
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")


def corrected_schedule(k: int) -> Schedule:
    """[R] ``A_2 = find^1``; layer l >= 3 extends iff bit (l - 3) of k - 1 is set."""
    _check_k(k)
    L = corrected_depth(k)
    return Schedule(1, tuple(bool((k - 1) >> (l - 3) & 1) for l in range(3, L + 1)), "corrected")


def printed_schedule(k: int) -> Schedule:
    """The recursion as printed in SHT24a App. D / Thm 4.2 (docs/theorems.md 4.2 flag), literally:
    ``L = floor(log2 k) + 2``, ``A_2 = find^(k_0)``, and layer l = ell + 1 >= 3 (input jump
    ``find^(2^(ell-2))``) extends iff bit ``k_(ell-1)`` (weight ``2^(ell-1)``) of k is set."""
    _check_k(k)
    L = paper_depth(k)
    return Schedule(k & 1, tuple(bool(k >> (l - 2) & 1) for l in range(3, L + 1)), "printed")


def truncated_schedule(s: Schedule) -> Schedule:
    """The same schedule with its last layer removed (one layer too few)."""
    if not s.extend:
        raise ValueError("a 2-layer schedule has no layer to drop")
    return Schedule(s.a2, s.extend[:-1], f"{s.name}-minus-one-layer")


def flip_bit(s: Schedule, layer: int) -> Schedule:
    """The same schedule with the extend bit of ``layer`` (>= 3) flipped (a wrong bit of k);
    ``layer = 2`` flips ``a2``."""
    if layer == 2:
        return Schedule(1 - s.a2, s.extend, f"{s.name}-a2-flipped")
    ext = list(s.extend)
    ext[layer - 3] = not ext[layer - 3]
    return Schedule(s.a2, tuple(ext), f"{s.name}-bit{layer}-flipped")


# --- reach analysis --------------------------------------------------------------------------
@dataclass(frozen=True)
class ReachRow:
    """Offsets reachable at depth ``layers`` by programs with at most ``width`` registers
    (None = unbounded).  ``states``: distinct register states the search visited at that depth;
    ``witness[t]``: one program reaching offset t (list of (register looked up, new registers))."""

    layers: int
    width: int | None
    offsets: frozenset
    states: int
    witness: dict

    @property
    def max_offset(self) -> int:
        return max(self.offsets)

    @property
    def reaches_all_up_to_max(self) -> bool:
        return self.offsets == frozenset(range(self.max_offset + 1))

    def to_json(self) -> dict:
        return {"layers": self.layers, "width": self.width, "offsets": sorted(self.offsets),
                "max_offset": self.max_offset, "closed_form_max": 2 ** (self.layers - 2),
                "states": self.states, "contiguous": self.reaches_all_up_to_max}


def _successors_bounded(state: tuple[int, ...]):
    """All register states after one lookup layer: look up at any register r (offset t), then
    each register keeps its value or becomes ``t + (target's register or identity)``."""
    for r in range(len(state)):
        t = state[r]
        options = sorted({t + o for o in (0,) + state})
        for new in product(*[sorted({old, *options}) for old in state]):
            yield r, tuple(sorted(new))


def reach(layers: int, width: int | None = None) -> ReachRow:
    """Exhaustive breadth-first search over pointer programs of depth ``layers`` (>= 2).

    The state of a position is the set of offsets its registers hold (the identity, offset 0,
    is always available as the position's own code).  After layer 2 the registers hold
    ``find^1`` (a lastOccurrence head yields nothing else).  ``width``: number of pointer
    registers (None: unbounded -- the state is then the full set ``O_l u (t + O_l)``,
    which dominates every subset)."""
    if layers < 2 or layers > MAX_LAYERS:
        raise ValueError(f"layers must be in 2..{MAX_LAYERS}, got {layers}")
    if width is not None and width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    if width is None:
        frontier: dict = {frozenset({0, 1}): []}
    else:       # every register starts as the identity or find^1: all 2^width starts
        frontier = {tuple(sorted(s)): [] for s in product((0, 1), repeat=width)}
    for _ in range(3, layers + 1):
        nxt: dict = {}
        for st, prog in frontier.items():
            if width is None:
                for t in sorted(st):
                    new = frozenset(st | {t + o for o in st})
                    nxt.setdefault(new, prog + [(t, tuple(sorted(new)))])
            else:
                for r, new in _successors_bounded(st):
                    nxt.setdefault(new, prog + [(st[r], new)])
        frontier = nxt
    offsets: set[int] = set()
    witness: dict = {}
    for st, prog in frontier.items():
        for o in (set(st) | {0}):
            if o not in offsets:
                offsets.add(o)
                witness[o] = prog
    return ReachRow(layers, width, frozenset(offsets), len(frontier), witness)


def reach_closed_form(layers: int) -> frozenset:
    """The recurrence of docs/theorems.md 4.2: ``S_2 = {0, 1}``,
    ``S_(l+1) = S_l u (S_l + 2^(l-2)) u {2^(l-1)}``; equals ``{0, ..., 2^(L-2)}``."""
    S = {0, 1}
    for l in range(2, layers):
        S = S | {s + (1 << (l - 2)) for s in S} | {1 << (l - 1)}
    return frozenset(S)


def min_depth(k: int, width: int | None = None, max_layers: int = MAX_LAYERS) -> int | None:
    """Smallest depth at which some program reaches offset k (None if none up to max_layers)."""
    _check_k(k)
    for L in range(2, max_layers + 1):
        if k in reach(L, width).offsets:
            return L
    return None
