"""From a traced graph to a program a kernel can run: dot fusion, dead-node removal, and
one flat layout of slots.

- Dot fusion: an add-chain of products, ``((w₀x₀ + w₁x₁) + ...) + b``, the lecture's
  ``k[j] += w[i,j] * x[i]``, becomes one DOT operation (``b`` as ``b · 1``), so an MLP unit
  is one operation and not two per weight. Only chains whose inner sums are used nowhere
  else are fused: nothing is computed twice.
- Dead-node removal: only what an output depends on is kept.
- Layout: slot ``i`` of the value array holds node ``i``; the inputs come first (argument
  after argument), then the constants, then the operations in topological order. A DOT's
  pairs are stored as runs ``(p, q, n)``: ``Σₘ v[p+m] · v[q+m]``, so a weight row times an
  input vector is one run that the kernel walks with unit stride.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from . import ops
from .trace import Graph


def reachable(graph: Graph, outputs: list[int]) -> np.ndarray:
    """Which nodes some output depends on (a walk from the outputs down), and the inputs."""
    keep = np.array([op == ops.INPUT for op in graph.op], dtype=bool)   # every input stays
    keep[outputs] = True
    for n in range(len(graph) - 1, -1, -1):
        if keep[n]:
            for a in graph.args[n]:
                keep[a] = True
    return keep


def fuse_dots(graph: Graph, outputs: list[int]) -> tuple[Graph, list[int]]:
    """A new graph in which every add-chain with at least two products is one DOT. Built by a
    walk from the outputs, so what no output needs (and the sums inside a fused chain) is
    never copied."""
    n_nodes = len(graph)
    counts = np.bincount(np.fromiter(itertools.chain.from_iterable(graph.args), dtype=np.int64),
                         minlength=n_nodes)
    counts[outputs] += 1
    uses = counts.tolist()          # Python lists below: numpy scalars are slow one at a time
    op = graph.op
    # a sum used once, by an addition, is the inside of a longer chain
    inner = [False] * n_nodes
    for n in range(n_nodes):
        if op[n] == ops.ADD:
            for a in graph.args[n]:
                if uses[a] == 1 and op[a] in (ops.ADD, ops.DOT):
                    inner[a] = True
    new = Graph()
    mapped = [-1] * n_nodes
    for n in range(n_nodes):
        if op[n] == ops.INPUT:
            mapped[n] = new.input(int(graph.const[n]))
    fused: dict[int, list[tuple[int, int]]] = {}

    def children(n: int) -> tuple[int, ...] | list[int]:
        if op[n] == ops.ADD and not inner[n]:
            pairs = chain_pairs(graph, n, inner)
            if sum(1 for _, q in pairs if q != -1) >= 2:
                fused[n] = pairs
                return [x for pair in pairs for x in pair if x != -1]
        return graph.args[n]

    one = -1
    stack = [(o, False) for o in reversed(outputs)]
    while stack:
        n, ready = stack.pop()
        if mapped[n] >= 0:
            continue
        if not ready:
            stack.append((n, True))
            # reversed: the first operand is emitted first, so creation order is kept
            stack += [(c, False) for c in reversed(children(n)) if mapped[c] < 0]
            continue
        if op[n] == ops.CONST:
            mapped[n] = new.constant(graph.const[n])
        elif n in fused:
            if one == -1:
                one = new.constant(1.0)
            flat: list[int] = []
            for p, q in fused[n]:
                flat += [mapped[p], one if q == -1 else mapped[q]]
            mapped[n] = new.add(ops.DOT, tuple(flat))
        else:
            mapped[n] = new.add(op[n], tuple(mapped[a] for a in graph.args[n]),
                                graph.const[n])
    return new, [mapped[o] for o in outputs]


def chain_pairs(graph: Graph, root: int, inner: list[bool]) -> list[tuple[int, int]]:
    """The terms of the add-chain under ``root``, left to right, as products ``(p, q)``; a
    term that is not a product is ``(term, -1)``."""
    pairs: list[tuple[int, int]] = []
    stack = [root]
    while stack:
        n = stack.pop()
        op = graph.op[n]
        if op == ops.ADD and (n == root or inner[n]):
            stack += [graph.args[n][1], graph.args[n][0]]
        elif op == ops.DOT and inner[n]:
            a = graph.args[n]
            pairs += [(a[m], a[m + 1]) for m in range(0, len(a), 2)]
        elif op == ops.MUL:
            pairs.append(graph.args[n])
        else:
            pairs.append((n, -1))
    return pairs


@dataclass
class Program:
    """A graph laid out in slots (node ``i`` lives in slot ``i``) plus the tape the kernel
    runs: ``ins[k] = (op, a, b, c)`` computes slot ``first + k`` (for DOT, ``a`` and ``b``
    are the first run and the number of runs), ``cst[k]`` is POW's exponent."""

    op: np.ndarray              # per slot
    args: list[tuple[int, ...]]  # per slot (DOT: p₀, q₀, p₁, q₁, ...)
    const: np.ndarray           # per slot: CONST's value, POW's exponent
    sizes: tuple[int, ...]      # the arguments' sizes
    offsets: np.ndarray         # where each argument's slots start (and the end)
    first: int                  # the first computed slot
    outputs: np.ndarray         # the output slots
    ins: np.ndarray
    cst: np.ndarray
    runs: np.ndarray
    constants: np.ndarray       # the values of slots [offsets[-1], first)

    @property
    def num_slots(self) -> int:
        return int(self.op.shape[0])

    @property
    def num_ops(self) -> int:
        return int(self.ins.shape[0])


def lay_out(graph: Graph, outputs: list[int], sizes: tuple[int, ...]) -> Program:
    """Dead-node removal and the slot layout (inputs, constants, operations)."""
    keep = reachable(graph, outputs)
    n_in = int(sum(sizes))
    inputs = [n for n in range(len(graph)) if graph.op[n] == ops.INPUT]
    consts = [n for n in np.flatnonzero(keep) if graph.op[n] == ops.CONST]
    work = schedule(graph, [n for n in np.flatnonzero(keep) if graph.op[n] > ops.CONST])
    order = sorted(inputs, key=lambda n: graph.const[n]) + consts + work
    slot = [-1] * len(graph)
    for i, n in enumerate(order):
        slot[n] = i
    first = n_in + len(consts)
    op = np.array([graph.op[n] for n in order], dtype=np.int64)
    args = [tuple(slot[a] for a in graph.args[n]) for n in order]
    const = np.array([graph.const[n] for n in order], dtype=np.float64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    # which argument (or region) a slot is in: a run never crosses one
    region = np.full(len(order), -1, dtype=np.int64)
    for j in range(len(sizes)):
        region[offsets[j]:offsets[j + 1]] = j
    region[first:] = len(sizes)
    rows: list[list[int]] = []          # built as lists, made one array at the end
    runs: list[tuple[int, int, int]] = []
    codes = op.tolist()
    for s in range(first, len(order)):
        if codes[s] == ops.DOT:
            start = len(runs)
            runs += dot_runs(args[s], region)
            rows.append([codes[s], start, len(runs) - start, 0])
        else:
            rows.append([codes[s], *args[s], *[0] * (3 - len(args[s]))])
    ins = np.array(rows, dtype=np.int64).reshape(-1, 4)
    return Program(op=op, args=args, const=const, sizes=tuple(sizes), offsets=offsets,
                   first=first, outputs=np.array([slot[o] for o in outputs], dtype=np.int64),
                   ins=ins, cst=const[first:].copy(),
                   runs=np.array(runs, dtype=np.int64).reshape(-1, 3),
                   constants=const[n_in:first].copy())


def schedule(graph: Graph, work: list[int]) -> list[int]:
    """The operations by depth (longest path from the inputs), in creation order within a
    depth: still a topological order, and a layer's units end up side by side, so the next
    layer's DOT reads them as one run however the loops were written."""
    depth: dict[int, int] = {}
    for n in work:
        depth[n] = 1 + max((depth.get(a, 0) for a in graph.args[n]), default=0)
    return sorted(work, key=depth.__getitem__)


def dot_runs(pairs: tuple[int, ...], region: np.ndarray) -> list[tuple[int, int, int]]:
    """A DOT's pairs as runs ``(p, q, n)`` of consecutive slots in one region each."""
    runs: list[tuple[int, int, int]] = []
    for m in range(0, len(pairs), 2):
        p, q = pairs[m], pairs[m + 1]
        if runs:
            p0, q0, n = runs[-1]
            if p == p0 + n and q == q0 + n and region[p] == region[p0] and \
                    region[q] == region[q0] and region[p] >= 0 and region[q] >= 0:
                runs[-1] = (p0, q0, n + 1)
                continue
        runs.append((p, q, 1))
    return runs


def build(graph: Graph, outputs: list[int], sizes: tuple[int, ...]) -> Program:
    """Fuse, prune and lay out a traced graph."""
    fused, fused_outputs = fuse_dots(graph, outputs)
    return lay_out(fused, fused_outputs, sizes)
