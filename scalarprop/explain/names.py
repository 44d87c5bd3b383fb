"""Names: which parameter (slides 41-45 name them ``w_ij``, ``b_j``, ``v_j``, ``c``) and which
node of the computation graph.

Naming a parameter
    * its name in the network, ``"W0[1,0]"``, ``"b1[0]"`` (zero-based, see
      :meth:`MLP.param_index`), or its flat index (an int, or a string of digits such as
      ``"5"`` as the command line passes it);
    * for a network with one hidden layer, the lecture's notation (one-based)::

          w_ij  "w12"  input i to hidden j        = W0[j-1, i-1]   ("w12" = W0[1,0])
          b_j   "b2"   bias of hidden j           = b0[j-1]
          v_j   "v2"   hidden j to the output     = W1[0, j-1]     (one output)
          v_jm  "v21"  hidden j to output m       = W1[m-1, j-1]   (several outputs)
          c     "c"    the output's bias          = b1[0]          (one output)
          c_m   "c1"   output m's bias            = b1[m-1]        (several outputs)

      With several outputs ``"v2"`` and ``"c"`` are refused (name the output). Indices above 9
      need a comma (``"w1,12"``); ``"w_{1,2}"`` and ``"w1,2"`` are accepted everywhere.

Node identifiers: the one scheme that :func:`scalarprop.explain`, :func:`scalarprop.draw`, the
engines' ``nodes(net, X, T)`` and the explorer page share. A unit's identifier is the engine's
key for its layer with the unit's zero-based index, so ``nodes(net, X, T)["h1"][n, 2]`` is the
value of node ``"h1[2]"``:

* ``"x[i]"`` an input;
* ``"k{l}[j]"`` and ``"h{l}[j]"`` the pre-activation and activation of unit ``j`` of layer
  ``l = 1..L``; the last layer's ``"h{L}[m]"`` is the output ``y_m``, ``"k{L}[m]"`` its logit;
* ``"t[m]"`` a target (``"t[0]"`` the class index for ``ce``) and ``"loss"`` the loss;
* a parameter by its name (``"W0[1,0]"``, ``"b1[0]"``).
"""

from __future__ import annotations

import re

import numpy as np

from ..network import MLP

_UNIT = re.compile(r"(x|t|[kh](\d+))\[(\d+)\]")


def k_node(l: int, j: int) -> str:
    """Unit j's pre-activation in layer l (1..L)."""
    return f"k{l}[{j}]"


def h_node(l: int, j: int) -> str:
    """Unit j's activation in layer l (1..L; the output at L), or input j for l = 0."""
    return f"x[{j}]" if l == 0 else f"h{l}[{j}]"


def parse_unit(node: str) -> tuple[str, int, int]:
    """A unit's identifier as ``(letter, layer, index)``: ``"h1[2]"`` -> ``("h", 1, 2)``,
    ``"x[0]"`` -> ``("x", 0, 0)``, ``"t[1]"`` -> ``("t", 0, 1)``. A ValueError otherwise."""
    m = _UNIT.fullmatch(node)
    if m is None:
        raise ValueError(f"node={node!r}: not a unit's identifier (x[i], k1[j], h1[j], t[m])")
    letter = m.group(1)[0]
    return letter, int(m.group(2) or 0), int(m.group(3))


_LECTURE = re.compile(r"\s*([wvbc])_?\{?\s*(\d*)\s*(?:,\s*(\d+))?\s*\}?\s*")


def parse_weight(net: MLP, weight: str | int) -> int:
    """The flat index of a parameter named as :func:`~scalarprop.explain.explain` accepts it:
    a parameter name (``"W0[1,0]"``), a flat index (``5`` or ``"5"``), or the lecture's
    ``"w12"``, ``"b2"``, ``"v2"``, ``"c"`` for a network with one hidden layer. A ValueError
    that lists the valid names otherwise."""
    if isinstance(weight, str) and weight.strip().isdigit():
        weight = int(weight)
    if isinstance(weight, (int, np.integer)) and not isinstance(weight, bool):
        if not 0 <= weight < net.num_params:
            raise ValueError(f"weight={weight!r}: flat index out of range [0, "
                             f"{net.num_params}); {valid_names(net)}")
        index = int(weight)
    elif not isinstance(weight, str):
        raise ValueError(f"weight={weight!r}: expected a parameter name such as 'W0[1,0]'; "
                         f"{valid_names(net)}")
    elif "[" in weight:
        try:
            index = net.param_index(weight)
        except ValueError as exc:
            raise ValueError(f"weight={weight!r}: {exc}; {valid_names(net)}") from None
    else:
        index = _lecture_index(net, weight)
    return index


def valid_names(net: MLP) -> str:
    """The names ``explain`` accepts for this network, summarised range by range."""
    parts = []
    for l in range(net.num_layers):
        n_out, n_in = net.sizes[l + 1], net.sizes[l]
        parts.append(f"W{l}[0,0] … W{l}[{n_out - 1},{n_in - 1}]" if n_out * n_in > 1
                     else f"W{l}[0,0]")
        parts.append(f"b{l}[0] … b{l}[{n_out - 1}]" if n_out > 1 else f"b{l}[0]")
    text = "valid names: " + ", ".join(parts) + f" (or a flat index 0..{net.num_params - 1})"
    if net.num_layers == 2:
        d, H, K = net.sizes
        lec = [f"w{_lec_idx(1, 1)} … w{_lec_idx(d, H)} (input i to hidden j)",
               f"b1 … b{H}" if H > 1 else "b1"]
        if K == 1:
            lec += [f"v1 … v{H}" if H > 1 else "v1", "c"]
        else:
            lec += [f"v{_lec_idx(1, 1)} … v{_lec_idx(H, K)} (hidden j to output m)",
                    f"c1 … c{K}"]
        text += "; lecture notation, one-based: " + ", ".join(lec)
    return text


def _lec_idx(*idx: int) -> str:
    return ("," if max(idx) > 9 else "").join(str(i) for i in idx)


def lecture_name_of(net: MLP, weight: int | str) -> str | None:
    """The lecture's name (``"w12"``) of a parameter of a network with one hidden layer, by
    flat index or by name (``"W0[1,0]"``); None for other depths."""
    if net.num_layers != 2:
        return None
    one = net.sizes[2] == 1
    kind, l, j, i = net.param_position(net.param_index(weight) if isinstance(weight, str)
                                       else weight)
    if l == 0:
        return "w" + _lec_idx(i + 1, j + 1) if kind == "W" else f"b{j + 1}"
    if kind == "W":
        return f"v{i + 1}" if one else "v" + _lec_idx(i + 1, j + 1)
    return "c" if one else f"c{j + 1}"


def _flat(net: MLP, l: int, j: int, i: int | None = None) -> int:
    """The flat index of ``W{l}[j,i]``, or of ``b{l}[j]`` when ``i`` is None (in range)."""
    w, b = net.layer_slices(l)
    return b.start + j if i is None else w.start + j * net.sizes[l] + i


def _split(text: str, second: str | None, limits: tuple[int, int]) -> list[tuple[int, int]]:
    """The readings of ``"12"`` (or ``"1", "2"``) as two one-based indices within limits."""
    if second is not None:
        cands = [(int(text), int(second))] if text else []
    else:
        cands = [(int(text[:s]), int(text[s:])) for s in range(1, len(text))
                 if text[s] != "0"]
    return [(a, b) for a, b in cands if 1 <= a <= limits[0] and 1 <= b <= limits[1]]


def _lecture_index(net: MLP, name: str) -> int:
    m = _LECTURE.fullmatch(name)
    if m is None:
        raise ValueError(f"weight={name!r}: not a parameter name; {valid_names(net)}")
    if net.num_layers != 2:
        raise ValueError(f"weight={name!r}: the lecture's names (w12, b2, v2, c) are for a "
                         f"network with one hidden layer, this one has sizes {net.sizes}; "
                         f"{valid_names(net)}")
    d, H, K = net.sizes
    letter, a, b = m.group(1), m.group(2), m.group(3)

    def bad(why: str) -> ValueError:
        return ValueError(f"weight={name!r}: {why}; {valid_names(net)}")

    def pair(limits: tuple[int, int], what: str) -> tuple[int, int]:
        if not a:
            raise bad(f"{letter} needs two indices ({what})")
        found = _split(a, b, limits)
        if not found:
            raise bad(f"out of range: {what}, with {limits[0]} and {limits[1]} units")
        if len(found) > 1:
            raise bad("ambiguous, write it with a comma: "
                      + " or ".join(f"{letter}{i},{j}" for i, j in found))
        return found[0]

    def single(limit: int, what: str) -> int:
        if not a or b is not None:
            raise bad(f"{letter} takes one index ({what})")
        i = int(a)
        if not 1 <= i <= limit:
            raise bad(f"out of range: {what} runs 1..{limit}")
        return i

    if letter == "w":
        i, j = pair((d, H), f"input i = 1..{d} to hidden j = 1..{H}")
        return _flat(net, 0, j - 1, i - 1)
    if letter == "b":
        return _flat(net, 0, single(H, f"hidden j = 1..{H}") - 1)
    if letter == "v":
        if K == 1:
            if b is not None:                    # "v2,1": hidden 2 to output 1 of 1
                if int(b) != 1:
                    raise bad("this network has one output: v_j or v_j,1")
                b = None
            return _flat(net, 1, 0, single(H, f"hidden j = 1..{H}") - 1)
        if a and b is None and len(a) == 1:
            raise bad(f"this network has {K} outputs: name the output too, v{a}1 = hidden "
                      f"{a} to output 1")
        j, mm = pair((H, K), f"hidden j = 1..{H} to output m = 1..{K}")
        return _flat(net, 1, mm - 1, j - 1)
    # c
    if K == 1:
        if a and not (a == "1" and b is None):
            raise bad("this network has one output: its bias is c")
        return _flat(net, 1, 0)
    if not a:
        raise bad(f"this network has {K} outputs: name the output, c1 … c{K}")
    return _flat(net, 1, single(K, f"output m = 1..{K}") - 1)
