"""Bounds of SHT24b (one- vs two-layer induction heads) and SHT24a sections 3-4.

docs/theorems.md sections 3, 4.1, 4.2 and the formula table of section 10.  Status tags follow the
catalogue: [P] paper text, [P-abs] abstract only, [S] third-party, [R] derived here.
"""
from __future__ import annotations

from fractions import Fraction

from attncheck.bounds import catalog_common as cc
from attncheck.bounds.catalog_common import qty
from attncheck.bounds.intmath import (at_least_pow, ceil_log2, ceil_log2_log2, ceil_log_base,
                                      ceil_mul_ln, ceil_pow, floor_log2, log2_real)
from attncheck.bounds.records import Bound, Param, Source

CONJ = "conj.sht24a.2_4 (1-vs-2 cycle conjecture)"
MPC_CHECK = "attncheck mpc (protocol simulation) and attncheck reduction (cycle gluing)"


def _ih_lb_notes(p) -> tuple[str, ...]:
    need, have = (p["N"] - 1) // 2, p["H"] * (p["m"] + 1) * p["p"]
    if have < need:
        return (f"a 1-layer model with H={p['H']}, m={p['m']}, p={p['p']} has h(m+1)p = {have}"
                f" < {need}: it cannot solve induction heads at n = {p['N']} [R]",)
    return (f"a 1-layer model with H={p['H']}, m={p['m']}, p={p['p']} has h(m+1)p = {have}"
            f" >= {need}: not excluded by the explicit [R] form",)


SHT24B_LB = Bound(
    id="sht24b.one-layer-ih-lb", title="one-layer transformers fail induction heads",
    statement="If a one-layer transformer with h heads, embedding dimension m and p bits of precision"
              " computes induction heads on all inputs of length n, then h·m·p = Ω(n) (already for"
              " |Σ| = 3). [R] explicit: h(m+1)p ≥ ⌊(n−1)/2⌋ with p-bit partial sums.",
    source=Source("SHT24b", "Theorem (single)", "[P-abs]"), direction="lower",
    params=(cc.N, cc.HEADS, cc.M_WIDTH, cc.PREC),
    quantities=(
        qty("hm1p", "h(m+1)p of a 1-layer model", "h·(m+1)·p ≥ ⌊(n−1)/2⌋", "floor((N - 1)/2)", "int",
            lambda p: (p["N"] - 1) // 2, "[R]", "explicit", "h(m+1)p"),
        qty("hmp", "h·m·p of a 1-layer model", "h·m·p ≥ c·n", "N", "int", lambda p: p["N"], "[P-abs]",
            resource="hmp"),
        qty("model", "h(m+1)p of the model under test", "H·(m+1)·p", "H*(m + 1)*p", "int",
            lambda p: p["H"] * (p["m"] + 1) * p["p"], "[R]", "exact"),
    ),
    constant="paper: none confirmed; [R] explicit h(m+1)p ≥ ⌊(n−1)/2⌋",
    assumptions=("one layer", "softmax attention [S]", "arbitrary token/position embeddings and output MLP",
                 "p-bit partial softmax sums (Alice's message)", "|Σ| = 3 suffices [S]"),
    check="attncheck witness / smt: INDEX embedding identity, #distinct rows = 2^n′,"
          " z3 factorization UNSAT for B < n′",
    construction="induction",
    construction_note="ours has 2 layers, so this 1-layer bound does not apply to it; shown for contrast",
    regime=lambda p: None if p["N"] >= 3 else f"needs n ≥ 3 (n′ = ⌊(n−1)/2⌋ ≥ 1), got n = {p['N']}",
    notes=_ih_lb_notes)

SHT24B_UB = Bound(
    id="sht24b.two-layer-ub", title="two layers solve induction heads",
    statement="A two-layer transformer with h = O(1), m = O(1), p = O(log n) solves induction heads"
              " whenever |Σ| ≤ n (the k = 1 case of sht24a.thm4_2).",
    source=Source("SHT24b", "§1 (with SHT24a Thm 4.2, k = 1)", "[P-abs]"), direction="upper",
    params=(cc.N, cc.ALPHABET),
    quantities=(
        qty("layers", "layers", "L = 2", "2", "int", lambda p: 2, "[P-abs]", "exact", "layers"),
        qty("heads", "heads per layer", "h = O(1)", "1", "int", lambda p: 1, "[P-abs]", resource="heads"),
        qty("width", "width", "m = O(1)", "1", "int", lambda p: 1, "[P-abs]", resource="width"),
        qty("bits", "precision", "p = O(log₂ n)", "log2(N)", "real", lambda p: log2_real(p["N"]),
            "[P-abs]", resource="bits"),
    ),
    constant="none given; ratios below estimate ours",
    assumptions=("|Σ| ≤ n", "hardmax via softmax (lemma.sht24a.A2)", "start token X_0"),
    check="attncheck verify induction (exhaustive |Σ| ≤ 4, n ≤ 10; certificate beyond)",
    construction="induction",
    regime=lambda p: None if p["alphabet"] <= p["N"] else
    f"needs |Σ| ≤ n, got |Σ| = {p['alphabet']} > n = {p['N']}")

DELTA = Param("delta", "δ", "local-memory exponent of the MPC protocol (s = O(N^δ))", kind="frac",
              lo=0, hi=1, lo_open=True, hi_open=True, default=Fraction(1, 8))
ROUNDS = Param("R", "R", "rounds of the MPC protocol", lo=1, default=1)

THM3_1 = Bound(
    id="sht24a.thm3_1", title="transformers simulate MPC",
    statement="Every deterministic R-round (γ,δ)-MPC protocol (0 < γ < δ < 1) on N input words is"
              " computed by a transformer with m = O(N^{4δ} log N), L = R + 1, H = O(log log N).",
    source=Source("SHT24a", "Thm 3.1", "[P]"), direction="upper",
    params=(cc.N, DELTA, ROUNDS),
    quantities=(
        qty("width", "width", "m = O(N^{4δ}·log₂ N)", "N**(4*delta)*log2(N)", "real",
            lambda p: float(p["N"]) ** float(4 * p["delta"]) * log2_real(p["N"]), "[P]", resource="width"),
        qty("layers", "layers", "L = R + 1", "R + 1", "int", lambda p: p["R"] + 1, "[P]", "exact", "layers"),
        qty("heads", "heads per layer", "H = O(⌈log₂ log₂ N⌉)", "ceiling(log2(log2(N)))", "int",
            lambda p: ceil_log2_log2(p["N"]), "[P]", resource="heads"),
    ),
    constant="none explicit (C universal)",
    assumptions=("0 < γ < δ < 1", "deterministic protocol (Thm B.3: randomized, pad tokens)",
                 "word size p = Θ(log N)"),
    check="attncheck mpc: init/round/final lemmas on N ≤ 32; Fact B.2 covering by brute force",
    notes=lambda p: (f"δ = {p['delta']} ≥ 1/4: m ≥ N, the model is trivial (footnote 2)",)
    if p["delta"] >= Fraction(1, 4) else ())

LEMMA3_2 = Bound(
    id="lemma.sht24a.3_2", title="one-layer routing (route_{β,s})",
    statement="For any β, s, N there is route_{β,s} ∈ Transformer^N_{m,1,1} with m = O(s⁴ β log N);"
              " Fact B.2: A ∈ {0,1}^{n×d} covering every |S| ≤ b exists for d ≥ ⌈12 b² ln n⌉,"
              " used with n = N², b = s².",
    source=Source("SHT24a", "Lemma 3.2 + Fact B.2", "[P]"), direction="upper",
    params=(cc.N, Param("s", "s", "local memory (words per machine)", lo=1, default=2),
            Param("beta", "β", "message-size bucket β", lo=1, default=1)),
    quantities=(
        qty("width", "width", "m = O(s⁴·β·log₂ N)", "s**4*beta*log2(N)", "real",
            lambda p: p["s"] ** 4 * p["beta"] * log2_real(p["N"]), "[P]", resource="width"),
        qty("fact_b2", "hashing columns d (Fact B.2)", "d ≥ ⌈12 b² ln n⌉, n = N², b = s²",
            "ceiling(12*s**4*log(N**2))", "int",
            lambda p: ceil_mul_ln(12 * p["s"] ** 4, p["N"] ** 2), "[P]", "explicit (12)"),
    ),
    constant="12 explicit in Fact B.2; O(·) of the width hides C",
    assumptions=("valid (β,s)-routing: |Sent_i|, |Rcvd_i| ≤ s", "b = s² ≤ n = N²"),
    check="attncheck mpc: Fact B.2 covering property by brute force (n ≤ 16, b ≤ 2)",
    aliases=("sht24a.lemma3_2",))


def _thm3_4_regime(p) -> str | None:
    b = p["s"] // (4 * p["m"] * p["H"])
    if b < 2:
        return (f"tree branching b = ⌊s/(4mH)⌋ = ⌊{p['s']}/{4 * p['m'] * p['H']}⌋ = {b} < 2:"
                f" raise s (--set s=...) or lower m·H")
    return None


def _thm3_4_depth(p) -> int:
    return ceil_log_base(p["N"], p["s"] // (4 * p["m"] * p["H"]))


THM3_4 = Bound(
    id="sht24a.thm3_4", title="MPC simulates transformers",
    statement="Any T ∈ Transformer^N_{m,L,H} with mH = O(N^δ) is computed by an O(L/(δ′−δ))-round"
              " (1+δ′, δ′)-MPC protocol with q = O(N²) machines and s = O(N^{δ′}) local memory;"
              " explicitly 2D+3 rounds per layer with trees of branching b = ⌊s/(4mH)⌋, D = ⌈log_b N⌉.",
    source=Source("SHT24a", "Thm 3.4 (proof)", "[P]"), direction="upper",
    params=(cc.N, Param("L", "L", "layers of the simulated transformer", lo=1, default=2),
            cc.M_WIDTH, cc.HEADS,
            Param("s", "s", "local memory per machine (words)", lo=1,
                  derive=lambda p: max(ceil_pow(p["N"], Fraction(3, 4)), 8 * p["m"] * p["H"]),
                  derive_text="max(⌈N^{3/4}⌉, 8mH) (so that b ≥ 2)")),
    quantities=(
        qty("rounds", "MPC rounds", "rounds = L·(2D + 3)",
            "L*(2*ceiling(log(N)/log(floor(s/(4*m*H)))) + 3)", "int",
            lambda p: p["L"] * (2 * _thm3_4_depth(p) + 3), "[P]", "explicit (proof)"),
        qty("branching", "tree branching b", "b = ⌊s/(4mH)⌋", "floor(s/(4*m*H))", "int",
            lambda p: p["s"] // (4 * p["m"] * p["H"]), "[P]", "exact"),
        qty("depth", "tree depth D", "D = ⌈log_b N⌉", "ceiling(log(N)/log(floor(s/(4*m*H))))", "int",
            _thm3_4_depth, "[P]", "exact"),
        qty("machines", "machines", "q = O(N²)", "N**2", "int", lambda p: p["N"] ** 2, "[P]"),
    ),
    constant="rounds explicit in the proof (2D+3 per layer)",
    assumptions=("mH = O(N^δ), δ < δ′ < 1", "no pad tokens (M = N; Thm C.1 for M = N^{1+α})"),
    check="attncheck mpc: one attention layer by the token / inner-product / tree protocol, N ≤ 16,"
          " rounds counted = 2D+3",
    regime=_thm3_4_regime)

COR3_3 = Bound(
    id="sht24a.cor3_3", title="connectivity in logarithmic depth",
    statement="For any constant ε ∈ (0,1) and D ≤ N there is a transformer with m = O(N^ε),"
              " H = O(log log N), L = O(log D) identifying connected components of graphs with"
              " |V|, |E| = O(N) whose components have diameter ≤ D.",
    source=Source("SHT24a", "Cor 3.3", "[P]"), direction="upper",
    params=(cc.N, cc.DIAM, cc.EPS),
    quantities=(
        qty("layers", "layers", "L = O(log₂ D)", "log2(diam)", "real", lambda p: log2_real(p["diam"]),
            "[P]", resource="layers"),
        qty("width", "width", "m = O(N^ε)", "N**eps", "real", lambda p: float(p["N"]) ** float(p["eps"]),
            "[P]", resource="width"),
        qty("heads", "heads per layer", "H = O(⌈log₂ log₂ N⌉)", "ceiling(log2(log2(N)))", "int",
            lambda p: ceil_log2_log2(p["N"]), "[P]", resource="heads"),
    ),
    constant="none",
    assumptions=("Coy–Czumaj 2022 MPC algorithm + Thm 3.1", "diameter D ≤ N"),
    check="attncheck verify mpc components --delta D (any degree) and verify mpc msf: deterministic"
          " Borůvka with s = ⌈N^δ⌉, O(log² N / δ) rounds (not O(log D)); compiled and certified at N ≤ 8",
    construction="mpc-components",
    regime=lambda p: None if p["diam"] <= p["N"] else f"needs D ≤ N, got D = {p['diam']} > N = {p['N']}")


def _conditional_depth(var: str, sym: str):
    """The two quantities of the conditional depth bounds (Cor 3.5, Cor 4.3): the conclusion
    L ≥ c·log2 X and the width hypothesis m·H = O(X^{1−ε})."""
    return (qty("layers", "layers", f"L ≥ c·log₂ {sym}", f"log2({var})", "real",
                lambda p: log2_real(p[var]), "[P]", resource="layers"),
            qty("width_heads", "hypothesis on m·H", f"m·H = O({sym}^{{1−ε}})", f"{var}**(1 - eps)", "real",
                lambda p: float(p[var]) ** float(1 - p["eps"]), "[P]", resource="mH"))


def _cor3_5_regime(p) -> str | None:
    if p["diam"] > p["N"]:
        return f"needs D ≤ N, got D = {p['diam']} > N = {p['N']}"
    if not at_least_pow(p["diam"], p["N"], p["eps"]):
        return (f"needs D ≥ N^ε = {p['N']}^{p['eps']} ≈ {float(p['N']) ** float(p['eps']):.4g},"
                f" got D = {p['diam']}")
    return None


COR3_5 = Bound(
    id="sht24a.cor3_5", title="log depth is necessary for connectivity (conditional)",
    statement="Assume Conj 2.4. Let ε ∈ (0,1), D ≥ N^ε. A transformer with mH = O(D^{1−ε}) deciding"
              " connectivity of every graph with component diameter ≤ D has L = Ω(log D).",
    source=Source("SHT24a", "Cor 3.5", "[P]"), direction="conditional",
    params=(cc.N, cc.DIAM, cc.EPS),
    quantities=_conditional_depth("diam", "D"),
    constant="none", conditional_on=CONJ,
    assumptions=("conditional on the 1-vs-2 cycle conjecture", "D ≥ N^ε", "mH = O(D^{1−ε})"),
    check="attncheck reduction: k-copy cycle gluing (connected iff single cycle, diameter ≤ n+2), N ≤ 12",
    regime=_cor3_5_regime)


def _thm4_2_notes(p) -> tuple[str, ...]:
    k = p["k"]
    paper, needed = floor_log2(k) + 2, ceil_log2(k) + 2
    if paper == needed:
        return ()
    return (f"k = {k} is not a power of two: the paper's ⌊log₂ k⌋+2 = {paper} [P] is an open check;"
            f" the 1-head doubling scheme needs 2+⌈log₂ k⌉ = {needed} [R] (docs/theorems.md §11 item 1)",)


THM4_2 = Bound(
    id="sht24a.thm4_2", title="k-hop induction heads in logarithmic depth",
    statement="For any k and |Σ| ≤ N there is T ∈ MaskTransformer^N_{m,L,H} computing hop_k with"
              " m = O(1), L = ⌊log₂ k⌋ + 2, H = 1 and p = O(log N). [R] the printed recursion reaches"
              " exactly k ≤ 2^{L−2}, i.e. L = 2 + ⌈log₂ k⌉ (equal iff k is a power of two).",
    source=Source("SHT24a", "Thm 4.2", "[P]"), direction="upper",
    params=(cc.N, cc.K),
    quantities=(
        qty("layers_paper", "layers (paper)", "L = ⌊log₂ k⌋ + 2", "floor(log2(k)) + 2", "int",
            lambda p: floor_log2(p["k"]) + 2, "[P]", "exact", "layers"),
        qty("layers_needed", "layers (needed)", "L = 2 + ⌈log₂ k⌉", "2 + ceiling(log2(k))", "int",
            lambda p: ceil_log2(p["k"]) + 2, "[R]", "exact", "layers"),
        qty("heads", "heads per layer", "H = 1", "1", "int", lambda p: 1, "[P]", "exact", "heads"),
        qty("width", "width", "m = O(1)", "1", "int", lambda p: 1, "[P]", resource="width"),
        qty("bits", "precision", "p = O(log₂ N)", "log2(N)", "real", lambda p: log2_real(p["N"]),
            "[P]", resource="bits"),
    ),
    constant="depth and heads exact; width and precision hide constants",
    assumptions=("|Σ| ≤ N", "causal mask, start token", "per-layer element-wise map for m = O(1)"
                 " (docs/theorems.md §11 item 4; additive residual costs m = O(L))"),
    check="attncheck verify hop (exhaustive |Σ| = 3, N ≤ 10); attncheck depth (reach analysis)",
    construction="hop",
    regime=lambda p: None if p["k"] <= p["N"] else f"needs k ≤ N, got k = {p['k']} > N = {p['N']}",
    notes=_thm4_2_notes)


def _cor4_3_regime(p) -> str | None:
    k, n = p["k"], p["N"]
    if k < 2 or k % 2:
        return f"needs an even k ≥ 2 (1-vs-2 cycle gadget), got k = {k}"
    if 2 * n < 9 * k * k + 2:
        return (f"the cycle gadget needs N ≥ 4.5k² + 1 = {(9 * k * k + 2 + 1) // 2}"
                f" (k = {k}), got N = {n}")
    return None


COR4_3 = Bound(
    id="sht24a.cor4_3", title="log depth is necessary for hop_k (conditional)",
    statement="Assume Conj 2.4. For constants ξ ∈ (0,1/2], ε ∈ (0,1) and even k = Θ(N^ξ), every"
              " T ∈ MaskTransformer^N_{m,L,H} with mH = O(k^{1−ε}) computing hop_k has L = Ω(log k).",
    source=Source("SHT24a", "Cor 4.3", "[P]"), direction="conditional",
    params=(cc.N, cc.K, cc.EPS),
    quantities=_conditional_depth("k", "k"),
    constant="none", conditional_on=CONJ,
    assumptions=("conditional on the 1-vs-2 cycle conjecture", "k even, k = Θ(N^ξ), ξ ≤ 1/2",
                 "cycle gadget needs N ≥ 4.5k² + 1", "alphabet |Σ| = k + 3"),
    check="attncheck reduction cycle-gadget: hop_k(X)_N = 1 iff G = C2 (k ∈ {4,6,8})",
    construction="hop",
    construction_note="ours meets the Ω(log k) depth with H = 1 (not a counterexample: upper side)",
    regime=_cor4_3_regime)

BOUNDS_SHT24 = (SHT24B_LB, SHT24B_UB, THM3_1, LEMMA3_2, THM3_4, COR3_3, COR3_5, THM4_2, COR4_3)
