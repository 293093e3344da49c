"""Bounds of SHT23 (sparse averaging, Match2/Match3), SFH+24, Peng et al. and one-way INDEX.

docs/theorems.md sections 1.6, 5, 6 and 8 and the formula table of section 10.  Most SHT23
statements are [S] (third-party notes): their forms and constants are printed as reported.
"""
from __future__ import annotations

from fractions import Fraction

from attncheck.bounds import catalog_common as cc
from attncheck.bounds.catalog_common import qty
from attncheck.bounds.intmath import binary_entropy, log2_log2_real, log2_real
from attncheck.bounds.records import Bound, Param, Source

ACCURACY = Param("accuracy", "ε", "approximation accuracy of qSA (ℓ2 error)", kind="frac", lo=0, hi=1,
                 lo_open=True, hi_open=True, default=Fraction(1, 10))
QSA_CHECK = "attncheck verify qsa / search: smallest m with valid certificates for all q-subsets"


def _q_below_n(p) -> str | None:
    return None if p["q"] < p["N"] else f"needs q < N, got q = {p['q']}, N = {p['N']}"


THM2 = Bound(
    id="sht23.thm2", title="qSA with one attention unit, finite precision",
    statement="For any N, d′, q < N, ε ∈ (0,1): if m ≥ Ω(d′ + q log N) and p = Ω(log((q/ε) log N)),"
              " one self-attention unit of embedding dimension m ε-approximates qSA.",
    source=Source("SHT23", "Thm 2", "[S]"), direction="upper",
    params=(cc.N, cc.Q_SPARSE, cc.D_PRIME, ACCURACY),
    quantities=(
        qty("width", "width", "m = Ω(d′ + q·log₂ N) suffices", "dprime + q*log2(N)", "real",
            lambda p: p["dprime"] + p["q"] * log2_real(p["N"]), "[S]", resource="width"),
        qty("bits", "precision", "p = Ω(log₂((q/ε)·log₂ N))", "log2(q/accuracy*log2(N))", "real",
            lambda p: log2_real(Fraction(p["q"]) / p["accuracy"]) + log2_log2_real(p["N"]), "[S]",
            resource="bits"),
    ),
    constant="none given",
    assumptions=("input/output MLPs", "||z_i||₂ ≤ 1", "random sign codes u_j ∈ {±1/√m}^m"),
    check=QSA_CHECK, construction="qsa", regime=_q_below_n)


THM3 = Bound(
    id="sht23.thm3", title="qSA with infinite precision",
    statement="With real arithmetic m ≥ Ω(d′ + q) suffices for qSA (no log N), via cyclic-polytope"
              " (moment-curve) position codes.",
    source=Source("SHT23", "Thm 3", "[S/M]"), direction="upper", params=(cc.N, cc.Q_SPARSE, cc.D_PRIME),
    quantities=(qty("width", "width", "m = Ω(d′ + q) suffices", "dprime + q", "int",
                    lambda p: p["dprime"] + p["q"], "[S/M]", resource="width"),),
    constant="unconfirmed (possibly m = d′ + 2q + O(1))", assumptions=("infinite precision",),
    check=QSA_CHECK, construction="qsa-moment", regime=_q_below_n)

THM4 = Bound(
    id="sht23.thm4", title="qSA lower bound for one head",
    statement="For large q, N ≥ 2q+1 and d′ ≥ 1 there is a universal c: if m·p ≤ c·q, no one-layer"
              " single-head transformer 1/(2q)-approximates qSA.",
    source=Source("SHT23", "Thm 4", "[S]"), direction="lower", params=(cc.N, cc.Q_SPARSE),
    quantities=(qty("mp", "m·p of one head", "m·p > c·q", "q", "int", lambda p: p["q"], "[S]",
                    resource="mp"),),
    constant="c universal, unknown",
    assumptions=("one layer, one head, arbitrary input/output MLPs", "N ≥ 2q + 1 [S] (possibly q + 1)"),
    check="attncheck reduction disj-qsa: DISJ embedding identity; rank(DISJ_q) = 2^q",
    construction="qsa",
    regime=lambda p: None if p["N"] >= 2 * p["q"] + 1 else
    f"needs N ≥ 2q + 1 = {2 * p['q'] + 1}, got N = {p['N']}")

THM7 = Bound(
    id="sht23.thm7", title="Match3 needs near-linear size in one layer",
    statement="There is a universal c: if m·p·H ≤ c·N/log log N, no one-layer H-head transformer"
              " computes Match3.",
    source=Source("SHT23", "Thm 7", "[S]"), direction="lower", params=(cc.N,),
    quantities=(qty("mpH", "m·p·H of one layer", "m·p·H > c·N/log₂ log₂ N", "N/log2(log2(N))", "real",
                    lambda p: p["N"] / log2_log2_real(p["N"]), "[S]", resource="mHp"),),
    constant="c unknown", assumptions=("one layer, H heads", "origin of the log log N unconfirmed"),
    check="attncheck reduction: DISJ-style embedding for Match3; rank of the DISJ matrix",
    regime=lambda p: None if p["N"] >= 3 else f"needs N ≥ 3 (log₂ log₂ N = 0 at N = {p['N']})")

THM10 = Bound(
    id="sht23.thm10", title="fully-connected networks need width ~ N d′",
    statement="Any fully-connected network computing qSA (q ≤ N/2) has first-layer width ≥ N·d′/2"
              " (as reported).",
    source=Source("SHT23", "Thm 10", "[S]"), direction="lower", params=(cc.N, cc.Q_SPARSE, cc.D_PRIME),
    quantities=(qty("width", "first-layer width", "width ≥ N·d′/2", "N*dprime/2", "rational",
                    lambda p: Fraction(p["N"] * p["dprime"], 2), "[S]", "as reported"),),
    constant="as reported (unconfirmed)", assumptions=("q ≤ N/2",), check="attncheck witness (rank)",
    regime=lambda p: None if 2 * p["q"] <= p["N"] else f"needs q ≤ N/2, got q = {p['q']}, N = {p['N']}")

THM11 = Bound(
    id="sht23.thm11", title="recurrent models need ~N/2 bits for qSA",
    statement="Any recurrent (streaming) model computing qSA needs memory ≥ (N−1)/2 bits, even for q = 1.",
    source=Source("SHT23", "Thm 11", "[S]"), direction="lower", params=(cc.N,),
    quantities=(qty("memory", "state bits", "memory ≥ (N−1)/2 bits", "(N - 1)/2", "rational",
                    lambda p: Fraction(p["N"] - 1, 2), "[S]", "as reported", resource="state_bits"),),
    constant="as reported", construction="rnn-index", assumptions=("one pass over the input",),
    check="attncheck witness myhill-nerode: INDEX streaming embedding; classes for qSA with q = 1")

MODULUS = Param("M", "M", "modulus of Match2", lo=2, derive=lambda p: p["N"], derive_text="N")

MATCH2 = Bound(
    id="sht23.match2_ub", title="Match2 with one 3-dimensional head",
    statement="One self-attention unit with constant m (reported m = 3) and p = O(log(NM)) computes Match2.",
    source=Source("SHT23", "§4 (Match2 upper bound)", "[S]"), direction="upper", params=(cc.N, MODULUS),
    quantities=(
        qty("width", "width", "m = 3", "3", "int", lambda p: 3, "[S]", "as reported", "width"),
        qty("bits", "precision", "p = O(log₂(N·M))", "log2(N*M)", "real",
            lambda p: log2_real(p["N"] * p["M"]), "[S]", resource="bits"),
    ),
    constant="m = 3 as reported; p hides its constant",
    assumptions=("trigonometric embeddings", "start-token threshold between cos(2π/M) and 1"),
    check="attncheck verify match2: exhaustive over [M]^N (M ≤ 7, N ≤ 6), both index conventions",
    construction="match2")


def _rnn_ih_regime(p) -> str | None:
    need = (p["N"] - 1) // 2 + 2
    if p["alphabet"] < need:
        return (f"needs |Σ| ≥ ⌊(N−1)/2⌋ + 2 = {need} (distinct markers), got |Σ| = {p['alphabet']};"
                f" over a constant alphabet O(|Σ| log |Σ|) bits suffice for one-hop IH")
    return None


RNN_IH = Bound(
    id="sht23.rnn-ih", title="streaming induction heads need Ω(N) state bits (large alphabets)",
    statement="A one-pass model (RNN/SSM, one layer) computing induction heads on the streaming"
              " INDEX family (1, a₁, 2, a₂, …, n′, a_{n′}, i*) needs ≥ n′ = ⌊(N−1)/2⌋ state bits;"
              " this requires |Σ| ≳ N.",
    source=Source("docs/theorems.md", "§5 (talk claim, derived)", "[R]"), direction="lower",
    params=(cc.N, cc.ALPHABET),
    quantities=(qty("state", "state bits", "bits ≥ ⌊(N−1)/2⌋", "floor((N - 1)/2)", "int",
                    lambda p: (p["N"] - 1) // 2, "[R]", "explicit", resource="state_bits"),),
    constant="explicit [R]", construction="rnn-index", assumptions=("one pass", "|Σ| ≥ n′ + 2 (markers 1..n′ and the bits)"),
    check="attncheck witness myhill-nerode: exact class counts for |Σ| ∈ {2,3,4} and the marker alphabet",
    regime=_rnn_ih_regime)

SFH_THM6 = Bound(
    id="sfh24.thm6", title="one layer needs near-linear width for connectivity",
    statement="Any single-layer transformer solving connectivity, shortest path or cycle detection"
              " needs m·H = Ω̃(N).",
    source=Source("SFH+24", "Thm 6", "[S]"), direction="lower", params=(cc.N,),
    quantities=(qty("mH", "m·H of one layer", "m·H = Ω̃(N)", "N", "int", lambda p: p["N"], "[S]",
                    resource="mH"),),
    constant="none (Ω̃ hides polylog factors)", assumptions=("one layer", "SFH+24 graph tokenization"),
    check="none (reduction not transcribed)")


def _pnp_entropy(p) -> float:
    return p["n"] * log2_real(p["n"])


def _pnp_slack(p) -> float:
    return _pnp_entropy(p) - p["H"] * (p["m"] + 1) * p["p"]


def _pnp_notes(p) -> tuple[str, ...]:
    if _pnp_slack(p) <= 0:
        return (f"H(d+1)p = {p['H'] * (p['m'] + 1) * p['p']} ≥ n log₂ n: no error floor for this model",)
    return ()


PNP1 = Bound(
    id="pnp24.thm1", title="one layer cannot compose functions",
    statement="Function composition with |A| = |B| = |C| = n; one layer with H heads, dimension d,"
              " precision p. With R = n log n − H(d+1)p > 0 the layer errs w.p. ≥ R/(3 n log n).",
    source=Source("PNP24", "Thm 1", "[P-abs]"), direction="lower",
    params=(cc.N, cc.N_FUNC, cc.HEADS, cc.M_WIDTH, cc.PREC),
    quantities=(
        qty("entropy", "H(d+1)p needed", "H·(d+1)·p ≥ n·log₂ n", "n*log2(n)", "real", _pnp_entropy,
            "[P-abs]", "explicit (d+1)", "h(m+1)p"),
        qty("slack", "R of the model under test", "R = n log₂ n − H(d+1)p", "n*log2(n) - H*(m + 1)*p",
            "real", _pnp_slack, "[P-abs]", "explicit"),
        qty("error", "error floor of the model", "error ≥ max(R, 0)/(3 n log₂ n)",
            "Max(n*log2(n) - H*(m + 1)*p, 0)/(3*n*log2(n))", "real",
            lambda p: max(_pnp_slack(p), 0.0) / (3 * _pnp_entropy(p)), "[P-abs]", "explicit (1/3)"),
    ),
    constant="explicit: 1/3 and d + 1",
    assumptions=("log base 2 presumably (bits; unconfirmed)", "uniform random f, g and query"),
    check="attncheck witness: 'Bob reads all of f' step for n ≤ 4; table of R and the error floor",
    notes=_pnp_notes)

PNP2 = Bound(
    id="pnp24.thm2", title="iterated composition needs long chain of thought",
    statement="Iterated function composition needs Ω(√(n/(H d p))) chain-of-thought steps.",
    source=Source("PNP24", "Thm 2", "[S]"), direction="lower",
    params=(cc.N, cc.N_FUNC, cc.HEADS, cc.M_WIDTH, cc.PREC),
    quantities=(qty("cot", "CoT steps", "N_CoT = Ω(√(n/(H·d·p)))", "sqrt(n/(H*m*p))", "real",
                    lambda p: (p["n"] / (p["H"] * p["m"] * p["p"])) ** 0.5, "[S]"),),
    constant="none", assumptions=("one layer per step",), check="none (table only)")

ERROR = Param("error", "ε", "error probability of a randomized protocol", kind="frac", lo=0,
              hi=Fraction(1, 2), lo_open=True, hi_open=True, default=Fraction(1, 3))

INDEX = Bound(
    id="cc.oneway", title="one-way communication complexity of INDEX_n",
    statement="Deterministic one-way CC of INDEX_n is exactly n (all 2^n rows of the communication"
              " matrix are distinct); with error ε it is ≥ (1 − H₂(ε))·n.",
    source=Source("standard", "INDEX_n", "[standard]"), direction="lower",
    params=(cc.N, cc.N_FUNC, ERROR),
    quantities=(
        qty("deterministic", "deterministic message bits", "bits = n", "n", "int", lambda p: p["n"],
            "[standard]", "exact"),
        qty("randomized", "randomized message bits", "bits ≥ (1 − H₂(ε))·n",
            "(1 + error*log2(error) + (1 - error)*log2(1 - error))*n", "real",
            lambda p: (1 - binary_entropy(p["error"])) * p["n"], "[standard]", "explicit"),
    ),
    constant="exact (deterministic)", assumptions=("one message Alice → Bob",),
    check="attncheck witness index: #distinct rows of the communication matrix = 2^n",
    aliases=("INDEX", "task.index"))

BOUNDS_OTHER = (THM2, THM3, THM4, THM7, THM10, THM11, MATCH2, RNN_IH, SFH_THM6, PNP1, PNP2, INDEX)
