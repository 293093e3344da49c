"""The two-layer induction head (``sht24b.two-layer-ub``; layers 1-2 of ``sht24a.thm4_2``).

Why it works (SHT24a section 4.2 and App. D; Bietti et al. 2023; Elhage/Olsson):

* layer 1, lookUp with pointer i-1 (``lemma.sht24a.D1``): position i copies the token code of
  position i-1 into slot ``prev`` (position 1 copies the start token's *none* code);
* layer 2, lastOccurrence (``lemma.sht24a.D2``): position i attends to the largest j <= i whose
  ``prev`` equals its own token, i.e. to ``find^1(i) = max{j <= i : X_{j-1} = X_i}``, or to the
  start token when there is none, and copies the token code found there into ``out``;
* the decoder returns the nearest token code; the none code means bottom.

Composition: ``out`` holds ``X[find^1(i)]`` and ``task.ih`` is ``tau_i = X_{j*+1}`` with
``j* = max{j < i : X_j = X_i}``, i.e. ``j*+1 = find^1(i)`` (with bottom iff find^1(i) = 0); the
certificate checks this identity on the labels (:mod:`attncheck.verifiers.semantics`).

Encodings (``--encoding``), each honest about its cost:

* ``sinusoidal`` -- angle codes, width O(1) (13), precision growing like log N;
* ``random``     -- seeded random sign codes of width D = O(log N) for positions and tokens;
* ``onehot``     -- one-hot positions and tokens, width about 2N + 2|Sigma|.

Variants (``--variant``): ``corrected`` uses the recency-channel lastOccurrence (docs/theorems.md
section 4.2 variant (b), positions modulo N+1); ``paper`` uses Lemma D.2 as printed (one angle
channel modulo N|Sigma|, start score ``cos(2 pi (N - 1/2)/(N|Sigma|))``, positions modulo N),
which attncheck refutes (section 11 item 2).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from attncheck.constructions import encodings as enc
from attncheck.constructions.primitives import (last_occurrence_head, last_occurrence_paper,
                                                lookup_head, recency_constants, temperature)
from attncheck.constructions.spec import (Construction, Decoder, Label, Layer, Layout,
                                          LayoutBuilder)
from attncheck.constructions.precision import fixed, int_bits_for
from attncheck.constructions.verdict import BadInput

THEOREM = "sht24b.two-layer-ub"
#: Largest N per encoding: sinusoidal codes are built and certified in O(N) (about 90 bits at
#: 2^20); random codes check their gap over N^2 pairs; one-hot codes have width 2N.
MAX_N = {"sinusoidal": 1 << 20, "random": 1 << 16, "onehot": 4096}

X_I = Label("X")
X_PREV = Label("X", (("shift", -1),))
X_FIND1 = Label("X", (("find", 1),))
POS_I = Label("pos")
POS_PREV = Label("pos", (("shift", -1),))


def validate(N: int, alphabet: int, encoding: str, variant: str, D: int | None) -> None:
    """Raise BadInput (one line, the bad value named) for parameters no construction exists for."""
    if not isinstance(N, int) or N < 2:
        raise BadInput(f"--N must be an integer >= 2, got {N}")
    if encoding in MAX_N and N > MAX_N[encoding]:
        raise BadInput(f"--N {N} exceeds the supported maximum {MAX_N[encoding]:,} for --encoding {encoding}")
    if alphabet < 2:
        raise BadInput(f"--alphabet must be >= 2, got {alphabet}")
    if alphabet > N:
        raise BadInput(f"--alphabet {alphabet} > N = {N}: the construction assumes |Σ| <= N")
    if encoding not in ("sinusoidal", "random", "onehot"):
        raise BadInput(f"unknown encoding {encoding!r} (sinusoidal, random, onehot)")
    if variant not in ("corrected", "paper"):
        raise BadInput(f"unknown variant {variant!r} (corrected, paper)")
    if variant == "paper" and encoding != "sinusoidal":
        raise BadInput("--variant paper is the printed Lemma D.2 embedding, which is sinusoidal;"
                       " use --encoding sinusoidal")
    if D is not None and encoding != "random":
        raise BadInput(f"--D sets the width of random codes; it does not apply to --encoding {encoding}")
    if D is not None and D < 2:
        raise BadInput(f"--D must be >= 2, got {D}")


def common_layout(pos_w: int, tok_w: int, extra_written: list[tuple[str, int, str, Label]]) -> Layout:
    """Slots shared by the induction head and the k-hop head."""
    b = LayoutBuilder()
    b.add("one", 1, "const")
    b.add("start", 1, "const")
    b.add("pos", pos_w, "const", "pos", POS_I)
    b.add("pos_prev", pos_w, "const", "pos", POS_PREV)
    b.add("pos_scalar", 1, "const")
    b.add("tok", tok_w, "token", "tok", X_I)
    b.add("prev", tok_w, "written", "tok", X_PREV)
    for name, width, book, label in extra_written:
        b.add(name, width, "written", book, label)
    return b.build()


def embeddings(layout: Layout, pos_codes: np.ndarray, tok_codes: np.ndarray, start_tok: np.ndarray):
    """(tok_embed (V, D), pos_embed (T, D), start_row (D,)) for the common slots."""
    T, V, D = len(pos_codes), len(tok_codes) - 1, layout.width
    tok_embed = np.zeros((V, D))
    tok_embed[:, layout["tok"].sl] = tok_codes[1:]
    pos_embed = np.zeros((T, D))
    pos_embed[:, layout["one"].sl] = 1.0
    pos_embed[:, layout["pos"].sl] = pos_codes
    pos_embed[1:, layout["pos_prev"].sl] = pos_codes[:-1]
    pos_embed[:, layout["pos_scalar"].start] = np.arange(T)
    pos_embed[0] = 0.0
    start = np.zeros(D)
    start[layout["start"].start] = 1.0
    start[layout["pos"].sl] = pos_codes[0]
    start[layout["pos_prev"].sl] = pos_codes[0]
    start[layout["tok"].sl] = start_tok
    return tok_embed, pos_embed, start


def codebooks(N: int, alphabet: int, encoding: str, variant: str, D: int | None, seed: int):
    """(pos codes, tok codes with row 0 = none, start token's tok slot)."""
    if variant == "paper":
        pos = enc.angles(N + 1, N)                               # Lemma D.1 as printed: mod N
        sym = enc.angles(alphabet, alphabet)                     # mu = 0..|Sigma|-1
        tok = np.vstack([np.zeros((1, 2)), sym])                 # V_0 = 0 is the bottom code
        return pos, tok, np.zeros(2)
    pos = enc.position_codes(encoding, N, D=D, seed=seed)
    tok = enc.token_codes(encoding, alphabet, D=D, seed=seed)
    return pos, tok, tok[0]


def declared_format(max_magnitude: float, margins: list[float], code_l1: float, accuracy: float):
    """Fixed-point format from the margins [R]: integer bits for the largest stored value,
    fraction bits so that rounding q and k moves a score by < xi/8 and outputs stay within
    ``accuracy``/4.  The certificate checks it; ``attncheck precision`` finds the minimum."""
    I = int_bits_for(max_magnitude)
    xi = min(margins)
    F = max(math.ceil(math.log2(8.0 * code_l1 / xi)), math.ceil(math.log2(4.0 / accuracy))) + 1
    return fixed(I, F)


@dataclass(frozen=True)
class Margins:
    """Score margins of the two induction layers, before the temperature.

    ``pos``: lookUp gap of the position codes (``lemma.sht24a.D1``); ``tok``: gap of the token
    codes; ``d_min``: smallest distance between token codes (decoding); ``last``: the
    lastOccurrence margin xi_2 (``lemma.sht24a.D2``); ``s_max``: the largest lastOccurrence score."""

    pos: float
    tok: float
    d_min: float
    last: float
    s_max: float


def margins(N: int, alphabet: int, variant: str, pos_codes: np.ndarray, tok_codes: np.ndarray) -> Margins:
    """The margins of :func:`codebooks`' codes (the paper variant's row 0 codes alias, so they
    are left out of its gaps)."""
    pos_gap = enc.gap(pos_codes[1:]) if variant == "paper" else enc.gap(pos_codes)
    tok_gap = enc.gap(tok_codes[1:]) if variant == "paper" else enc.gap(tok_codes)
    if variant == "paper":
        xi2 = 1.0 - math.cos(2 * math.pi / (N * alphabet))
        s_max = 1.0
    else:
        lam, s0, xi2 = recency_constants(tok_gap, N)
        s_max = 1.0 + lam * N + abs(s0)
    return Margins(pos_gap, tok_gap, enc.min_distance(tok_codes), xi2, s_max)


def first_two_layers(layout: Layout, N: int, alphabet: int, variant: str, g: Margins, *,
                     values: list[str], writes: list[str], acc2: float):
    """Layer 1 (lookUp of the previous token into ``prev``) and layer 2 (lastOccurrence of the
    own token among ``prev``, copying slots ``values`` at find^1(i) into ``writes``), with
    temperatures from the Lemma A.2 rule: layer 2 to output accuracy ``acc2``, layer 1 accurate
    enough for layer 2's keys.  Returns (head 1, head 2, the smallest accuracy used)."""
    acc1 = min(g.last / 8.0, acc2)
    c1 = temperature(g.pos, N, 1.0, acc1)
    c2 = temperature(g.last, N, 1.0, acc2)
    h1 = lookup_head(layout, query="pos_prev", key="pos", values=["tok"], writes=["prev"],
                     margin=g.pos, temp=c1)
    if variant == "paper":
        h2 = last_occurrence_paper(layout, query="tok", key="prev", one="one", start_flag="start",
                                   values=values, writes=writes, N=N, V=alphabet, temp=c2)
    else:
        h2 = last_occurrence_head(layout, query="tok", key="prev", recency="pos_scalar", one="one",
                                  start_flag="start", values=values, writes=writes, gap=g.tok,
                                  N=N, temp=c2)
    return h1, h2, min(acc1, acc2)


def build_induction(N: int, alphabet: int = 3, encoding: str = "sinusoidal",
                    variant: str = "corrected", D: int | None = None, seed: int = 0) -> Construction:
    """The two-layer, one-head-per-layer induction head at length N over |Sigma| = alphabet."""
    validate(N, alphabet, encoding, variant, D)
    pos_codes, tok_codes, start_tok = codebooks(N, alphabet, encoding, variant, D, seed)
    pos_w, tok_w = pos_codes.shape[1], tok_codes.shape[1]
    layout = common_layout(pos_w, tok_w, [("out", tok_w, "tok", X_FIND1)])
    tok_embed, pos_embed, start = embeddings(layout, pos_codes, tok_codes, start_tok)

    g = margins(N, alphabet, variant, pos_codes, tok_codes)
    h1, h2, acc = first_two_layers(layout, N, alphabet, variant, g, values=["tok"], writes=["out"],
                                   acc2=g.d_min / 8.0)
    code_l1 = 2.0 * float(np.abs(tok_codes).sum(axis=1).max()) + 2.0
    fmt = declared_format(max(h1.temperature, h2.temperature * g.s_max, N + 1.0), [g.pos, g.last],
                          code_l1, acc)
    notes = []
    if variant == "paper":
        notes.append("paper-literal Lemma D.2 embedding (docs/theorems.md section 11 item 2): expected to be refuted")
    return Construction(
        name="induction", task="induction", theorem=THEOREM,
        status="[P-abs] statement; [P] Lemmas D.1/D.2; [R] recency-channel embedding" if variant != "paper"
        else "[P] Lemma D.2 as printed (refuted by attncheck, [R])",
        params={"N": N, "alphabet": alphabet, "encoding": encoding, "variant": variant,
                "D": D if encoding == "random" else None, "seed": seed},
        layout=layout, codebooks={"pos": pos_codes, "tok": tok_codes},
        tok_embed=tok_embed, pos_embed=pos_embed, start_row=start,
        layers=(Layer((h1,)), Layer((h2,))),
        decoder=Decoder("out", "tok", (None,) + tuple(range(alphabet))),
        fmt=fmt, target=X_FIND1, notes=tuple(notes))
