"""The derivation written out: one list of parts (:func:`parts`: the example, the chain rule,
the local derivatives, the paths or the accumulated form, the checks, the reading) and two
renderings of it, text for a terminal (:func:`render_text`, what ``str()`` prints) and Markdown
with TeX for a notebook (:func:`render_markdown`). Both say the same things because they write
the same parts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .notation import SIGN_MARK, Math, num, number, partial, product, symbol, tex_vec, vec, word

if TYPE_CHECKING:
    from .result import Explanation


@dataclass(frozen=True)
class Code:
    """A name as it is typed (``W0[1,0]``)."""
    text: str


Cell = str | Math | Code


@dataclass(frozen=True)
class Part:
    """One part of the derivation. ``kind``: ``title`` (one line of cells), ``section`` (a
    heading), ``line`` (one line of cells), ``chain`` (``rows[0][0] = rows[1][0] = …``, an
    equation over several lines), ``table`` (``header`` and ``rows``), ``items`` (a list, each
    row one item), ``detail`` (a line set in under the part before it)."""

    kind: str
    rows: tuple[tuple[Cell, ...], ...] = ()
    header: tuple[str, ...] = ()


def _line(*cells: Cell) -> tuple[Cell, ...]:
    return cells


def parts(e: Explanation) -> list[Part]:
    """The derivation, top down: the example, the chain rule, its local derivatives, the
    paths or the accumulated form, the checks and the gradient-descent reading."""
    w = word(e.symbol, e.latex)
    alias = f", lecture name {e.lecture_name}" if e.lecture_name else ""
    out = [Part("title", (_line(partial(symbol("l"), w), " for one example (", w,
                                " = parameter ", Code(e.weight), f"{alias}; value ",
                                number(e.value), ")"),)),
           Part("line", (_line(e.network),
                         _line(word("x = " + vec(e.x), "x = " + tex_vec(e.x)), ", ",
                               word("t = " + vec(e.t), "t = " + tex_vec(e.t)), "  →  ",
                               word("y = " + vec(e.y), "y = " + tex_vec(e.y)), ", loss = ",
                               number(e.loss))))]
    several = e.branch is not None
    branch = e.symbols.get(str(e.branch), str(e.branch))
    out.append(Part("section", (_line(
        f"chain rule ({e.num_paths} paths; they split at {branch})" if several
        else "chain rule (one path from the weight to the loss)"),)))
    factors = e.factors
    out.append(Part("chain", (
        _line(partial(symbol("l"), w)),
        _line(product([word(f.symbol, f.latex_symbol) for f in factors], " · ", r" \, ")),
        _line(product([word(f.formula, f.latex_formula) for f in factors])),
        _line(product([word(f.numbers, f.latex_numbers) for f in factors])),
        _line(product([number(f.value) for f in factors])),
        _line(number(e.product)))))
    out.append(Part("table", tuple(
        _line(word(f.symbol, f.latex_symbol), word(f.formula, f.latex_formula), num(f.value),
              SIGN_MARK[f.sign], f.note) for f in factors),
        ("local derivative", "formula", "value", "sign", "")))
    if e.paths and several:
        out.append(Part("section", (_line(
            f"every path (multivariate chain rule: the sum over paths of the product of local "
            f"derivatives), {e.num_paths} paths"),)))
        out.append(Part("line", tuple(
            _line(f"{i:>2}. {' → '.join(p.symbols)}:  ",
                  product([word(f.formula, f.latex_formula) for f in p.factors]), " = ",
                  product([number(f.value) for f in p.factors]), " = ", number(p.value))
            for i, p in enumerate(e.paths, 1))))
        out.append(Part("line", (_line("sum = ", number(e.path_sum)),)))
    if several:
        why = ("" if e.paths else
               f" ({e.num_paths} paths: more than {e.max_paths}, not listed)")
        out.append(Part("section", (_line(
            f"accumulated form (what backpropagation computes){why}"),)))
        for s in e.accumulated:
            out.append(Part("line", (_line(word(
                f"{s.symbol} = {s.formula} = {vec(s.values)}",
                f"{s.latex_symbol} = {s.latex_formula} = {tex_vec(s.values)}")),)))
            if s.terms:
                out.append(Part("detail", (_line(s.terms),)))
    out.append(Part("section", (_line("check"),)))
    rows = [_line("this derivation", num(e.gradient, 12), "")]
    for name, v in e.engines.items():
        rows.append(_line(f"{name} engine", num(v, 12),
                          f"difference {num(abs(v - e.gradient), 2)}"))
    fd_note = f"difference {num(abs(e.finite_difference - e.gradient), 2)}"
    if e.at_kink:
        fd_note += (f"; a kink within ±eps: one-sided {num(e.one_sided[0])} | "
                    f"{num(e.one_sided[1])}")
    rows.append(_line(f"central difference, eps {e.eps:g}", num(e.finite_difference, 12),
                      fd_note))
    out.append(Part("table", tuple(rows), ("", "", "")))
    out.append(Part("section", (_line("gradient descent (slides 47-53)"),)))
    if e.context:
        out.append(Part("line", tuple(_line(c) for c in e.context)))
    out.append(Part("items", tuple(_line(r) for r in e.reading)))
    return out


def _text(cell: Cell) -> str:
    return cell if isinstance(cell, str) else cell.text


def _tex(cell: Cell) -> str:
    return cell.tex if isinstance(cell, Math) else _text(cell)


def _markdown(cell: Cell) -> str:
    if isinstance(cell, Math):
        return f"${cell.tex}$"
    if isinstance(cell, Code):
        return f"`{cell.text}`"
    return cell


def render_text(doc: list[Part]) -> str:
    """The derivation for a terminal: aligned columns, the chain over several lines."""
    out: list[str] = []
    for part in doc:
        lines = ["".join(_text(c) for c in row) for row in part.rows]
        if part.kind == "title":
            out += lines
        elif part.kind == "section":
            out += [""] + lines
        elif part.kind == "line":
            out += ["  " + line for line in lines]
        elif part.kind == "items":
            out += ["  - " + line for line in lines]
        elif part.kind == "detail":
            out += ["      " + line for line in lines]
        elif part.kind == "chain":
            pad = " " * len(lines[0])
            out.append(f"  {lines[0]} = {lines[1]}")
            out += [f"  {pad} = {line}" for line in lines[2:]] + [""]
        else:                                                       # table
            rows = [tuple(_text(c) for c in row) for row in part.rows]
            if any(part.header):
                rows.insert(0, part.header)
            widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
            out += ["  " + "  ".join(cell.ljust(wd) for cell, wd in zip(r, widths)).rstrip()
                    for r in rows]
    return "\n".join(out)


def render_markdown(doc: list[Part]) -> str:
    """The derivation for a notebook: TeX in ``$…$``, tables, the chain as one equation."""
    out: list[str] = []
    for part in doc:
        lines = ["".join(_markdown(c) for c in row) for row in part.rows]
        if part.kind == "title":
            out += [f"**{line}**" for line in lines]
        elif part.kind == "section":
            out += [""] + [f"**{line}**" for line in lines] + [""]
        elif part.kind == "line":
            out += [f"{line}  " for line in lines]
        elif part.kind == "items":
            out += [f"- {line}" for line in lines]
        elif part.kind == "detail":
            out += [f"  - {line}" for line in lines]
        elif part.kind == "chain":
            equation = " = ".join(_tex(row[0]) for row in part.rows)
            out += ["", f"$${equation}$$", ""]
        else:
            out += ["", "| " + " | ".join(part.header) + " |",
                    "|" + "---|" * len(part.header)]
            out += ["| " + " | ".join(_markdown(c).replace("|", r"\|") for c in row) + " |"
                    for row in part.rows]
    text = "\n".join(out)
    while "\n\n\n" in text:                 # one blank line between blocks
        text = text.replace("\n\n\n", "\n\n")
    return text
