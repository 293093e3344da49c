"""Running the qSA head (``sht23.thm2``, ``sht23.thm3``): the input MLP writes the residual, the one
emulator runs it.

Shape glossary: B batch, N positions, T = N + 1 residual rows (row 0 the start row), q pointer-set
size, m code width, d' value width (``d_prime``), D residual width.

Row i of an input holds ``(z_i, y_i, i)`` (``task.qsa``); the input MLP, any function of that row
(the ``sht23.thm2`` recipe), writes ``z_i`` into the ``z`` slot and the certificate
``w_{y_i}`` (:meth:`~attncheck.constructions.qsa.QSAConstruction.query_codes`) into ``qry``; the
position embedding of :attr:`~attncheck.constructions.qsa.QSAConstruction.model` adds the key
``u_i``.  :func:`attncheck.verifiers.emulator.forward_residual` then runs the head under the
``full`` mask: every row sees every position (pointers may point forward), none the start row.
There is no second forward pass: the arithmetic, quantisation points and mask are the emulator's.
"""
from __future__ import annotations

import numpy as np

from attncheck.constructions.precision import EXACT, Format
from attncheck.constructions.qsa import QSAConstruction
from attncheck.verifiers.emulator import forward_residual


def embed(c: QSAConstruction, z: np.ndarray, y: np.ndarray, fmt: Format = EXACT) -> np.ndarray:
    """z (B, N, d'), y (B, N, q) 0-indexed pointer sets -> residual (B, T, D), rounded once."""
    model = c.model
    B, N = y.shape[:2]
    X = np.zeros((B, N + 1, c.layout.width))                         # (B, T, D)
    X[:, 0, :] = model.start_row
    X[:, 1:, c.layout["z"].sl] = z
    X[:, 1:, c.layout["qry"].sl] = c.query_codes(y.reshape(B * N, c.q)).reshape(B, N, c.m)
    X[:, 1:, :] += model.pos_embed[1:][None]                         # keys u_j in the key slot
    return fmt.quantize(X, "embedding")


def forward(c: QSAConstruction, z, y, fmt: Format = EXACT, attention: str = "softmax"):
    """Run the head on inputs (z, y) -> (outputs (B, N, d') read from the ``out`` slot,
    attention weights (B, N, N) between positions)."""
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    tr = forward_residual(c.model, embed(c, z, y, fmt), fmt, attention, keep=True)
    out = tr.residuals[-1][:, 1:, c.layout["out"].sl]                # (B, N, d')
    return out, tr.attention[0][:, 0, 1:, 1:]                        # (B, N, N)


def uniform_on(y: np.ndarray, N: int) -> np.ndarray:
    """y (..., q) -> (..., N): the target attention 1/q on the set."""
    beta = np.zeros(y.shape[:-1] + (N,))
    np.put_along_axis(beta, y, 1.0 / y.shape[-1], axis=-1)
    return beta
