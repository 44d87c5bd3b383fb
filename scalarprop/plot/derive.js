// The derivation of one weight's (or node's) gradient for one example, as
// scalarprop.explain writes it (slides 30-56), worked out from the node values the page holds:
// numbers as explain prints them, the graph's local derivatives and its paths (explain's
// notation.py and paths.py, rule by rule; explain.js puts them together). The page checks
// itself against explain's own text when it opens, and the browser tests hold it to explain
// at other steps, examples and networks.
"use strict";

const SUB = "₀₁₂₃₄₅₆₇₈₉", SUP = { "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵",
  "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹", "(": "⁽", ")": "⁾" };
const MAX_PATHS = 64, SATURATED = 0.2;
const ARROW = { 1: "up", "-1": "down", 0: "unchanged" };
const CMP = { 1: "> 0", "-1": "< 0", 0: "= 0" };

// -- numbers as Python's f"{v:.6g}" prints them, with a real minus sign (explain's _num) --
function fmtG(v, digits) {
  if (v === 0) return "0";
  if (!isFinite(v)) return String(v);
  const a = Math.abs(v), sign = v < 0 ? "-" : "";
  const [mant, ex] = a.toExponential(digits - 1).split("e");
  const e = parseInt(ex, 10);
  const strip = (s) => (s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s);
  if (e >= -4 && e < digits) return sign + strip(a.toFixed(Math.max(0, digits - 1 - e)));
  return sign + strip(mant) + "e" + (e < 0 ? "-" : "+") + String(Math.abs(e)).padStart(2, "0");
}
function num(v, digits = 6) {
  if (v === null || v === undefined) return "—";
  if (v === 0) return "0";
  return fmtG(v, digits).replace(/-/g, "−");
}
function paren(v) { const s = num(v); return v < 0 ? `(${s})` : s; }
function wrap(s) {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if ("([{".includes(ch)) depth++;
    else if (")]}".includes(ch)) depth--;
    else if (depth === 0 && "−-+".includes(ch) && !(i > 0 && "e^_".includes(s[i - 1])))
      return `(${s})`;
  }
  return s;
}
// total: the layer's width, when the page holds only its drawn units (a gap)
function vec(a, total = a.length) {
  const items = a.slice(0, 8).map((v) => num(v));
  if (total > a.length) items.push(`… (the ${a.length} drawn of ${total} values)`);
  else if (a.length > 8) items.push(`… (${a.length} values)`);
  return total > 1 ? "[" + items.join(", ") + "]" : items[0];
}
// an example's input as the header shows it: its first 8 values and how many there are
function inputs(ex) {
  const head = [...Array(Math.min(8, ex.n)).keys()].map((i) => num(ex.x[i]));
  if (ex.n > 8) head.push(`… (${ex.n} values)`);
  return ex.n > 1 ? "[" + head.join(", ") + "]" : head[0];
}
function sign(v) { return v > 0 ? 1 : v < 0 ? -1 : 0; }
function sub(n) { return String(n).split("").map((d) => SUB[+d]).join(""); }
function sup(s) { return String(s).split("").map((c) => SUP[c]).join(""); }
function table(header, rows) {
  const all = (header ? [header] : []).concat(rows);
  const widths = all[0].map((_, c) => Math.max(...all.map((r) => r[c].length)));
  return all.map((r) => ("  " + r.map((cell, c) => cell.padEnd(widths[c])).join("  "))
    .replace(/\s+$/, ""));
}

// -- node identifiers: "x[i]", "k{l}[j]", "h{l}[j]" (h{L} is the output y), "loss" --
function unit(node) {
  const m = /^([kh])(\d+)\[(\d+)\]$/.exec(node) || /^(x)\[(\d+)\]$/.exec(node);
  if (!m) return null;
  return m[1] === "x" ? ["x", 0, +m[2]] : [m[1], +m[2], +m[3]];
}
function paramPos(name) {          // "W0[1,0]" -> ["W", 0, 1, 0]; "b1[0]" -> ["b", 1, 0, null]
  const m = /^([Wb])(\d+)\[(\d+)(?:,(\d+))?\]$/.exec(name);
  return m ? [m[1], +m[2], +m[3], m[4] === undefined ? null : +m[4]] : null;
}

// The numbers of one example at one step: values, ∂l/∂node, parameters (see page.js's Store).
class Derivation {
  constructor(store, start, s, e) {
    this.st = store; this.s = s; this.e = e; this.start = start;
    const n = store.net;
    this.L = n.sizes.length - 1; this.K = n.sizes[this.L];
    this.lecture = this.L === 2; this.fused = n.output === "identity";
    this.logits = n.loss === "bce" || n.loss === "ce";
    this.pos = paramPos(start);                    // null for a node
    this.upCache = new Map();
  }
  value(node) { return this.st.value(node, this.s, this.e); }
  grad(node) { return this.st.grad(node, this.s, this.e); }
  param(name) { return this.st.param(name, this.s); }
  sym(node) {
    if (node === "loss") return "l";
    return this.st.symbols[node] || node;
  }
  tSym(m) { return this.K === 1 ? "t" : "t" + sub(m + 1); }
  hNode(l, j) { return l === 0 ? `x[${j}]` : `h${l}[${j}]`; }
  layerSym(letter, l) {
    if (l === 0) return "x";
    if (l === this.L) return letter === "h" || this.fused ? "y" : "z";
    return letter + (this.lecture ? "" : sup(`(${l})`));
  }
  target(m) { const t = this.st.examples[this.e].t; return t[this.st.net.loss === "ce" ? 0 : m]; }

  factor(nodes, kind, formula, numbers, value, note = "") {
    const lo = this.sym(nodes[0]), up = this.sym(nodes[nodes.length - 1]);
    return { symbol: `∂${up}/∂${lo}`, formula, numbers, value, nodes, kind, note,
             sign: sign(value) };
  }
  actFactor(nodes, name, k, h, kind) {
    const hs = this.sym(nodes[nodes.length - 1]), ks = this.sym(nodes[0]);
    const text = { sigmoid: (a) => `${a}(1 − ${a})`, tanh: (a) => `1 − ${a}²`,
                   relu: (a, b) => `[${b} > 0]`, identity: () => "1" }[name];
    const v = name === "sigmoid" ? h * (1.0 - h) : name === "relu" ? (k > 0 ? 1.0 : 0.0)
      : name === "tanh" ? 1.0 - h * h : 1.0;
    const peak = { sigmoid: 0.25, tanh: 1.0 }[name];
    let note = "";
    if (name === "relu") note = v ? "ReLU on (k > 0): passes the gradient"
      : "ReLU off (k ≤ 0): blocks this path";
    else if (name === "identity") note = "identity activation";
    else if (v < SATURATED * peak)
      note = `saturated ${name}, ${hs} = ${num(h)}: it resists change, the step shrinks ×${num(v, 2)}`;
    return this.factor(nodes, kind, text(hs, ks), text(paren(h), num(k)), v, note);
  }
  lossFactor(node, m) {
    const loss = this.st.net.loss, y = this.value(`h${this.L}[${m}]`), t = this.target(m);
    const ys = this.sym(`h${this.L}[${m}]`), ts = this.tSym(m), nodes = [node, "loss"];
    if (loss === "squared")
      return this.factor(nodes, "loss", `2(${ys} − ${ts})`, `2(${num(y)} − ${num(t)})`,
                         2.0 * (y - t));
    if (loss === "absolute") {
      const d = y - t;
      return this.factor(nodes, "loss", `sign(${ys} − ${ts})`, `sign(${num(y)} − ${num(t)})`,
                         d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0);
    }
    if (loss === "hinge") {
      const active = 1.0 - t * y > 0.0;
      return this.factor(nodes, "loss", `−${ts}·[${ts}${ys} < 1]`,
                         `−${paren(t)}·[${paren(t)}·${paren(y)} < 1]`, active ? -t : 0.0,
                         active ? "" : "margin met: the hinge is flat here");
    }
    if (loss === "bce")
      return this.factor(nodes, "loss", `${ys} − ${ts}`, `${num(y)} − ${num(t)}`, y - t,
                         `from the logit: ${ys} = σ(${this.sym(node)})`);
    const isT = Math.trunc(t) === m ? 1 : 0;                               // ce
    return this.factor(nodes, "loss", `${ys} − ${isT}`, `${num(y)} − ${isT}`, y - isT,
      `from the logits; output ${m + 1} is ${isT ? "the target class" : "not the target class"}`);
  }

  // the edges from a node one operation up, each with its local derivative (explain's up())
  up(node) {
    if (!this.upCache.has(node)) this.upCache.set(node, this.edgesUp(node));
    return this.upCache.get(node);
  }
  edgesUp(node) {
    const net = this.st.net, L = this.L, held = this.st.held;
    if (node === "loss" || node.startsWith("t[")) return [];
    if (this.pos && node === this.start) {                       // the parameter: into its k
      const [kind, l, j, i] = this.pos, kn = `k${l + 1}[${j}]`;
      const nodes = l + 1 === L && this.fused ? [node, kn, `h${L}[${j}]`] : [node, kn];
      if (kind === "b") return [{ nodes, f: () => this.factor(nodes, "bias", "1", "1", 1.0) }];
      const src = this.hNode(l, i);
      return [{ nodes, f: () => {
        const v = this.value(src), what = l === 0 ? "input" : "activation";
        const note = v < 0 ? `negative ${what}: flips the sign`
          : v === 0 ? `zero ${what}: the weight had no influence` : "";
        return this.factor(nodes, "input", this.sym(src), num(v), v, note);
      } }];
    }
    const [letter, l, j] = unit(node);
    if (letter === "k") {
      if (l < L) {
        const nodes = [node, `h${l}[${j}]`];
        return [{ nodes, f: () => this.actFactor(nodes, net.hidden, this.value(node),
                                                 this.value(nodes[1]), "activation") }];
      }
      if (this.logits) return [{ nodes: [node, "loss"], f: () => this.lossFactor(node, j) }];
      if (net.output === "softmax") {
        return held[L].map((jj) => {
          const nodes = [node, `h${L}[${jj}]`];
          return { nodes, f: () => {
            const yj = this.value(`h${L}[${jj}]`), ym = this.value(`h${L}[${j}]`);
            const a = this.sym(`h${L}[${jj}]`), b = this.sym(`h${L}[${j}]`);
            return jj === j
              ? this.factor(nodes, "output", `${a}(1 − ${a})`, `${num(yj)}(1 − ${num(yj)})`,
                            yj * (1.0 - yj), "softmax, same output")
              : this.factor(nodes, "output", `−${a}${b}`, `−${num(yj)}·${num(ym)}`, -yj * ym,
                            "softmax: every output depends on every logit");
          } };
        });
      }
      const nodes = [node, `h${L}[${j}]`];
      return [{ nodes, f: () => this.actFactor(nodes, net.output, this.value(node),
                                               this.value(nodes[1]), "output") }];
    }
    if (letter === "h" && l === L) return [{ nodes: [node, "loss"], f: () => this.lossFactor(node, j) }];
    // an input or a hidden activation: into every k of the next layer
    return held[l + 1].map((jj) => {
      const kn = `k${l + 1}[${jj}]`;
      const nodes = l + 1 === L && this.fused ? [node, kn, `h${L}[${jj}]`] : [node, kn];
      const name = `W${l}[${jj},${j}]`;
      return { nodes, param: name, f: () => {
        const v = this.param(name);
        return this.factor(nodes, "weight", this.sym(name), num(v), v,
                           v < 0 ? "negative weight: flips the sign" : "");
      } };
    });
  }

  // how many paths lead from the start to the loss (fully connected layers)
  countPaths() {
    const sizes = this.st.net.sizes;
    let n = this.st.net.output === "softmax" && !this.logits ? this.K : 1;
    const u = this.pos ? null : unit(this.start);
    if (!this.pos && !u) return 1;
    const l0 = this.pos ? this.pos[1] + 1 : u[1];
    for (let l = l0 + 1; l <= this.L; l++) n *= sizes[l];
    return this.start.startsWith(`h${this.L}[`) ? 1 : n;
  }
  enumeratePaths(limit) {
    const paths = [], walk = (node, sofar) => {
      if (paths.length > limit) return;
      if (node === "loss") { paths.push(sofar.slice()); return; }
      for (const e of this.up(node)) { sofar.push(e); walk(e.nodes[e.nodes.length - 1], sofar); sofar.pop(); }
    };
    walk(this.start, []);
    return paths;
  }
  // every (lower, upper) pair on some path to the loss, and the weights on them (to highlight)
  edgeSet() {
    const pairs = new Set(), params = new Set(), seen = new Set([this.start]);
    const frontier = [this.start];
    while (frontier.length) {
      const node = frontier.pop();
      for (const e of this.up(node)) {
        for (let i = 0; i + 1 < e.nodes.length; i++) pairs.add(e.nodes[i] + ">" + e.nodes[i + 1]);
        if (e.param) params.add(e.param);
        const top = e.nodes[e.nodes.length - 1];
        if (!seen.has(top)) { seen.add(top); frontier.push(top); }
      }
    }
    if (this.pos) params.add(this.start);
    return { pairs, params, nodes: seen };
  }
}
