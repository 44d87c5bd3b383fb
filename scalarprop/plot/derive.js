// The derivation of one weight's (or node's) gradient for one example, as
// scalarprop.explain writes it (slides 30-56), worked out from the node values the page holds.
// It follows explain/__init__.py rule by rule (the local derivatives, the paths, the
// accumulated form, the gradient-descent reading) and prints the same text; the page checks
// itself against explain's own text when it opens, and the browser tests hold it to explain
// at other steps and examples.
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

// -- the result: chain, paths, accumulated form, checks, reading (explain's result()) --
Derivation.prototype.result = function () {
  const numPaths = this.countPaths();
  const r = { start: this.start, isParam: !!this.pos, numPaths, paths: [], pathSum: null };
  if (numPaths <= MAX_PATHS) {
    for (const edges of this.enumeratePaths(MAX_PATHS)) {
      const factors = edges.slice().reverse().map((e) => e.f());
      const shown = [edges[0].nodes[0]].concat(edges.map((e) => e.nodes[e.nodes.length - 1]));
      r.paths.push({ factors, value: factors.reduce((p, f) => p * f.value, 1),
                     symbols: shown.map((n) => this.sym(n)) });
    }
    r.complete = r.paths.length === numPaths;     // a path through a unit in a gap is not held
    if (r.complete) r.pathSum = r.paths.reduce((s, p) => s + p.value, 0);
  }
  // the chain: walk up while the path does not split; then the accumulated ∂l/∂node
  const chain = [];
  let node = this.start, branch = null;
  while (node !== "loss") {
    const edges = this.up(node);
    if (edges.length !== 1) { branch = node; break; }
    chain.push(edges[0].f());
    node = edges[0].nodes[edges[0].nodes.length - 1];
  }
  if (branch !== null) {
    const [letter, l] = unit(branch), s = this.sym(branch);
    const a = letter === "k" ? "y" : this.layerSym("k", l + 1), g = this.grad(branch);
    chain.push({ symbol: `∂l/∂${s}`, formula: `Σₘ ∂l/∂${a}ₘ·∂${a}ₘ/∂${s}`, numbers: num(g),
                 value: g, nodes: [branch, "loss"], kind: "accumulated",
                 note: `summed over ${numPaths} paths`, sign: sign(g) });
  }
  chain.reverse();
  r.chain = chain; r.branch = branch;
  r.product = chain.reduce((p, f) => p * f.value, 1);
  if (this.pos) {
    const acc = this.accumulate();
    r.accumulated = acc.steps;
    r.gradient = r.pathSum !== null ? r.pathSum : acc.g;
  } else {
    r.accumulated = [];
    r.gradient = r.pathSum !== null ? r.pathSum : this.grad(this.start);
  }
  r.outputs = this.outputs();
  r.context = chain[0].kind === "accumulated"
    ? r.outputs.map(([why, node, d]) => `${why}: l wants ${node} ${{ 1: "up", "-1": "down", 0: "where it is" }[d]}`)
    : [];
  r.reading = this.reading(chain, r.paths, r.gradient, this.sym(this.start), numPaths, r.outputs,
                           r.complete !== false);
  return r;
};

// ∂l/∂node layer by layer from the loss down (slides 45-46), down to the weight's layer
Derivation.prototype.accumulate = function () {
  const net = this.st.net, L = this.L, held = this.st.held, steps = [];
  const lossGrad = { squared: "2(y − t)", absolute: "sign(y − t)", hinge: "−t·[ty < 1]",
                     bce: "y − t", ce: "y − onehot(t)" }[net.loss];
  const outGrad = { softmax: "Σⱼ ∂l/∂yⱼ · yⱼ(δⱼₘ − yₘ)", sigmoid: "∂l/∂y ⊙ y(1 − y)" };
  const layer = (kind, l) => Object.assign(held[l].map((j) => this.grad(`${kind}${l}[${j}]`)),
                                           { total: net.sizes[l] });
  const zs = this.layerSym("k", L);
  if (this.logits) steps.push({ symbol: `∂l/∂${zs}`, formula: lossGrad, values: layer("k", L) });
  else {
    steps.push({ symbol: "∂l/∂y", formula: lossGrad, values: layer("h", L) });
    if (outGrad[net.output])
      steps.push({ symbol: `∂l/∂${zs}`, formula: outGrad[net.output], values: layer("k", L) });
  }
  const [, l0, j0, i0] = this.pos;
  const act = { sigmoid: (h) => `${h}(1 − ${h})`, tanh: (h) => `1 − ${h}²`,
                relu: (h, k) => `[${k} > 0]`, identity: () => "1" }[net.hidden];
  for (let l = L - 1; l > l0; l--) {
    const above = this.layerSym("k", l + 1), hs = this.layerSym("h", l), ks = this.layerSym("k", l);
    let sum;
    if (this.lecture) sum = this.K === 1 ? `∂l/∂${above} · vⱼ` : `Σₘ ∂l/∂${above}ₘ · vⱼₘ`;
    else sum = `Σₘ ∂l/∂${above}ₘ · W${sup(`(${l + 1})`)}ₘⱼ`;
    let terms = "";
    if (l === l0 + 1) {                   // the unit on the weight's chain, its sum written out
      const parts = held[l + 1].map((m) => `${paren(this.grad(`k${l + 1}[${m}]`))}·${paren(this.param(`W${l}[${m},${j0}]`))}`);
      const gap = held[l + 1].length < net.sizes[l + 1] ? " (drawn units only)" : "";
      const shown = parts.slice(0, 8).join(" + ") + (parts.length > 8 || gap ? " + …" : "") + gap;
      terms = `${this.sym(`h${l}[${j0}]`)} = ${shown} = ${num(this.grad(`h${l}[${j0}]`))}`;
    }
    steps.push({ symbol: `∂l/∂${hs}`, formula: sum, values: layer("h", l), terms });
    steps.push({ symbol: `∂l/∂${ks}`, formula: `∂l/∂${hs} ⊙ ${wrap(act(hs, ks))}`, values: layer("k", l) });
  }
  const dk = this.grad(`k${l0 + 1}[${j0}]`);
  const src = i0 === null ? 1.0 : this.value(this.hNode(l0, i0));
  const g = dk * src;
  const srcs = i0 === null ? "1" : this.sym(this.hNode(l0, i0));
  steps.push({ symbol: `∂l/∂${this.sym(this.start)}`,
               formula: `∂l/∂${this.sym(`k${l0 + 1}[${j0}]`)} · ${srcs}`, values: [g],
               terms: `= ${paren(dk)} · ${paren(src)} = ${num(g)}` });
  return { steps, g };
};

// per output: what is wrong, the node the loss reads, which way l wants it (slides 47-48)
Derivation.prototype.outputs = function () {
  const net = this.st.net, L = this.L, out = [];
  for (const m of this.st.held[L]) {
    const y = this.value(`h${L}[${m}]`), ys = this.sym(`h${L}[${m}]`);
    const zs = this.sym(`k${L}[${m}]`), t = this.target(m);
    if (net.loss === "squared" || net.loss === "absolute") {
      const ts = this.tSym(m);
      if (y === t) out.push([`${ys} = ${ts} = ${num(y)}: no error`, ys, 0]);
      else {
        const hi = y > t;
        out.push([`${ys} = ${num(y)} is ${hi ? "above" : "below"} ${ts} = ${num(t)} (output too ${hi ? "high" : "low"})`, ys, hi ? -1 : 1]);
      }
    } else if (net.loss === "hinge") {
      if (1 - t * y > 0) out.push([`t·y = ${num(t * y)} < 1: the margin is not met, y should move toward t = ${num(t)}`, ys, sign(t)]);
      else out.push([`t·y = ${num(t * y)} ≥ 1: the margin is met, the hinge is flat and this example teaches nothing`, ys, 0]);
    } else if (net.loss === "bce") {
      const hi = y > t;
      out.push([`${ys} = σ(${zs}) = ${num(y)} is the predicted probability, target ${num(t)} (too ${hi ? "high" : "low"})`, zs, hi ? -1 : 1]);
    } else if (Math.trunc(t) === m) {
      out.push([`${ys} = ${num(y)} is the probability of the true class (t = ${Math.trunc(t)}), below 1`, zs, 1]);
    } else out.push([`${ys} = ${num(y)} is probability given to a wrong class`, zs, -1]);
  }
  return out;
};

// slides 47-53: which way the loss wants each node on the chain to move, from the top down
Derivation.prototype.reading = function (chain, paths, g, w, numPaths, outputs, complete) {
  const lines = [], top = chain[0];
  let lower = this.sym(top.nodes[0]), want = -top.sign;
  if (top.kind === "accumulated")
    lines.push(`summed over the ${numPaths} paths, ${top.symbol} = ${num(top.value)} ${CMP[top.sign]}: l wants ${lower} ${ARROW[want]}`);
  else {
    const m = unit(top.nodes[0])[2], o = outputs.find((_, i) => this.st.held[this.L][i] === m);
    lines.push(`${o[0]}, ${top.symbol} = ${top.formula} = ${num(top.value)} ${CMP[top.sign]}: l wants ${lower} ${ARROW[want]}`
               + (top.note && top.sign === 0 ? ` (${top.note})` : ""));
  }
  for (const f of chain.slice(1)) {
    if (want === 0) break;
    const upper = this.sym(f.nodes[f.nodes.length - 1]);
    lower = this.sym(f.nodes[0]);
    const value = `${f.symbol} = ${f.formula}` + (f.formula === num(f.value) ? "" : ` = ${num(f.value)}`);
    if (f.sign === 0) {
      lines.push(value + (f.note ? ` (${f.note})` : "") + `: moving ${lower} does not move ${upper}, nothing flows back`);
      want = 0;
      break;
    }
    const next = want * f.sign, why = f.note || (f.sign < 0 ? "the sign flips" : "");
    lines.push(`${upper} ${ARROW[want]} needs ${lower} ${ARROW[next]}: ${value} ${CMP[f.sign]}` + (why ? ` (${why})` : ""));
    want = next;
  }
  if (paths.length > 1) {
    const nUp = paths.filter((p) => p.value < 0).length, nDown = paths.filter((p) => p.value > 0).length;
    const which = complete ? "" : ` (the ${paths.length} through drawn units)`;
    lines.push(`path by path${which}: ${nUp} of ${paths.length} push ${w} up, ${nDown} push it down, ${paths.length - nUp - nDown} are blocked (0); their sum decides`);
  }
  if (!this.pos) return lines;
  if (g === 0) lines.push(`∂l/∂${w} = 0: ${w} ← ${w} − α·0, ${w} stays where it is`);
  else lines.push(`so ${w} ← ${w} − α·${paren(g)}${g < 0 ? ` = ${w} + α·${num(-g)}` : ""}: ${w} ${g < 0 ? "increases" : "decreases"}`);
  return lines;
};

// -- the text, as explain's Explanation.__str__ prints it --
function derivationText(store, r, s, e) {
  const d = new Derivation(store, r.start, s, e), w = d.sym(r.start), ex = store.examples[e];
  const L = d.L, y = store.held[L].map((m) => d.value(`h${L}[${m}]`));
  const lecture = store.lecture[r.start];
  const what = r.isParam ? `parameter ${r.start}${lecture ? `, lecture name ${lecture}` : ""}`
    : `node ${r.start}`;
  const value = r.isParam ? d.param(r.start) : d.value(r.start);
  const out = [`∂l/∂${w} for one example (${w} = ${what}; value ${num(value)})`,
               `  ${store.net.network}`,
               `  x = ${vec(ex.x)}, t = ${vec(ex.t)}  →  y = ${vec(y)}, loss = ${num(store.loss(s, e))}`, ""];
  const head = `∂l/∂${w}`, pad = " ".repeat(head.length), single = r.branch === null;
  const from = r.isParam ? "weight" : "node";
  out.push(single ? `chain rule (one path from the ${from} to the loss)`
    : `chain rule (${r.numPaths} paths; they split at ${d.sym(r.branch)})`);
  out.push(`  ${head} = ` + r.chain.map((f) => f.symbol).join(" · "),
           `  ${pad} = ` + r.chain.map((f) => wrap(f.formula)).join(" · "),
           `  ${pad} = ` + r.chain.map((f) => wrap(f.numbers)).join(" · "),
           `  ${pad} = ` + r.chain.map((f) => paren(f.value)).join(" · "),
           `  ${pad} = ${num(r.product)}`, "");
  out.push(...table(["local derivative", "formula", "value", "sign", ""],
    r.chain.map((f) => [f.symbol, f.formula, num(f.value), "+−0"[[1, -1, 0].indexOf(f.sign)], f.note])));
  if (r.paths.length && !single) {
    const held = r.complete ? "" : ` (${r.paths.length} through the units drawn; the rest are in a gap)`;
    out.push("", `every path (multivariate chain rule: the sum over paths of the product of local derivatives), ${r.numPaths} paths${held}`);
    r.paths.forEach((p, i) => out.push(`  ${String(i + 1).padStart(2)}. ${p.symbols.join(" → ")}:  `
      + p.factors.map((f) => wrap(f.formula)).join(" · ") + " = "
      + p.factors.map((f) => paren(f.value)).join(" · ") + ` = ${num(p.value)}`));
    if (r.complete) out.push(`  sum = ${num(r.pathSum)}`);
  }
  if (!single && r.isParam) {
    const why = r.paths.length ? "" : ` (${r.numPaths} paths: more than ${MAX_PATHS}, not listed)`;
    out.push("", `accumulated form (what backpropagation computes)${why}`);
    for (const st of r.accumulated) {
      out.push(`  ${st.symbol} = ${st.formula} = ${vec(st.values, st.values.total)}`);
      if (st.terms) out.push(`      ${st.terms}`);
    }
  }
  out.push("", "check", ...table(null, checkRows(store, r, s, e)));
  out.push("", "gradient descent (slides 47-53)");
  out.push(...r.context.map((l) => `  ${l}`), ...r.reading.map((l) => `  - ${l}`));
  return out.join("\n");
}

function checkRows(store, r, s, e) {
  const g = r.gradient;
  const how = r.complete === false ? " (accumulated form)" : "";
  const rows = [[`this derivation${how}`, num(g, 12), ""]];
  if (!r.isParam) {
    const b = store.grad(r.start, s, e);
    rows.push([`${store.engine} engine's backward pass`, num(b, 12), `difference ${num(Math.abs(b - g), 2)}`]);
    return rows;
  }
  const c = store.check(r.start, s, e);
  if (!c) {
    rows.push(["engines and finite difference", "", `recorded every ${store.checkEvery} steps (step ${s - s % store.checkEvery} and ${s - s % store.checkEvery + store.checkEvery})`]);
    return rows;
  }
  rows.push(["scalar engine", num(c.scalar, 12), `difference ${num(Math.abs(c.scalar - g), 2)}`]);
  rows.push(["vectorized engine", num(c.vectorized, 12), `difference ${num(Math.abs(c.vectorized - g), 2)}`]);
  let note = `difference ${num(Math.abs(c.fd - g), 2)}`;
  if (c.kink) note += `; a kink within ±eps: one-sided ${num(c.kink[0], 6)} | ${num(c.kink[1], 6)}`;
  rows.push([`central difference, eps ${fmtG(store.eps, 6)}`, num(c.fd, 12), note]);
  return rows;
}
