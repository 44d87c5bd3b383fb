"""``cf.explain``: one input's derivative of a compiled function, as the lecture derives it
(slides 30-38): the chain of local derivatives from the input to the output, each written
symbolically and with the numbers of one forward pass, every path and their sum (the
multivariate chain rule), or, beyond ``max_paths`` paths, the accumulated form backpropagation
computes. Rendered by explain's own renderer (:mod:`.render`), as text and as Markdown.

The names are the generated source's (:class:`~scalarprop.engines.compiled.source.Names`):
for ``f(x) = 2/sin(e^−x)`` the steps are ``a, b, c, d``, in a network ``k[j]`` and ``h[j]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..checks.testing import numerical_gradient
from ..engines.compiled import ops
from ..engines.compiled.function import CompiledFunction
from ..engines.compiled.source import Names
from .notation import Math, number, partial, product, square, word, wrap
from .render import Code, Part, render_markdown, render_text

MAX_PATHS = 64


@dataclass(frozen=True)
class Local:
    """One local derivative ``∂y/∂x`` on the way: its formula and its number."""

    y: int
    x: int
    symbol: Math
    formula: Math
    numbers: Math
    value: float


@dataclass
class CompiledExplanation:
    """The derivation of ``∂out/∂input``; ``str()`` is text, ``to_markdown()`` Markdown."""

    function: str
    input: str
    output: str
    value: float
    locals: list[Local]
    paths: list[list[int]]            # slots from the input up to the output, each path
    path_values: list[float]
    num_paths: int
    gradient: float                   # the compiled backward pass's number
    finite_difference: float
    accumulated: list[tuple[str, float]] = field(default_factory=list)
    doc: list[Part] = field(default_factory=list, repr=False)

    @property
    def path_sum(self) -> float:
        return float(sum(self.path_values))

    def __str__(self) -> str:
        return render_text(self.doc)

    def to_markdown(self) -> str:
        return render_markdown(self.doc)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: the local derivatives, the paths and their values, the sums, checks."""
        return {"function": self.function, "input": self.input, "output": self.output,
                "value": self.value, "num_paths": self.num_paths,
                "local_derivatives": [{"of": l.symbol.text, "formula": l.formula.text,
                                       "numbers": l.numbers.text, "value": l.value}
                                      for l in self.locals],
                "paths": [{"slots": p, "value": v}
                          for p, v in zip(self.paths, self.path_values)],
                "path_sum": self.path_sum if self.paths else None,
                "accumulated": [{"of": n, "value": v} for n, v in self.accumulated],
                "gradient": self.gradient, "finite_difference": self.finite_difference}


def tex_name(name: str) -> str:
    """``k[3]`` → ``k_{3}``."""
    if "[" in name:
        base, index = name[:-1].split("[")
        return f"{base}_{{{index}}}"
    return name


def explain_compiled(cf: CompiledFunction, args: tuple[Any, ...], input: Any = 0,
                     max_paths: int = MAX_PATHS) -> CompiledExplanation:
    """Explain ``∂out/∂input`` of ``cf`` at ``args``. ``input``: an index into the first
    argument, ``(argument, index)``, or a name such as ``"x[0]"``."""
    p = cf.program
    arg, index = which_input(cf, input)
    slot = int(p.offsets[arg] + index)
    nodes = cf.nodes(*args)
    v, g = nodes["value"], nodes["grad"]
    nm = Names(p, cf.arg_names)
    out = int(p.outputs[0])

    def sym(s: int) -> Math:
        if p.op[s] == ops.CONST:
            return number(float(p.const[s]))
        name = nm.value(s)
        return word(name, tex_name(name))

    def val(s: int) -> Math:
        return number(float(v[s]))

    # paths: how many lead from the input to each slot (a forward count over the program)
    count = np.zeros(p.num_slots, dtype=object)
    count[slot] = 1
    for s in range(p.first, p.num_slots):
        count[s] = sum(count[a] for a in set(p.args[s]))
    num_paths = int(count[out])
    edges = sorted({(s, a) for s in range(p.first, p.num_slots) if count[s]
                    for a in set(p.args[s]) if count[a]}, reverse=True)
    local: dict[tuple[int, int], Local] = {}
    for y, x in edges:
        formula = local_formula(p, y, x, sym)
        numbers = local_formula(p, y, x, val)
        local[(y, x)] = Local(y, x, partial(sym(y), sym(x)), formula, numbers,
                              local_value(p, v, y, x))
    paths: list[list[int]] = []
    if 0 < num_paths <= max_paths:
        paths = enumerate_paths(p, slot, out, count)
    path_values = [float(np.prod([local[(b, a)].value for a, b in zip(pth, pth[1:])]))
                   for pth in paths]
    accumulated = []
    if num_paths > max_paths:
        down = [s for s in range(p.num_slots - 1, p.first - 1, -1) if count[s]] + [slot]
        accumulated = [(nm.value(s), float(g[s])) for s in down]
    fd = float(numerical_gradient(lambda z: cf(*replace(args, arg, z)),
                                  np.asarray(args[arg], dtype=float), method="central")[index])
    e = CompiledExplanation(function=cf.name, input=nm.value(slot), output=nm.value(out),
                            value=float(v[out]), locals=[local[k] for k in edges],
                            paths=paths, path_values=path_values, num_paths=num_paths,
                            gradient=float(g[slot]), finite_difference=fd,
                            accumulated=accumulated)
    e.doc = document(e, local, sym)
    return e


def which_input(cf: CompiledFunction, input: Any) -> tuple[int, int]:
    if isinstance(input, str):
        for j, name in enumerate(cf.arg_names):
            if input.startswith(name + "[") and input.endswith("]"):
                input = (j, int(input[len(name) + 1:-1]))
                break
        else:
            raise ValueError(f"input={input!r}: expected a name like "
                             f"{cf.arg_names[0]}[0] (the arguments: {cf.arg_names})")
    if isinstance(input, (int, np.integer)) and not isinstance(input, bool):
        input = (0, int(input))
    if not (isinstance(input, tuple) and len(input) == 2):
        raise ValueError(f"input={input!r}: expected an index, (argument, index) or a name")
    arg, index = input
    if not 0 <= arg < len(cf.sizes) or not 0 <= index < cf.sizes[arg]:
        raise ValueError(f"input={input!r}: out of range for arguments of sizes {cf.sizes}")
    return int(arg), int(index)


def replace(args: tuple[Any, ...], j: int, z: np.ndarray) -> tuple[Any, ...]:
    return tuple(z if k == j else a for k, a in enumerate(args))


def enumerate_paths(p: Any, start: int, out: int, count: np.ndarray) -> list[list[int]]:
    """Every path from ``start`` up to ``out`` (a walk down from the output)."""
    paths = []
    stack = [[out]]
    while stack:
        path = stack.pop()
        if path[-1] == start:
            paths.append(path[::-1])
            continue
        for a in sorted(set(p.args[path[-1]]), reverse=True):
            if count[a]:
                stack.append(path + [a])
    return paths


def local_value(p: Any, v: np.ndarray, y: int, x: int) -> float:
    """∂y/∂x at the forward pass's numbers (every occurrence of x among y's operands)."""
    op, a = p.op[y], p.args[y]
    if op == ops.DOT:
        return float(sum(v[a[m + 1]] if a[m] == x else 0.0 for m in range(0, len(a), 2))
                     + sum(v[a[m]] if a[m + 1] == x else 0.0 for m in range(0, len(a), 2)))
    if op == ops.ADD:
        return float(a.count(x))
    if op == ops.SUB:
        return float((a[0] == x) - (a[1] == x))
    if op == ops.MUL:
        return float((v[a[1]] if a[0] == x else 0.0) + (v[a[0]] if a[1] == x else 0.0))
    if op == ops.DIV:
        return float((1 / v[a[1]] if a[0] == x else 0.0) - (v[y] / v[a[1]] if a[1] == x
                                                              else 0.0))
    if op == ops.WHERE:
        chosen = a[1] if v[a[0]] != 0.0 else a[2]
        return 1.0 if chosen == x else 0.0
    if op in (ops.GT, ops.GE):
        return 0.0
    x0, y0, c = v[a[0]], v[y], p.const[y]
    return {ops.NEG: -1.0, ops.POW: c * x0 ** (c - 1) if c != 1 else 1.0, ops.EXP: y0,
            ops.LOG: 1 / x0 if x0 else float("inf"), ops.SIN: np.cos(x0),
            ops.COS: -np.sin(x0), ops.TANH: 1 - y0 * y0, ops.SIGMOID: y0 * (1 - y0),
            ops.RELU: float(x0 > 0), ops.ABS: float(np.sign(x0))}[op]


def local_formula(p: Any, y: int, x: int, term: Any) -> Math:
    """∂y/∂x as a formula over ``term(slot)`` (symbols, or the forward pass's numbers)."""
    op, a = p.op[y], p.args[y]
    if op == ops.DOT:
        others = [term(a[m + 1]) for m in range(0, len(a), 2) if a[m] == x] + \
                 [term(a[m]) for m in range(0, len(a), 2) if a[m + 1] == x]
        return Math(" + ".join(o.text for o in others), " + ".join(o.tex for o in others))
    if op == ops.ADD:
        return word(str(a.count(x)))
    if op == ops.SUB:
        return word("1" if a[0] == x else "−1", "1" if a[0] == x else "-1")
    if op == ops.MUL:
        if a[0] == a[1]:
            t = term(x)
            return Math(f"2·{t.text}", rf"2 \cdot {t.tex}")
        return term(a[1] if a[0] == x else a[0])
    if op == ops.DIV:
        b = term(a[1])
        if a[0] == x:
            return Math(f"1/{b.text}", rf"\frac{{1}}{{{b.tex}}}")
        yy = term(y)
        return Math(f"−{yy.text}/{b.text}", rf"-\frac{{{yy.tex}}}{{{b.tex}}}")
    if op == ops.WHERE:
        cond = term(a[0])
        mark, tex_mark = ("≠", r"\neq") if a[1] == x else ("=", "=")
        return Math(f"[{cond.text} {mark} 0]", f"[{cond.tex} {tex_mark} 0]")
    if op in (ops.GT, ops.GE):
        return word("0")
    t, yy, c = term(a[0]), term(y), float(p.const[y])
    power = (f"2·{wrap(t.text)}", rf"2 \cdot {wrap(t.tex)}") if c == 2.0 else \
        (f"{c:g}·{wrap(t.text)}^{c - 1:g}", rf"{c:g} \cdot {wrap(t.tex)}^{{{c - 1:g}}}")
    forms = {ops.NEG: ("−1", "-1"), ops.EXP: (f"e^{t.text}", f"e^{{{t.tex}}}"),
             ops.POW: power,
             ops.LOG: (f"1/{t.text}", rf"\frac{{1}}{{{t.tex}}}"),
             ops.SIN: (f"cos {t.text}", rf"\cos {t.tex}"),
             ops.COS: (f"−sin {t.text}", rf"-\sin {t.tex}"),
             ops.TANH: (f"1 − {square(yy).text}", f"1-{square(yy).tex}"),
             ops.SIGMOID: (f"{wrap(yy.text)}(1 − {wrap(yy.text)})",
                           f"{wrap(yy.tex)}(1-{wrap(yy.tex)})"),
             ops.RELU: (f"[{t.text} > 0]", f"[{t.tex} > 0]"),
             ops.ABS: (f"sign {t.text}", rf"\operatorname{{sign}} {t.tex}")}
    return Math(*forms[op])


def document(e: CompiledExplanation, local: dict[tuple[int, int], Local], sym: Any
             ) -> list[Part]:
    """The derivation as explain's parts: title, chain rule, local derivatives, paths or the
    accumulated form, and the check."""
    out_m, in_m = word(e.output, tex_name(e.output)), word(e.input, tex_name(e.input))
    doc = [Part("title", ((partial(out_m, in_m), " of ", Code(e.function),
                           f" (output {e.output} = ", number(e.value), ")"),))]
    if e.num_paths == 0:
        doc.append(Part("line", (("the output does not depend on this input: "
                                  "the derivative is 0",),)))
    elif len(e.paths) == 1:
        chain = [local[(b, a)] for a, b in zip(e.paths[0], e.paths[0][1:])][::-1]
        doc.append(Part("section", (("chain rule (one path from the input to the output)",),)))
        doc.append(Part("chain", (
            (partial(out_m, in_m),),
            (product([f.symbol for f in chain], " · ", r" \, "),),
            (product([f.formula for f in chain]),),
            (product([f.numbers for f in chain]),),
            (product([number(f.value) for f in chain]),),
            (number(e.path_values[0]),))))
    elif e.paths:
        doc.append(Part("section", ((
            f"every path (multivariate chain rule: the sum over paths of the product of "
            f"local derivatives), {e.num_paths} paths",),)))
        rows = []
        for i, (pth, value) in enumerate(zip(e.paths, e.path_values), 1):
            chain = [local[(b, a)] for a, b in zip(pth, pth[1:])][::-1]
            names = " → ".join(sym(s).text for s in pth)
            rows.append((f"{i:>2}. {names}:  ", product([f.formula for f in chain]), " = ",
                         product([number(f.value) for f in chain]), " = ", number(value)))
        doc.append(Part("line", tuple(rows)))
        doc.append(Part("line", (("sum = ", number(e.path_sum)),)))
    else:
        doc.append(Part("section", ((
            f"accumulated form (what backpropagation computes; {e.num_paths} paths: more "
            f"than {MAX_PATHS}, not listed)",),)))
        acc = e.accumulated
        shown = acc if len(acc) <= 41 else acc[:40] + acc[-1:]     # and the input's, last
        doc.append(Part("line", tuple(
            (partial(out_m, word(n, tex_name(n))), " = Σ over its uses ȳ · ∂y/∂", n, " = ",
             number(value)) for n, value in shown)))
    if e.locals:
        doc.append(Part("table", tuple((f.symbol, f.formula, f.numbers, number(f.value))
                                       for f in e.locals),
                        ("local derivative", "formula", "numbers", "value")))
    doc.append(Part("section", (("check",),)))
    rows = [("compiled backward pass", number(e.gradient), "")]
    if e.paths:
        rows.insert(0, ("this derivation", number(e.path_sum), ""))
    rows.append(("central difference", number(e.finite_difference),
                 f"difference {abs(e.finite_difference - e.gradient):.2g}"))
    doc.append(Part("table", tuple(rows), ("", "", "")))
    return doc
