"""The scalar operations a traced function is made of: their codes, their values and their
local derivatives, in plain Python (constant folding and the readable source use them; the
kernels in :mod:`tape` repeat them over arrays).

Every operation ``y = op(x₁, x₂, ...)`` brings the local derivatives ``∂y/∂xᵢ`` of slide 35;
backpropagation (slide 30) only multiplies and sums them.
"""

from __future__ import annotations

import math

# codes; INPUT and CONST are leaves (slots filled before the walk), the rest are instructions
INPUT, CONST = 0, 1
ADD, SUB, MUL, DIV, NEG, POW = 2, 3, 4, 5, 6, 7
EXP, LOG, SIN, COS, TANH, SIGMOID, RELU, ABS = 8, 9, 10, 11, 12, 13, 14, 15
DOT, WHERE, GT, GE = 16, 17, 18, 19

NAMES = {INPUT: "input", CONST: "const", ADD: "+", SUB: "-", MUL: "*", DIV: "/", NEG: "neg",
         POW: "**", EXP: "exp", LOG: "log", SIN: "sin", COS: "cos", TANH: "tanh",
         SIGMOID: "sigmoid", RELU: "relu", ABS: "abs", DOT: "dot", WHERE: "where", GT: ">",
         GE: ">="}
UNARY = (NEG, POW, EXP, LOG, SIN, COS, TANH, SIGMOID, RELU, ABS)
BINARY = (ADD, SUB, MUL, DIV, GT, GE)
COMMUTATIVE = (ADD, MUL)          # IEEE + and * are exactly commutative: CSE may sort them


def sigmoid(k: float) -> float:
    """σ(k) in the form that cannot overflow for either sign of k."""
    e = math.exp(-abs(k))
    return 1.0 / (1.0 + e) if k >= 0 else e / (1.0 + e)


def evaluate(op: int, x: tuple[float, ...], c: float = 0.0) -> float:
    """The value of one operation on numbers (constant folding). ``c``: the exponent of POW.
    Python raises where the kernels would give inf or NaN (1/0, log 0): callers that fold
    constants leave such an operation to the kernel."""
    if op == ADD:
        return x[0] + x[1]
    if op == SUB:
        return x[0] - x[1]
    if op == MUL:
        return x[0] * x[1]
    if op == DIV:
        return x[0] / x[1]
    if op == NEG:
        return -x[0]
    if op == POW:
        return x[0] ** c
    if op == EXP:
        return math.exp(x[0])
    if op == LOG:
        return math.log(x[0])
    if op == SIN:
        return math.sin(x[0])
    if op == COS:
        return math.cos(x[0])
    if op == TANH:
        return math.tanh(x[0])
    if op == SIGMOID:
        return sigmoid(x[0])
    if op == RELU:
        return x[0] if x[0] > 0.0 else 0.0
    if op == ABS:
        return abs(x[0])
    if op == GT:
        return 1.0 if x[0] > x[1] else 0.0
    if op == GE:
        return 1.0 if x[0] >= x[1] else 0.0
    if op == WHERE:
        return x[1] if x[0] != 0.0 else x[2]
    if op == DOT:
        s = 0.0
        for m in range(0, len(x), 2):
            s += x[m] * x[m + 1]
        return s
    raise ValueError(f"unknown operation code {op}")


#: the local derivative of each unary op, as the readable source writes it (x: the input,
#: y: the output; POW's is worked out in source.py)
LOCAL = {NEG: "-1", EXP: "{y}", LOG: "1 / {x}",
         SIN: "cos({x})", COS: "-sin({x})", TANH: "(1 - {y} * {y})",
         SIGMOID: "{y} * (1 - {y})", RELU: "(1.0 if {x} > 0.0 else 0.0)", ABS: "sign({x})"}
