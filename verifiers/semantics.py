"""Composition of head promises through slot labels (the symbolic half of the certificate).

Every head of a certified construction carries a :class:`~attncheck.constructions.spec.Promise`
and every slot a :class:`~attncheck.constructions.spec.Label` ``base[pointer(i)]``.  This module
derives, from the promises alone, what each written slot holds, and checks that the decoder's
slot holds exactly what the task asks for.  Rules (SHT24a section 4.2, Def 4.1):

* ``lookup`` with query label ``pos[P(i)]`` and key label ``pos[i]`` lands on position P(i),
  so a value slot labelled ``B[V(j)]`` is written as ``B[V(P(i))]``;
* ``last_occurrence`` with query ``X[i]`` and key ``X[i-1]`` lands on
  ``max{j <= i : X_{j-1} = X_i}`` (or the start token) ``= find^1(i)``: values become
  ``B[V(find^1(i))]``.  Position 1's key is the start token's none code, so j = 1 never
  matches, exactly as Def 4.1 restricts j >= 2;
* a snap map moves labels with the codes; clears forget them;
* ``find^b o find^a = find^(a+b)`` (merging in :meth:`Label.then`) and 0 is absorbing for every
  pointer (the start token carries pointer 0 and the none code), so ``X[find^k(i)]`` decodes to
  bottom exactly when ``find^k(i) = 0``.

The numeric half (:mod:`attncheck.verifiers.certificate`) proves each promise holds on every
input; together they prove the decoder outputs the task.
"""
from __future__ import annotations

from attncheck.constructions.spec import Construction, Label
from attncheck.constructions.tasks import find

X_I = Label("X")
X_PREV = Label("X", (("shift", -1),))
POS_I = Label("pos")
FIND1 = (("find", 1),)


def task_label(task: str, params: dict) -> Label:
    """The label the decoder slot must hold for ``task`` (docs/theorems.md task.ih / task.hopk)."""
    if task == "induction":
        return Label("X", FIND1)
    if task == "hop":
        k = int(params["k"])
        return Label("X", (("find", k),)) if k > 0 else Label("X")
    raise ValueError(f"no label semantics for task {task!r}")


class CompositionError(Exception):
    """The promises do not compose to the task (message says where)."""


def compose(c: Construction, targets: list | None = None,
            history: list | None = None) -> tuple[dict[str, Label | None], list[str]]:
    """Labels of all slots after the last layer, and a human trace of each step.  If
    ``targets`` is a list, the pointer ops of each head's intended target are appended to it
    (one list per layer); if ``history`` is a list, the labels before each layer are."""
    labels: dict[str, Label | None] = {s.name: (s.label if s.kind != "written" else None)
                                       for s in c.layout.slots}
    steps: list[str] = []
    for li, layer in enumerate(c.layers, start=1):
        new = dict(labels)
        if history is not None:
            history.append(dict(labels))
        if targets is not None:
            targets.append([])
        for hi, head in enumerate(layer.heads, start=1):
            p = head.promise
            if p is None:
                raise CompositionError(f"layer {li} head {hi} has no promise")
            q, k = labels.get(p.query), labels.get(p.key)
            if p.kind == "lookup":
                if q is None or q.base != "pos" or k != POS_I:
                    raise CompositionError(f"layer {li} lookup needs query pos[P(i)] and key pos[i],"
                                           f" got {q} and {k}")
                at = q.ops
            elif p.kind == "last_occurrence":
                if q != X_I or k != X_PREV:
                    raise CompositionError(f"layer {li} lastOccurrence needs query X[i] and key X[i-1],"
                                           f" got {q} and {k}")
                at = FIND1
            else:
                raise CompositionError(f"layer {li}: unknown promise kind {p.kind!r}")
            if targets is not None:
                targets[-1].append(at)
            for v, w in zip(p.values, p.writes):
                if labels.get(v) is None:
                    raise CompositionError(f"layer {li} copies slot {v!r}, which holds nothing yet")
                new[w] = labels[v].then(at)
                steps.append(f"L{li}: {w} := {new[w]}")
        if layer.map is not None:
            moved = dict(new)
            for src, dst in layer.map.moves:
                moved[dst] = new[src]
                steps.append(f"L{li} map: {dst} := {new[src]}")
            for name in layer.map.clears:
                moved[name] = None
            new = moved
        labels = new
    return labels, steps


def check_composition(c: Construction, task: str, params: dict) -> str:
    """Return a one-line proof sketch, or raise CompositionError."""
    labels, steps = compose(c)
    want = task_label(task, params)
    got = labels.get(c.decoder.slot)
    if got != want:
        raise CompositionError(f"decoder slot {c.decoder.slot!r} holds {got}, the task needs {want}")
    return f"{c.decoder.slot} holds {got} = task output ({'; '.join(steps)})"


def evaluate_pointer(ops, x, i: int) -> int:
    """The position ``ops(i)`` on the concrete input ``x`` (1-indexed; 0 = start)."""
    for name, arg in ops:
        i = max(0, i + arg) if name == "shift" else find(x, i, arg)
    return i


def intended_targets(c: Construction, x, position: int) -> list[list[int]] | None:
    """Per layer and head, the position the promise says ``position`` attends to on input x
    (None when the promises do not compose)."""
    targets: list = []
    try:
        compose(c, targets)
    except CompositionError:
        return None
    return [[evaluate_pointer(ops, x, position) for ops in layer] for layer in targets]
