"""The attention pattern of one input as a heat map per head (``attncheck inspect --picture``).

:func:`attention_grid` is a pure function from a data dict to one PNG or SVG file (format by
suffix), drawn as cli/figures.py draws: matplotlib imported inside the function, the Agg canvas
and no pyplot state, SVGs without a date (byte-identical for the same data).

``data``: ``tokens`` (the input, symbol codes), ``start`` (``constant`` | ``token`` | ``absent``),
``title``, and ``panels``: one dict per head with ``layer``, ``head``, ``label`` (text above the
panel), ``weights`` (T, T) array (rows = queries 0..N, columns = keys 0..N) and ``marks`` (a
list of (query, key) cells to ring: the targets of the head's claimed role).
"""
from __future__ import annotations

import os

from attncheck.cli.figures import save_figure
from attncheck.cli.render import fmt_token
from attncheck.constructions.verdict import BadInput

SUFFIXES = (".png", ".svg")
LABEL_MAX_N = 40            # token symbols on the axes up to this length; position numbers beyond
MAX_WIDTH = 32.0            # inches of panels across (many heads: smaller panels)
START_GLYPH = {"constant": "start", "token": "BOS", "absent": "(none)"}


def check_picture_path(path: str, writable: bool = False) -> str:
    """Refuse a picture path whose suffix is neither .png nor .svg, or (``writable``) whose
    directory does not exist or cannot be written (BadInput, exit 2): checked before any work."""
    if not str(path).lower().endswith(SUFFIXES):
        raise BadInput(f"--picture {path!r}: the file name must end in .png or .svg")
    folder = os.path.dirname(os.path.abspath(path))
    if writable and not (os.path.isdir(folder) and os.access(folder, os.W_OK)):
        raise BadInput(f"--picture {path!r}: cannot write the figure (no writable directory {folder!r})")
    return str(path)


def axis_labels(tokens, start: str) -> list[str] | None:
    """``["⊢", "1 a", "2 b", ...]`` for rows/columns 0..N, or None when N is too long to label."""
    if len(tokens) > LABEL_MAX_N:
        return None
    return [START_GLYPH.get(start, "0")] + [f"{i} {fmt_token(t)}" for i, t in enumerate(tokens, start=1)]


def attention_grid(data: dict, path: str) -> str:
    """One heat map per panel in a grid (a row per layer, a column per head), weights 0..1 on one
    colour scale; claimed-role targets ringed in red."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    check_picture_path(path)
    panels = data["panels"]
    layers = sorted({p["layer"] for p in panels})
    cols = max(sum(1 for p in panels if p["layer"] == l) for l in layers)
    T = len(data["tokens"]) + 1
    side = min(8.0, max(2.8, 0.24 * T + 1.2), max(1.6, MAX_WIDTH / cols))   # inches per panel
    fig = Figure(figsize=(side * cols + 1.0, side * len(layers) + 0.6), constrained_layout=True)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(layers), cols, squeeze=False)
    labels = axis_labels(data["tokens"], data.get("start", "constant"))
    image = None
    for r, l in enumerate(layers):
        row = [p for p in panels if p["layer"] == l]
        for c in range(cols):
            ax = axes[r, c]
            if c >= len(row):
                ax.axis("off")
                continue
            p = row[c]
            image = ax.imshow(p["weights"], vmin=0.0, vmax=1.0, cmap="viridis", interpolation="nearest")
            if p.get("marks"):
                ax.scatter([k for _, k in p["marks"]], [q for q, _ in p["marks"]], s=36, facecolors="none",
                           edgecolors="red", linewidths=1.0)
            ax.set_title(p["label"], fontsize=9)
            bottom, left = r == len(layers) - 1, c == 0          # axis text on the outer panels only
            if bottom:
                ax.set_xlabel("key position", fontsize=8)
            if left:
                ax.set_ylabel("query position", fontsize=8)
            if labels is not None:
                ax.set_xticks(range(T))
                ax.set_xticklabels(labels if bottom else [], rotation=90, fontsize=6)
                ax.set_yticks(range(T))
                ax.set_yticklabels(labels if left else [], fontsize=6)
            else:
                ax.tick_params(labelbottom=bottom, labelleft=left)
    if image is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, label="attention weight")
    if data.get("title"):
        fig.suptitle(data["title"], fontsize=10)
    return save_figure(fig, path, "--picture")
