"""The exchange format in PyTorch, as a TransformerLens ``HookedRootModule`` (issue 16).

Shape glossary: B batch, T positions (``n_ctx`` at most), D ``d_model``, H heads, d ``d_head``,
V ``d_vocab``, U ``d_vocab_out``, N task length.  Row vectors, ``x @ W``, as everywhere in attncheck.

The forward pass is the one docs/format.md defines for ``DIR/model.safetensors``, nothing added:

* ``resid = W_E[ids] + W_pos[:T]``;
* per layer and head ``q = resid W_Q[h] + b_Q[h]`` (k, v likewise),
  ``score[i, j] = attn_scale * (q_i . k_j)`` for j <= i and ``-inf`` above the diagonal (a row
  always keeps itself), ``pattern = softmax(score)``, ``z = pattern v``;
  ``resid += sum_h z_h W_O[h] + b_O``;
* no layer norm, no MLP; ``logits = resid W_U + b_U``.

``attn_scale`` is the exchange file's *multiplier*; TransformerLens's own ``cfg.attn_scale``
divides the scores, so ``HookedAttnOnly.cfg.attn_scale`` holds ``1 / attn_scale`` for
TransformerLens's tools (the pass itself multiplies by the file's number).  The default dtype is
float64, where the pass gives the same argmax as ``attncheck run --precision exact``
(tests/interop/test_hooked.py checks it input by input).

Hook points carry the names TransformerLens users know (``hook_embed``, ``hook_pos_embed``,
``blocks.{l}.hook_resid_pre``, ``blocks.{l}.attn.hook_q|hook_k|hook_v`` (B, T, H, d),
``blocks.{l}.attn.hook_attn_scores`` and ``hook_pattern`` (B, H, T, T), ``hook_z`` (B, T, H, d),
``hook_result`` (B, T, H, D, only with ``use_attn_result``), ``blocks.{l}.hook_attn_out``,
``blocks.{l}.hook_resid_post``), and the parameters carry the tensor names of
``DIR/model.safetensors``, so ``state_dict()`` and the file hold the same keys.

This module imports torch and transformer_lens at its top: only code that asks for the PyTorch
runtime imports it (nothing in ``attncheck.cli`` or ``attncheck.verifiers`` does), so the default
install and ``attncheck verify`` never load torch.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from transformer_lens import ActivationCache, HookedRootModule
from transformer_lens.config import TransformerLensConfig
from transformer_lens.hook_points import HookPoint

from attncheck.constructions.exchange import ExchangeModel, read_exchange


def _param(a: np.ndarray, dtype: torch.dtype, device) -> nn.Parameter:
    return nn.Parameter(torch.tensor(np.asarray(a), dtype=dtype, device=device))


class Embed(nn.Module):
    """``W_E`` (V, D): ids (B, T) -> (B, T, D)."""

    def __init__(self, W_E: nn.Parameter):
        super().__init__()
        self.W_E = W_E

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.W_E[ids]                                              # (B, T, D)


class PosEmbed(nn.Module):
    """``W_pos`` (n_ctx, D): ids (B, T) -> (B, T, D), row t for position t."""

    def __init__(self, W_pos: nn.Parameter):
        super().__init__()
        self.W_pos = W_pos

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        B, T = ids.shape
        return self.W_pos[:T].unsqueeze(0).expand(B, T, -1)              # (B, T, D)


class Attention(nn.Module):
    """All heads of one layer, causal softmax, scores multiplied by ``score_scale``."""

    def __init__(self, params: dict[str, nn.Parameter], score_scale: float, use_attn_result: bool):
        super().__init__()
        for name in ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O"):
            setattr(self, name, params[name])
        self.score_scale = float(score_scale)       # exchange attn_scale: a multiplier
        self.use_attn_result = use_attn_result
        self.hook_q = HookPoint()                   # (B, T, H, d)
        self.hook_k = HookPoint()                   # (B, T, H, d)
        self.hook_v = HookPoint()                   # (B, T, H, d)
        self.hook_attn_scores = HookPoint()         # (B, H, T, T), -inf above the diagonal
        self.hook_pattern = HookPoint()             # (B, H, T, T)
        self.hook_z = HookPoint()                   # (B, T, H, d)
        self.hook_result = HookPoint()              # (B, T, H, D), with use_attn_result only

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, D) -> the layer's write (B, T, D), b_O included."""
        T = x.shape[1]
        q = self.hook_q(torch.einsum("btd,hde->bthe", x, self.W_Q) + self.b_Q)    # (B, T, H, d)
        k = self.hook_k(torch.einsum("btd,hde->bthe", x, self.W_K) + self.b_K)    # (B, T, H, d)
        v = self.hook_v(torch.einsum("btd,hde->bthe", x, self.W_V) + self.b_V)    # (B, T, H, d)
        dots = torch.einsum("bqhe,bkhe->bhqk", q, k)                             # (B, H, T, T)
        future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)      # j > i
        scores = (self.score_scale * dots).masked_fill(future, float("-inf"))
        scores = self.hook_attn_scores(scores)                                   # (B, H, T, T)
        pattern = self.hook_pattern(torch.softmax(scores, dim=-1))               # (B, H, T, T)
        z = self.hook_z(torch.einsum("bhqk,bkhe->bqhe", pattern, v))            # (B, T, H, d)
        if self.use_attn_result:
            result = self.hook_result(torch.einsum("bthe,hed->bthd", z, self.W_O))  # (B, T, H, D)
            return result.sum(dim=2) + self.b_O
        return torch.einsum("bthe,hed->btd", z, self.W_O) + self.b_O              # (B, T, D)


class Block(nn.Module):
    """One attention-only layer: ``resid_post = resid_pre + attn(resid_pre)``."""

    def __init__(self, attn: Attention):
        super().__init__()
        self.attn = attn
        self.hook_resid_pre = HookPoint()           # (B, T, D)
        self.hook_attn_out = HookPoint()            # (B, T, D)
        self.hook_resid_post = HookPoint()          # (B, T, D)

    def forward(self, resid: torch.Tensor) -> torch.Tensor:
        resid = self.hook_resid_pre(resid)
        out = self.hook_attn_out(self.attn(resid))
        return self.hook_resid_post(resid + out)


class Unembed(nn.Module):
    """``W_U`` (D, U), ``b_U`` (U,): resid (B, T, D) -> logits (B, T, U)."""

    def __init__(self, W_U: nn.Parameter, b_U: nn.Parameter):
        super().__init__()
        self.W_U, self.b_U = W_U, b_U

    def forward(self, resid: torch.Tensor) -> torch.Tensor:
        return resid @ self.W_U + self.b_U


class HookedAttnOnly(HookedRootModule):
    """An exchange-format model (:class:`ExchangeModel`) as a TransformerLens hooked module.

    ``forward(ids)`` takes token ids (B, T) or (T,), T <= n_ctx, and returns logits (B, T, U).
    ``run_with_cache`` returns ``(logits, ActivationCache)``; ``cache["pattern", 0]`` is layer
    0's (B, H, T, T) attention.  ``to_tokens`` / ``predict`` speak the task's symbols through the
    exchange file's ``symbols``, ``start`` and read-out.
    """

    def __init__(self, model: ExchangeModel, dtype: torch.dtype = torch.float64,
                 device: str | torch.device = "cpu", use_attn_result: bool = False):
        super().__init__()
        if not isinstance(model, ExchangeModel):
            raise TypeError(f"HookedAttnOnly needs an ExchangeModel, got {type(model).__name__}")
        if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise ValueError(f"dtype must be a floating torch dtype, got {dtype!r}")
        self.exchange = model
        self.cfg = TransformerLensConfig(
            d_model=model.d_model, d_head=model.d_head, n_layers=model.n_layers,
            n_ctx=model.n_ctx, n_heads=model.n_heads, d_mlp=0, d_vocab=model.d_vocab,
            device=str(device), use_attn_result=use_attn_result, default_prepend_bos=False,
            attn_only=True, normalization_type=None, dtype=dtype)
        self.cfg.d_vocab_out = model.d_vocab_out
        self.cfg.attn_scale = 1.0 / model.attn_scale   # TransformerLens's convention: a divisor

        def p(a: np.ndarray) -> nn.Parameter:
            return _param(a, dtype, device)

        self.embed = Embed(p(model.W_E))
        self.hook_embed = HookPoint()               # (B, T, D)
        self.pos_embed = PosEmbed(p(model.W_pos))
        self.hook_pos_embed = HookPoint()           # (B, T, D)
        self.blocks = nn.ModuleList(
            Block(Attention({n: p(getattr(b, n)) for n in
                             ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O")},
                            model.attn_scale, use_attn_result))
            for b in model.blocks)
        self.unembed = Unembed(p(model.W_U), p(model.b_U))
        self.setup()

    # -- the pass -----------------------------------------------------------------------------
    def forward(self, ids, return_type: str | None = "logits") -> torch.Tensor | None:
        """ids (B, T) or (T,) -> logits (B, T, U); ``return_type=None`` returns None (hooks only)."""
        ids = self._check_ids(ids)
        resid = self.hook_embed(self.embed(ids)) + self.hook_pos_embed(self.pos_embed(ids))
        for block in self.blocks:
            resid = block(resid)                                               # (B, T, D)
        if return_type is None:
            return None
        if return_type != "logits":
            raise ValueError(f"return_type must be 'logits' or None, got {return_type!r}")
        return self.unembed(resid)                                             # (B, T, U)

    def run_with_cache(self, *model_args: Any, return_cache_object: bool = True, **kwargs: Any):
        """As TransformerLens's: ``(logits, ActivationCache)`` (a plain dict with
        ``return_cache_object=False``)."""
        out, cache = super().run_with_cache(*model_args, **kwargs)
        if return_cache_object:
            cache = ActivationCache(cache, self, has_batch_dim=not kwargs.get("remove_batch_dim", False))
        return out, cache

    def _check_ids(self, ids) -> torch.Tensor:
        ids = torch.as_tensor(ids, device=self.embed.W_E.device)
        if ids.ndim == 1:
            ids = ids.unsqueeze(0)
        if ids.ndim != 2 or ids.dtype.is_floating_point or ids.dtype.is_complex or ids.dtype == torch.bool:
            raise ValueError(f"ids must be integer (B, T) or (T,), got {tuple(ids.shape)} {ids.dtype}")
        T = ids.shape[1]
        if not 1 <= T <= self.cfg.n_ctx:
            raise ValueError(f"sequence length {T} is outside 1..n_ctx={self.cfg.n_ctx}")
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.cfg.d_vocab):
            raise ValueError(f"token ids must lie in 0..{self.cfg.d_vocab - 1}, "
                             f"got {int(ids.min())}..{int(ids.max())}")
        return ids.long()

    # -- the task's symbols ---------------------------------------------------------------------
    def to_tokens(self, symbols: Sequence[Sequence[int]] | np.ndarray) -> torch.Tensor:
        """Task inputs (B, n) or (n,) of symbols 0..|Sigma|-1, n <= N -> ids (B, n + 1) with the
        start id at position 0, or (B, n) when the file names no start token; on the model's device."""
        ids = self.exchange.input_ids(np.atleast_2d(np.asarray(symbols, dtype=np.int64)))
        return torch.as_tensor(ids, dtype=torch.long, device=self.embed.W_E.device)

    def predict(self, symbols) -> np.ndarray:
        """Task inputs (B, n) -> outputs (B, n): the symbol read from the argmax (first maximum)
        of the logits at the n task positions (the last n rows); -1 for bottom, -2 for an id
        that is neither."""
        symbols = np.atleast_2d(np.asarray(symbols, dtype=np.int64))
        n = symbols.shape[1]
        with torch.no_grad():
            logits = self(self.to_tokens(symbols))                             # (B, T, U)
        ids = logits[:, logits.shape[1] - n:, :].cpu().numpy().argmax(axis=-1)  # (B, n)
        return self.exchange.read_out(ids)


def load_hooked(path: str | Path, dtype: torch.dtype = torch.float64,
                device: str | torch.device = "cpu", use_attn_result: bool = False) -> HookedAttnOnly:
    """Read an exchange directory (``DIR/model.safetensors`` + ``attncheck.json``) into a
    :class:`HookedAttnOnly` (float64 by default)."""
    return HookedAttnOnly(read_exchange(path), dtype=dtype, device=device,
                          use_attn_result=use_attn_result)
