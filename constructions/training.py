"""Training attention-only models on the multi-hop task of SHT24a App. G, and the RNN comparison
(issue 18).  Imports torch: only ``attncheck train`` (cli/train.py) and tests/train import it.

Shape glossary: B batch, N task positions, T = N + 1 rows (the hop-count token at row 0), S
alphabet size |Sigma|, U = S + 1 output ids (the S symbols, then bottom), V input ids, D
``d_model``, H heads, d ``d_head``, L layers.

**Task** (``task.hopk.multi``, ``sht24a.emp``): k uniform on {0..k_max}; X in Sigma^N with no two
equal consecutive tokens (first token uniform, each next one uniform over the other S - 1); the
model reads ``[hop_k, X_1 .. X_N]`` where ``hop_k`` is one input id per k (App. G gives k as
the first token), and must output ``hop_k(X)_i`` (``constructions.tasks.hop``; k = 0 is the
identity) at row i, ⊥ as the id S.  Ids: symbols 0..S-1, bottom S (output only), hop tokens
S+1 .. S+1+k_max (input only).

**Model**: exactly the exchange format's pass (no layer norm, no MLP, causal softmax attention,
learned positions, a linear read-out), run by :class:`attncheck.constructions.hooked.HookedAttnOnly`
in float32; a trained model is written as an :class:`ExchangeModel` **per k** with
``start = hop_k``'s id and ``params = {"k": k}``: the same weights, and for that k the format's
start token is exactly the paper's hop-count token, so ``verify hop --from`` and ``inspect hop
--from`` judge the model on the paper's input for that k.

**Error** ``err_k``: per sample, the share of non-⊥ positions predicted wrongly; averaged over the
samples that have a non-⊥ position (App. G.1).  The training loss is cross-entropy on every
position, ⊥ included (a model must output ⊥ to be verified; the authors' code does the same).

**Reproducibility**: the batch of step s is drawn from ``numpy.random.default_rng((seed, L,
s))`` and the initial weights from ``default_rng((seed, L))``, so a run resumed from a
checkpoint (weights, Adam state, step) draws the same batches as an uninterrupted one.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Callable

import numpy as np
import torch
from torch import nn

from attncheck.constructions.budget import Budget
from attncheck.constructions.exchange import AttnBlock, ExchangeModel, write_exchange
from attncheck.constructions.hooked import HookedAttnOnly
from attncheck.constructions.tasks import induction_heads

CHECKPOINT = "checkpoint.pt"


# --- configuration -------------------------------------------------------------------------------
@dataclass(frozen=True)
class HopConfig:
    """One training run of one depth (``sht24a.emp``'s knobs)."""

    layers: int
    k_max: int = 8
    N: int = 32
    alphabet: int = 4
    width: int = 64            # d_model (the paper's m)
    heads: int = 4
    steps: int = 3000
    batch: int = 32
    lr: float = 1e-3
    warmup: int = 100
    weight_decay: float = 0.0
    seed: int = 0
    eval_samples: int = 100    # per k (App. G.1: 100)
    checkpoint_every: int = 500

    @property
    def d_head(self) -> int:
        return max(1, self.width // self.heads)

    @property
    def bottom(self) -> int:
        return self.alphabet

    def hop_id(self, k: int) -> int:
        return self.alphabet + 1 + k

    @property
    def d_vocab(self) -> int:
        return self.alphabet + 2 + self.k_max

    @property
    def d_vocab_out(self) -> int:
        return self.alphabet + 1


#: Presets: ``small`` for a 2-core CPU (the whole L = 2..6 grid in about 15 minutes), ``paper``
#: App. G's hyperparameters (N = 100 with the hop token, |Sigma| = 4, k <= 16, m = 128, H = 4,
#: Adam lr 1e-4, 10^5 steps, batch 32, 1000 warm-up steps then linear decay) for a GPU.
PRESETS: dict[str, dict] = {
    "small": dict(k_max=8, N=24, alphabet=4, width=64, heads=4, steps=6000, batch=32, lr=3e-3,
                  warmup=100, checkpoint_every=500),
    "paper": dict(k_max=16, N=99, alphabet=4, width=128, heads=4, steps=100_000, batch=32, lr=1e-4,
                  warmup=1000, weight_decay=0.01, checkpoint_every=5000),
}


# --- data --------------------------------------------------------------------------------------
def no_repeat_inputs(rng: np.random.Generator, B: int, N: int, S: int) -> np.ndarray:
    """(B, N) int64: first token uniform on 0..S-1, each next uniform over the other S - 1."""
    x = np.empty((B, N), dtype=np.int64)
    x[:, 0] = rng.integers(0, S, size=B)
    if N > 1:
        steps = rng.integers(1, S, size=(B, N - 1)) if S > 1 else np.zeros((B, N - 1), dtype=np.int64)
        x[:, 1:] = (x[:, :1] + np.cumsum(steps, axis=1)) % S
    return x


def find1_batch(x: np.ndarray, S: int) -> np.ndarray:
    """(B, N) -> (B, N + 1): ``find^1_X(i)`` for i = 0..N (1-indexed, 0 absorbing; SHT24a Def 4.1)."""
    B, N = x.shape
    table = np.zeros((B, N + 1), dtype=np.int64)
    last_after = np.zeros((B, S), dtype=np.int64)       # s -> largest j with X_{j-1} = s, j <= i
    rows = np.arange(B)
    for i in range(1, N + 1):
        if i >= 2:
            last_after[rows, x[:, i - 2]] = i
        table[:, i] = last_after[rows, x[:, i - 1]]
    return table


def hop_targets(x: np.ndarray, ks: np.ndarray, S: int) -> np.ndarray:
    """(B, N), (B,) -> (B, N) output ids: ``hop_k(X)_i`` as a symbol, ``S`` for ⊥ (k = 0: X)."""
    B, N = x.shape
    table = find1_batch(x, S)
    p = np.tile(np.arange(1, N + 1), (B, 1))            # (B, N) current pointer
    rows = np.arange(B)[:, None]
    for step in range(int(ks.max(initial=0))):
        move = (ks > step)[:, None]
        p = np.where(move, table[rows, p], p)
    sym = np.take_along_axis(x, np.maximum(p - 1, 0), axis=1)
    return np.where(p == 0, S, sym)


def hop_batch(cfg: HopConfig, rng: np.random.Generator, B: int, ks: np.ndarray | None = None):
    """(ids (B, N + 1), targets (B, N), ks (B,)): ``[hop_k, X]`` and ``hop_k(X)``."""
    if ks is None:
        ks = rng.integers(0, cfg.k_max + 1, size=B)
    x = no_repeat_inputs(rng, B, cfg.N, cfg.alphabet)
    ids = np.concatenate([(cfg.alphabet + 1 + ks)[:, None], x], axis=1)
    return ids, hop_targets(x, ks, cfg.alphabet), ks


def error_share(pred: np.ndarray, target: np.ndarray, bottom: int) -> np.ndarray:
    """(B, N), (B, N) -> (B,): per sample, the share of non-⊥ target positions where ``pred``
    differs; NaN for a sample whose targets are all ⊥ (App. G.1's err ignores ⊥)."""
    keep = target != bottom
    wrong = (pred != target) & keep
    n = keep.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, wrong.sum(axis=1) / np.maximum(n, 1), np.nan)


# --- the model ---------------------------------------------------------------------------------
def init_exchange(cfg: HopConfig, std: float = 0.02) -> ExchangeModel:
    """A seeded random attention-only model of the config's sizes (GPT-2's N(0, 0.02) init,
    zero biases, output maps scaled by 1/sqrt(2L)), as an ExchangeModel for k = max(1, k_max)."""
    rng = np.random.default_rng((cfg.seed, cfg.layers))
    D, H, d, L = cfg.width, cfg.heads, cfg.d_head, cfg.layers
    blocks = []
    for _ in range(L):
        blocks.append(AttnBlock(rng.normal(0, std, (H, D, d)), rng.normal(0, std, (H, D, d)),
                                rng.normal(0, std, (H, D, d)), rng.normal(0, std / math.sqrt(2 * L), (H, d, D)),
                                np.zeros((H, d)), np.zeros((H, d)), np.zeros((H, d)), np.zeros(D)))
    return _exchange(cfg, rng.normal(0, std, (cfg.d_vocab, D)), rng.normal(0, std, (cfg.N + 1, D)),
                     blocks, rng.normal(0, std, (D, cfg.d_vocab_out)), np.zeros(cfg.d_vocab_out),
                     max(1, cfg.k_max), {})


def _exchange(cfg: HopConfig, W_E, W_pos, blocks, W_U, b_U, k: int, source: dict) -> ExchangeModel:
    return ExchangeModel(W_E, W_pos, tuple(blocks), W_U, b_U, "hop", cfg.N, cfg.alphabet,
                         tuple(range(cfg.alphabet)), cfg.bottom, cfg.hop_id(k), 1.0 / math.sqrt(cfg.d_head),
                         "exact", {"k": k}, source)


def to_exchange(model: HookedAttnOnly, cfg: HopConfig, k: int, source: dict | None = None) -> ExchangeModel:
    """The trained weights as the exchange model for hop count ``k`` (start id = hop_k's id)."""
    sd = {n: t.detach().cpu().double().numpy() for n, t in model.state_dict().items()}
    blocks = [AttnBlock(*(sd[f"blocks.{l}.attn.{n}"] for n in ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O")))
              for l in range(cfg.layers)]
    return _exchange(cfg, sd["embed.W_E"], sd["pos_embed.W_pos"], blocks, sd["unembed.W_U"], sd["unembed.b_U"],
                     k, dict(source or {}))


def lr_at(cfg: HopConfig, step: int) -> float:
    """Linear warm-up for ``warmup`` steps, then linear decay to 0 at ``steps`` (App. G's code)."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    return cfg.lr * max(0.0, (cfg.steps - step) / max(1, cfg.steps - cfg.warmup))


@dataclass
class TrainState:
    """What a checkpoint holds."""

    model: HookedAttnOnly
    opt: torch.optim.Optimizer
    step: int = 0
    losses: list = field(default_factory=list)      # (step, loss) every 50 steps


def new_state(cfg: HopConfig, device: str = "cpu") -> TrainState:
    torch.manual_seed(cfg.seed)
    model = HookedAttnOnly(init_exchange(cfg), dtype=torch.float32, device=device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    return TrainState(model, opt)


def save_checkpoint(state: TrainState, cfg: HopConfig, path: str) -> None:
    tmp = path + ".tmp"
    torch.save({"config": asdict(cfg), "step": state.step, "model": state.model.state_dict(),
                "opt": state.opt.state_dict(), "losses": state.losses}, tmp)
    os.replace(tmp, path)


def load_checkpoint(cfg: HopConfig, path: str, device: str = "cpu") -> TrainState:
    """The state saved at ``path``; ValueError when it was saved for another configuration
    (only ``steps``, ``checkpoint_every`` and ``eval_samples`` may differ)."""
    blob = torch.load(path, map_location=device, weights_only=False)
    saved = HopConfig(**blob["config"])
    free = dict(steps=cfg.steps, checkpoint_every=cfg.checkpoint_every, eval_samples=cfg.eval_samples)
    if replace(saved, **free) != cfg:
        raise ValueError(f"{path} was saved for another configuration ({saved})")
    state = new_state(cfg, device)
    state.model.load_state_dict(blob["model"])
    state.opt.load_state_dict(blob["opt"])
    state.step = int(blob["step"])
    state.losses = list(blob["losses"])
    return state


def loss_on(model: nn.Module, ids: np.ndarray, targets: np.ndarray, device: str) -> torch.Tensor:
    """Mean cross-entropy over every task position (rows 1..N), ⊥ included."""
    logits = model(torch.as_tensor(ids, device=device))[:, 1:, :]              # (B, N, U)
    tgt = torch.as_tensor(targets, device=device)
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1))


def train_steps(state: TrainState, cfg: HopConfig, device: str = "cpu", budget: Budget | None = None,
                on_step: Callable[[int, float], None] | None = None,
                checkpoint: str | None = None) -> bool:
    """Train from ``state.step`` to ``cfg.steps``; returns False when ``budget`` ran out (the
    state is then checkpointed at the step reached).  Checkpoints every ``checkpoint_every``
    steps and at the end when ``checkpoint`` is a path."""
    model, opt = state.model, state.opt
    model.train()
    while state.step < cfg.steps:
        if budget is not None and budget.expired():
            if checkpoint:
                save_checkpoint(state, cfg, checkpoint)
            return False
        s = state.step
        rng = np.random.default_rng((cfg.seed, cfg.layers, s))
        ids, tgt, _ = hop_batch(cfg, rng, cfg.batch)
        for g in opt.param_groups:
            g["lr"] = lr_at(cfg, s)
        loss = loss_on(model, ids, tgt, device)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        state.step = s + 1
        lv = float(loss.detach())
        if s % 50 == 0 or state.step == cfg.steps:
            state.losses.append((s, lv))
        if on_step is not None:
            on_step(state.step, lv)
        if checkpoint and (state.step % cfg.checkpoint_every == 0 or state.step == cfg.steps):
            save_checkpoint(state, cfg, checkpoint)
    return True


def evaluate(model: HookedAttnOnly, cfg: HopConfig, device: str = "cpu", seed: int = 12345) -> dict[int, float]:
    """``err_k`` for k = 0..k_max on ``eval_samples`` fresh no-repeat inputs per k (App. G.1)."""
    model.eval()
    out = {}
    with torch.no_grad():
        for k in range(cfg.k_max + 1):
            rng = np.random.default_rng((seed, k))
            ids, tgt, _ = hop_batch(cfg, rng, cfg.eval_samples, np.full(cfg.eval_samples, k))
            pred = model(torch.as_tensor(ids, device=device))[:, 1:, :].argmax(-1).cpu().numpy()
            e = error_share(pred, tgt, cfg.bottom)
            out[k] = float(np.nanmean(e)) if np.any(~np.isnan(e)) else float("nan")
    model.train()
    return out


def save_models(model: HookedAttnOnly, cfg: HopConfig, ks, out_dir: str, source: dict) -> dict[int, str]:
    """Write the trained weights once per k in ``ks`` (k >= 1) as ``out_dir/k{k}/``; returns paths."""
    paths = {}
    for k in ks:
        p = os.path.join(out_dir, f"k{k}")
        write_exchange(to_exchange(model, cfg, k, {**source, "hop_token_id": cfg.hop_id(k)}), p)
        paths[k] = p
    return paths


def parameter_count(model: nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))


# --- RNN versus transformer on induction (Kaplan et al.'s per-position loss) ----------------------
@dataclass(frozen=True)
class CompareConfig:
    """Induction heads (task.ih) on uniform inputs: an LSTM and an attention-only transformer."""

    N: int = 64
    alphabet: int = 4
    width: int = 64
    heads: int = 4
    layers: int = 2
    steps: int = 1500
    batch: int = 32
    lr: float = 3e-3
    warmup: int = 100
    seed: int = 0
    test_samples: int = 512

    @property
    def d_head(self) -> int:
        return max(1, self.width // self.heads)


class LSTMModel(nn.Module):
    """Embedding (S + 1 ids: symbols and a start id) -> one-layer LSTM -> linear read-out to S + 1."""

    def __init__(self, V: int, U: int, hidden: int, emb: int):
        super().__init__()
        self.embed = nn.Embedding(V, emb)
        self.lstm = nn.LSTM(emb, hidden, batch_first=True)
        self.out = nn.Linear(hidden, U)
        self.hidden = hidden

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(self.embed(ids))
        return self.out(h)


def induction_batch(cfg: CompareConfig, rng: np.random.Generator, B: int):
    """(ids (B, N + 1) with start id S at row 0, targets (B, N) with ⊥ as S)."""
    x = rng.integers(0, cfg.alphabet, size=(B, cfg.N))
    tgt = np.array([[cfg.alphabet if t is None else t for t in induction_heads(list(r))] for r in x], dtype=np.int64)
    ids = np.concatenate([np.full((B, 1), cfg.alphabet, dtype=np.int64), x], axis=1)
    return ids, tgt


def induction_transformer(cfg: CompareConfig, device: str = "cpu") -> HookedAttnOnly:
    rng = np.random.default_rng((cfg.seed, 1))
    D, H, d, L, S = cfg.width, cfg.heads, cfg.d_head, cfg.layers, cfg.alphabet
    std = 0.02
    blocks = [AttnBlock(rng.normal(0, std, (H, D, d)), rng.normal(0, std, (H, D, d)), rng.normal(0, std, (H, D, d)),
                        rng.normal(0, std / math.sqrt(2 * L), (H, d, D)), np.zeros((H, d)), np.zeros((H, d)),
                        np.zeros((H, d)), np.zeros(D)) for _ in range(L)]
    m = ExchangeModel(rng.normal(0, std, (S + 1, D)), rng.normal(0, std, (cfg.N + 1, D)), tuple(blocks),
                      rng.normal(0, std, (D, S + 1)), np.zeros(S + 1), "induction", cfg.N, S, tuple(range(S)),
                      S, S, 1.0 / math.sqrt(d), "exact", {}, {"trained_by": "attncheck train compare-rnn"})
    return HookedAttnOnly(m, dtype=torch.float32, device=device)


def lstm_hidden_for(target: int, V: int, U: int, emb: int) -> int:
    """The LSTM hidden size whose parameter count is closest to ``target``."""
    def count(h):
        return V * emb + 4 * (emb * h + h * h + 2 * h) + h * U + U
    return min(range(1, 2048), key=lambda h: abs(count(h) - target))


def train_compare(cfg: CompareConfig, device: str = "cpu", budget: Budget | None = None,
                  on_step: Callable[[str, int, float], None] | None = None) -> dict:
    """Train both models on the same batches; per-position test loss (nats) for each.

    Returns ``{"transformer": {...}, "lstm": {...}, "stopped": step or None}`` with per model
    ``params``, ``loss_by_position`` (N floats, position 1..N), ``mean_loss``, ``accuracy``
    (argmax, every position), ``steps`` and, for the LSTM, ``hidden`` and ``state_bits_float32``
    (h and c: 2 * hidden * 32)."""
    torch.manual_seed(cfg.seed)
    S = cfg.alphabet
    tr = induction_transformer(cfg, device)
    n_tr = parameter_count(tr)
    emb = cfg.width
    hidden = lstm_hidden_for(n_tr, S + 1, S + 1, emb)
    lstm = LSTMModel(S + 1, S + 1, hidden, emb).to(device)
    models = {"transformer": tr, "lstm": lstm}
    opts = {n: torch.optim.AdamW(m.parameters(), lr=cfg.lr, weight_decay=0.0) for n, m in models.items()}
    hop_like = HopConfig(layers=1, steps=cfg.steps, lr=cfg.lr, warmup=cfg.warmup)
    stopped = None
    for s in range(cfg.steps):
        if budget is not None and budget.expired():
            stopped = s
            break
        ids, tgt = induction_batch(cfg, np.random.default_rng((cfg.seed, s)), cfg.batch)
        for name, m in models.items():
            for g in opts[name].param_groups:
                g["lr"] = lr_at(hop_like, s)
            loss = loss_on(m, ids, tgt, device)
            opts[name].zero_grad(set_to_none=True)
            loss.backward()
            opts[name].step()
            if on_step is not None:
                on_step(name, s + 1, float(loss.detach()))
    ids, tgt = induction_batch(cfg, np.random.default_rng((cfg.seed, 10 ** 6)),
                               cfg.test_samples)
    out: dict = {"stopped": stopped}
    with torch.no_grad():
        for name, m in models.items():
            m.eval()
            logits = m(torch.as_tensor(ids, device=device))[:, 1:, :]
            t = torch.as_tensor(tgt, device=device)
            ce = nn.functional.cross_entropy(logits.reshape(-1, S + 1), t.reshape(-1), reduction="none")
            ce = ce.reshape(t.shape).mean(0).cpu().numpy()
            acc = float((logits.argmax(-1) == t).float().mean())
            out[name] = {"params": parameter_count(m), "loss_by_position": [float(v) for v in ce],
                         "mean_loss": float(ce.mean()), "accuracy": acc,
                         "steps": cfg.steps if stopped is None else stopped}
    out["lstm"].update(hidden=hidden, embedding=emb, state_bits_float32=2 * hidden * 32)
    out["transformer"].update(layers=cfg.layers, heads=cfg.heads, width=cfg.width)
    out["_models"] = models
    return out


def elapsed_since(t0: float) -> float:
    return time.perf_counter() - t0


def to_exchange_induction(model: HookedAttnOnly, cfg: CompareConfig) -> ExchangeModel:
    """The compare-rnn transformer as an exchange model for ``induction`` (start id S, ⊥ id S)."""
    sd = {n: t.detach().cpu().double().numpy() for n, t in model.state_dict().items()}
    blocks = [AttnBlock(*(sd[f"blocks.{l}.attn.{n}"] for n in ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O")))
              for l in range(cfg.layers)]
    S = cfg.alphabet
    return ExchangeModel(sd["embed.W_E"], sd["pos_embed.W_pos"], tuple(blocks), sd["unembed.W_U"], sd["unembed.b_U"],
                         "induction", cfg.N, S, tuple(range(S)), S, S, 1.0 / math.sqrt(cfg.d_head), "exact", {},
                         {"trained_by": "attncheck train compare-rnn", "config": asdict(cfg)})


def all_inputs(n: int, S: int, no_repeat: bool) -> np.ndarray:
    """(S^n, n) every input of Sigma^n in lexicographic order, or (S (S-1)^(n-1), n) those with
    no two equal consecutive tokens."""
    X = np.indices((S,) * n).reshape(n, -1).T.astype(np.int64)
    if no_repeat and n > 1:
        X = X[np.all(X[:, 1:] != X[:, :-1], axis=1)]
    return X


def exhaustive_counts(model: ExchangeModel, n: int, chunk: int = 4096,
                      domains: tuple[str, ...] = ("no_repeat",)) -> dict:
    """Run an exchange ``hop`` model (float64, the format's pass) on every input of Sigma^n
    (domain ``all``) and/or every no-repeat one (``no_repeat``, the training support); per
    domain: inputs, inputs right at every position (⊥ included), and the share of non-⊥
    positions wrong.  n is at most the model's N; a causal model's first n outputs are its
    outputs on the n-prefix, so this judges the first n positions of every longer input too."""
    k = int(model.params["k"])
    hm = HookedAttnOnly(model, dtype=torch.float64)
    S = model.alphabet
    out = {}
    for name, nr in (("all", False), ("no_repeat", True)):
        if name not in domains:
            continue
        X = all_inputs(n, S, nr)
        right = 0
        wrong_pos = 0
        non_bot = 0
        for a in range(0, len(X), chunk):
            x = X[a:a + chunk]
            pred = hm.predict(x)                                    # (b, n): symbols, -1 bottom, -2 neither
            tgt = hop_targets(x, np.full(len(x), k), S)
            tgt = np.where(tgt == S, -1, tgt)
            right += int(np.all(pred == tgt, axis=1).sum())
            keep = tgt != -1
            wrong_pos += int(((pred != tgt) & keep).sum())
            non_bot += int(keep.sum())
        out[name] = {"inputs": int(len(X)), "all_right": right,
                     "position_error": wrong_pos / non_bot if non_bot else float("nan")}
    return out
