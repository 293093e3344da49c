"""Separations of SHT24a section 5 (all via pointer chasing and hop_k) and the GNN bound.

docs/theorems.md section 4.3 and the formula table of section 10.  Every bound here has the form
"R ≥ k (rounds / layers / CoT steps) or a size Ω(N/k^6)": the round alternative is exact, the
size threshold hides its constant and is vacuous (< 1) unless N is far beyond k^6.
"""
from __future__ import annotations

from fractions import Fraction

from attncheck.bounds import catalog_common as cc
from attncheck.bounds.catalog_common import qty, vacuous_note
from attncheck.bounds.intmath import iroot_floor
from attncheck.bounds.records import Bound, Param, Source

PC_CHECK = "attncheck reduction pointer-chasing: the hop_k blackboard encoding (q ≤ 3, k ≤ 4)"


def _n_over_k6(p) -> Fraction:
    return Fraction(p["N"], p["k"] ** 6)


def _k_le_n(p) -> str | None:
    if p["N"] < 2 * p["k"]:
        return f"needs N ≥ 2k so that q = ⌊N/(2k)⌋ ≥ 1, got N = {p['N']}, k = {p['k']}"
    return None


def _size_row(text: str, resource: str | None = None):
    return qty("size", "size threshold", text, "N/k**6", "rational", _n_over_k6, "[P]", resource=resource)


def _rounds_row(label: str, text: str, tag: str = "[P]", resource: str | None = None):
    return qty("rounds", label, text, "k", "int", lambda p: p["k"], tag, "exact", resource=resource)


def _n_k6_notes(p) -> tuple[str, ...]:
    return vacuous_note(_n_over_k6(p), "N/k⁶")


LAYER_SIZE = Param("layer_size", "q", "vertices per layer of the pointer-chasing instance", lo=0,
                   derive=lambda p: p["N"] // (2 * p["k"]), derive_text="⌊N/(2k)⌋ (Prop E.4 embedding)")

AN21 = Bound(
    id="an21.prop4_12", title="multi-pass pointer chasing",
    statement="A k-player R-round s-space sequential blackboard protocol for (q,k)-pointer chasing"
              " succeeding w.p. ≥ 2/3 needs R ≥ k or s = Ω(q/k⁵).",
    source=Source("Assadi–N 2021", "Prop 4.12 (as quoted in SHT24a Prop E.3)", "[P]"),
    direction="lower", params=(cc.N, cc.K, LAYER_SIZE),
    quantities=(
        _rounds_row("rounds", "R ≥ k"),
        qty("space", "space per message", "s = Ω(q/k⁵)", "layer_size/k**5", "rational",
            lambda p: Fraction(p["layer_size"], p["k"] ** 5), "[P]"),
    ),
    constant="none given",
    assumptions=("P_j holds matching E_j; start v and the partition of V_{k+1} are public",
                 "players speak in order P_k, …, P_1 each round"),
    check=PC_CHECK,
    regime=lambda p: None if p["layer_size"] >= 1 else "needs q ≥ 1 (q = ⌊N/(2k)⌋ = 0 when N < 2k)",
    notes=lambda p: vacuous_note(Fraction(p["layer_size"], p["k"] ** 5), "q/k⁵"))

PROP_E4 = Bound(
    id="sht24a.propE_4", title="hop_k in the blackboard model",
    statement="Under the block split of the hop_k blackboard encoding (Σ = [2q+2], q = ⌊N/(2k)⌋),"
              " any k-player R-round s-space protocol computing hop_k(X)_N w.p. ≥ 2/3 needs"
              " R ≥ k or s = Ω(N/k⁶).",
    source=Source("SHT24a", "Prop E.4", "[P]"), direction="lower", params=(cc.N, cc.K),
    quantities=(
        _rounds_row("rounds", "R ≥ k"),
        _size_row("s = Ω(N/k⁶)"),
        qty("q", "pointer-chasing layer size", "q = ⌊N/(2k)⌋", "floor(N/(2*k))", "int",
            lambda p: p["N"] // (2 * p["k"]), "[P]", "exact"),
    ),
    constant="none", assumptions=("alphabet Σ = [2q+2] (grows like N/k)",), check=PC_CHECK,
    regime=_k_le_n, notes=_n_k6_notes)

COR5_2 = Bound(
    id="sht24a.cor5_2", title="multi-layer RNNs / SSMs (Mamba) need depth k or width N/k⁶",
    statement="A depth-L RNN with m-bit binary hidden states (arbitrary cells) computing"
              " hop_k(X)_N has L ≥ k or m = Ω(N/k⁶).",
    source=Source("SHT24a", "Cor 5.2", "[P]"), direction="lower", params=(cc.N, cc.K),
    quantities=(_rounds_row("layers", "L ≥ k", resource="layers"),
                _size_row("m = Ω(N/k⁶) hidden bits", resource="state_bits")),
    constant="none", construction="rnn-hop",
    construction_note="our hop_k RNN meets the depth side (L = k) with state bits independent of N",
    assumptions=("binary hidden states H^ℓ ∈ {0,1}^{N×m}", "alphabet |Σ| = 2q+2 ≈ N/k",
                 "Mamba at inference is such an RNN"),
    check="attncheck reduction: RNN → blackboard simulation (m-bit boundary states reproduce Y_N)",
    regime=_k_le_n, notes=_n_k6_notes)

COR5_3 = Bound(
    id="sht24a.cor5_3", title="kernel attention (Performer) needs depth k or size N/k⁶",
    statement="A KernelFormer^N_{m,m′,L,H} with T(X)_N = hop_k(X)_N has L ≥ k or m·m′·H·p = Ω(N/k⁶).",
    source=Source("SHT24a", "Cor 5.3", "[P]"), direction="lower", params=(cc.N, cc.K),
    quantities=(_rounds_row("layers", "L ≥ k"), _size_row("m·m′·H·p = Ω(N/k⁶)")),
    constant="none", assumptions=("element-wise feature maps Q′, K′ : R^m → R^{m′}",),
    check="attncheck reduction: Σ_j K′(X^j)ᵀV(X^j) over players reproduces Q′K′ᵀV exactly",
    regime=_k_le_n, notes=_n_k6_notes)

COR5_4 = Bound(
    id="sht24a.cor5_4", title="masked attention (Longformer) needs depth k or size N/k⁶",
    statement="A Λ^{w,g}-masked transformer with T(X)_N = hop_k(X)_N has L ≥ k or"
              " (w + N/(gk))·m·H·p = Ω(N/k⁶) (the (w + N/(gk)) reading reconstructed from the proof).",
    source=Source("SHT24a", "Cor 5.4", "[P]"), direction="lower", params=(cc.N, cc.K),
    quantities=(_rounds_row("layers", "L ≥ k"), _size_row("(w + N/(gk))·m·H·p = Ω(N/k⁶)")),
    constant="none", assumptions=("mask Λ_{i,j} = 0 iff |i−j| ≤ w or j ≡ 0 (mod g)",),
    check="attncheck reduction: each player's outputs from its block ± w and the global tokens",
    regime=_k_le_n, notes=_n_k6_notes)

COR5_6 = Bound(
    id="sht24a.cor5_6", title="one-layer transformers with chain of thought",
    statement="A one-layer transformer computing hop_k(X)_N with N_CoT chain-of-thought tokens needs"
              " N_CoT ≥ k or m·H·p = Ω(N/k⁶). [R] the (N_CoT+1)-round simulation gives N_CoT ≥ k − 1.",
    source=Source("SHT24a", "Cor 5.6", "[P]"), direction="lower", params=(cc.N, cc.K),
    quantities=(
        _rounds_row("CoT tokens (paper)", "N_CoT ≥ k"),
        qty("rounds_r", "CoT tokens (proof)", "N_CoT ≥ k − 1", "k - 1", "int", lambda p: p["k"] - 1,
            "[R]", "exact"),
        _size_row("m·H·p = Ω(N/k⁶)", "mHp"),
    ),
    constant="none", assumptions=("one layer", "CoT tokens appended (Def 5.5)"),
    check="attncheck reduction: per-round (S, Z) partial sums reproduce the next CoT token",
    regime=_k_le_n, notes=_n_k6_notes)

THM5_1 = Bound(
    id="sht24a.thm5_1", title="GNNs need polynomial depth (Loukas)",
    statement="There is a graph with N edges such that any message-passing GNN of width m and"
              " depth L deciding subgraph connectivity needs L·√m = Ω̃(N^{1/4}).",
    source=Source("SHT24a", "Thm 5.1 (Loukas 2019 Cor 4.2)", "[P]"), direction="lower",
    params=(cc.N,),
    quantities=(
        qty("depth_width", "L·√m of a GNN", "L·√m = Ω̃(N^{1/4})", "N**(1/4)", "real",
            lambda p: float(p["N"]) ** 0.25, "[P]"),
        qty("floor_root", "integer part", "⌊N^{1/4}⌋", "floor(N**(1/4))", "int",
            lambda p: iroot_floor(p["N"], 4), "[P]", "exact"),
    ),
    constant="none (Ω̃ hides polylog factors)",
    assumptions=("message-passing GNN", "N = number of edges of the host graph"),
    check="none practical; printed beside the transformer's O(log N) depth (sht24a.cor3_3)")

BOUNDS_SEPARATIONS = (AN21, PROP_E4, COR5_2, COR5_3, COR5_4, COR5_6, THM5_1)
