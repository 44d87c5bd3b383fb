// The explorer page: the network as scalarprop.draw paints it, the derivation of what you
// click or hover (derive.js), the recorded SGD steps on a slider, an example picker.
"use strict";

function decode(b64, Type) {
  const bin = atob(b64), bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Type(bytes.buffer);
}
function fmt3(v) { const s = fmtG(v, 3); return s === "-0" ? "0" : s; }   // draw's fmt

// The numbers the page holds, by node identifier, step s and example e.
class Store {
  constructor(d) {
    Object.assign(this, { net: d.net, examples: d.examples, held: d.held, symbols: d.symbols,
                          lecture: d.lecture, steps: d.steps, engine: d.engine, order: d.order });
    this.E = d.examples.length; this.L = d.net.sizes.length - 1;
    this.P = decode(d.P, Float64Array); this.names = d.params;
    this.pcol = new Map(d.params.map((n, i) => [n, i]));
    this.lossArr = decode(d.loss, Float64Array);
    this.trainLoss = decode(d.train_loss, Float64Array);
    this.nodes = {};
    for (const k in d.nodes) this.nodes[k] = decode(d.nodes[k], Float64Array);
    this.upos = d.held.map((us) => new Map(us.map((u, i) => [u, i])));
    const c = d.checks;
    this.checkEvery = c.every; this.eps = c.eps;
    // float32 differences, and the values that need all their digits
    const packed = (p) => ({ diff: decode(p.diff, Float32Array), exact: new Map(p.exact) });
    this.cs = packed(c.scalar); this.cv = packed(c.vectorized); this.cf = packed(c.fd);
    this.kinks = new Map(c.kinks.map(([ci, e, p, b, f]) => [`${ci},${e},${p}`, [b, f]]));
  }
  param(name, s) { return this.P[s * this.names.length + this.pcol.get(name)]; }
  hasParam(name) { return this.pcol.has(name); }
  loss(s, e) { return this.lossArr[s * this.E + e]; }
  read(key, l, j, s, e) {
    const n = this.held[l].length;
    return this.nodes[key][(s * this.E + e) * n + this.upos[l].get(j)];
  }
  unitKey(node) {        // "k2[0]" -> ["h2", 2, 0] when the output is the identity (y = z)
    const u = unit(node);
    if (!u) return null;
    let [letter, l, j] = u;
    if (letter === "k" && l === this.L && this.net.output === "identity") letter = "h";
    return [letter + l, l, j];
  }
  value(node, s, e) {
    if (node === "loss") return this.loss(s, e);
    if (node.startsWith("x[")) return this.examples[e].x[unit(node)[2]];
    if (node.startsWith("t[")) return this.examples[e].t[+node.slice(2, -1)];
    const [key, l, j] = this.unitKey(node);
    return this.read(key, l, j, s, e);
  }
  grad(node, s, e) {
    if (node === "loss") return 1;
    if (node.startsWith("x[")) return this.read("x_grad", 0, unit(node)[2], s, e);
    const [key, l, j] = this.unitKey(node);
    return this.read(key + "_grad", l, j, s, e);
  }
  // ∂l/∂w of one example: ∂l/∂k · (what w multiplies), the backward pass's step (slide 46)
  paramGrad(name, s, e) {
    const [kind, l, j, i] = paramPos(name), kg = this.grad(`k${l + 1}[${j}]`, s, e);
    return kind === "b" ? kg : kg * this.value(l === 0 ? `x[${i}]` : `h${l}[${i}]`, s, e);
  }
  check(name, s, e) {
    if (s % this.checkEvery) return null;
    const c = s / this.checkEvery, p = this.pcol.get(name), at = (c * this.E + e) * this.names.length + p;
    const unpack = (p, base) => (p.exact.has(at) ? p.exact.get(at) : base + p.diff[at]);
    const scalar = unpack(this.cs, this.paramGrad(name, s, e));
    return { scalar, vectorized: unpack(this.cv, scalar), fd: unpack(this.cf, scalar),
             kink: this.kinks.get(`${c},${e},${p}`) || null };
  }
}

const SVGNS = "http://www.w3.org/2000/svg";
function el(tag, attrs, parent, text) {
  const n = document.createElementNS(SVGNS, tag);
  for (const k in attrs) n.setAttribute(k, attrs[k]);
  if (text !== undefined) n.textContent = text;
  if (parent) parent.appendChild(n);
  return n;
}
const XS = 118, YS = 64, R = 15;          // px per column unit and per slot; node radius
const POS = "#1f5fbf", NEG = "#cc3311", NEU = "#9a9a9a";
const colour = (v) => (v > 0 ? POS : v < 0 ? NEG : NEU);

// The network, painted once; labels, widths and colours follow the state.
class Picture {
  constructor(store, d, svg) {
    this.st = store; this.svg = svg; this.pos = new Map(); this.edges = []; this.nodeEls = new Map();
    const L = store.L, cols = d.cols, out = cols[cols.length - 2];
    for (const c of cols)
      c.units.forEach((u, r) => {
        const id = c.part === "x" || c.part === "t" ? `${c.part}[${u}]` : `${c.part}${c.layer}[${u}]`;
        this.pos.set(id, [c.x * XS, -c.y[r] * YS]);
      });
    this.pos.set("loss", [(out.x + 1.1) * XS, 0]);
    const xs = [...this.pos.values()].map((p) => p[0]), ys = [...this.pos.values()].map((p) => p[1]);
    const x0 = Math.min(...xs) - 50, y0 = Math.min(...ys) - 62;
    svg.setAttribute("viewBox", `${x0} ${y0} ${Math.max(...xs) - x0 + 60} ${Math.max(...ys) - y0 + 50}`);
    const gEdges = el("g", { class: "edges" }, svg), gFixed = el("g", { class: "fixed" }, svg);
    this.gPaths = el("g", { class: "paths" }, svg);
    const gNodes = el("g", { class: "nodes" }, svg), gLabels = el("g", { class: "labels" }, svg);
    // column headers, as draw writes them
    const act = { sigmoid: "σ", relu: "relu", tanh: "tanh", identity: "id", softmax: "softmax" };
    for (const c of cols) {
      let text = null;
      if (c.part === "x") text = "input x";
      else if (c.part === "k") text = c.layer === L ? "z = W·h + b" : "k = W·x + b".replace("x", c.layer === 1 ? "x" : "h");
      else if (c.part === "h" && c.layer === L) text = store.net.output !== "identity" ? `y = ${act[store.net.output]}(z)` : "y = W·h + b";
      else if (c.part === "h") text = `h = ${act[store.net.hidden]}(k)`;
      if (text) el("text", { x: c.x * XS, y: y0 + 16, class: "header" }, svg, text);
      if (c.hidden && c.part !== "k")
        el("text", { x: c.x * XS, y: -c.gap_y * YS + 4, class: "gap" }, gLabels, `… ${c.hidden} more`);
    }
    el("text", { x: (out.x + 1.1) * XS, y: y0 + 16, class: "header" }, svg, `loss (${store.net.loss})`);
    // weight edges: a wide invisible line to hit and a visible one (data-hit), and above
    // every line and node the parameter's own element (data-param): its label, or where the
    // weights are too many to label a small handle on the edge. Edges cross, and many share
    // their midpoint, so only a mark drawn on top, at its own place on the edge, is sure to
    // take a click aimed at that weight.
    for (let l = 0; l < L; l++) {
      const src = cols.find((c) => c.layer === l && (c.part === "x" || c.part === "h"));
      const dst = cols.find((c) => c.layer === l + 1 && (c.part === "k" || c.part === "h"));
      const labelled = src.units.length * dst.units.length <= 9;
      dst.units.forEach((j, rank) => {
        for (const i of src.units) {
          const name = `W${l}[${j},${i}]`, a = this.pos.get(src.part === "x" ? `x[${i}]` : `h${l}[${i}]`);
          const b = this.pos.get(`${dst.part}${l + 1}[${j}]`);
          const param = { "data-param": name, tabindex: "0", class: "param", role: "button",
                          "aria-label": `${store.symbols[name]} (${name})` };
          const edge = el("g", { "data-hit": name, class: "edge" }, gEdges);
          el("line", { x1: a[0], y1: a[1], x2: b[0], y2: b[1], class: "hit" }, edge);
          const line = el("line", { x1: a[0], y1: a[1], x2: b[0], y2: b[1], class: "vis" }, edge);
          const g = el("g", param, gLabels);
          const f = 0.3 + 0.4 * (rank + 0.5) / dst.units.length;
          const mx = a[0] + f * (b[0] - a[0]), my = a[1] + f * (b[1] - a[1]);
          let label = null;
          if (labelled) label = this.label(g, name, mx, my);
          else el("circle", { cx: mx, cy: my, r: 4, class: "handle" }, g);
          this.edges.push({ name, line, g, edge, label });
        }
        const kpos = this.pos.get(`${dst.part}${l + 1}[${j}]`), bname = `b${l}[${j}]`;
        const g = el("g", { "data-param": bname, tabindex: "0", class: "param bias", role: "button",
                            "aria-label": `${store.symbols[bname]} (${bname})` }, gLabels);
        const e = { name: bname, line: null, g, label: null, bias: true };
        e.label = this.label(g, null, kpos[0] + 30, kpos[1] + 24);
        this.edges.push(e);
      });
    }
    // fixed edges: k -> h, output -> loss, target -> loss
    this.fixed = new Map();
    const fixed = (a, b) => {
      const p = this.pos.get(a), q = this.pos.get(b);
      if (p && q) this.fixed.set(`${a}>${b}`, el("line", { x1: p[0], y1: p[1], x2: q[0], y2: q[1], "data-edge": `${a}>${b}` }, gFixed));
    };
    for (const c of cols) {
      if (c.part !== "k") continue;
      for (const i of c.units) {
        if (c.layer === L && store.net.output === "softmax") for (const j of out.units) fixed(`k${L}[${i}]`, `h${L}[${j}]`);
        else fixed(`k${c.layer}[${i}]`, `h${c.layer}[${i}]`);
      }
    }
    for (const j of out.units) fixed(`h${L}[${j}]`, "loss");
    for (const c of cols) if (c.part === "t") for (const j of c.units) fixed(`t[${j}]`, "loss");
    // nodes
    for (const [id, [px, py]] of this.pos) {
      const target = id.startsWith("t["), g = el("g", { "data-node": id, class: "node" + (target ? " target" : id === "loss" ? " loss" : "") }, gNodes);
      el("circle", { cx: px, cy: py, r: id === "loss" ? R + 2 : R }, g);
      el("text", { x: px, y: py + 4, class: "name" }, g, this.nodeName(id));
      const v = el("text", { x: px, y: py - R - 5, class: "value" }, g);
      this.nodeEls.set(id, { g, v });
    }
  }
  nodeName(id) {
    if (id === "loss") return "l";
    if (id.startsWith("t[")) return this.st.net.sizes[this.st.L] === 1 || this.st.net.loss === "ce" ? "t" : "t" + sub(+id.slice(2, -1) + 1);
    return this.st.symbols[id] || id;
  }
  label(parent, name, x, y) {
    const g = el("g", name ? { "data-label": name, class: "elabel" } : { class: "elabel" }, parent);
    const rect = el("rect", { x: x - 18, y: y - 8, width: 36, height: 15, rx: 3 }, g);
    const text = el("text", { x, y: y + 4 }, g);
    return { g, rect, text };
  }
  update(state) {
    const st = this.st, { s, e, show } = state;
    const shown = (v, g) => (show === "values" ? v : show === "gradients" ? g : -g);
    const nums = this.edges.map((ed) => shown(st.param(ed.name, s), st.paramGrad(ed.name, s, e)));
    const scale = Math.max(1e-300, ...nums.filter((_, i) => !this.edges[i].bias).map(Math.abs));
    this.edges.forEach((ed, i) => {
      const v = nums[i];
      if (ed.line) {
        ed.line.setAttribute("stroke", colour(v));
        ed.line.setAttribute("stroke-width", (0.6 + 4.4 * Math.abs(v) / scale).toFixed(2));
      }
      if (ed.label) {
        ed.label.text.textContent = (ed.bias ? "b " : "") + fmt3(v);
        ed.label.text.setAttribute("fill", colour(v));
        if (ed.bias) ed.label.rect.setAttribute("width", 44);
      }
    });
    for (const [id, { g, v }] of this.nodeEls) {
      let n;
      if (id.startsWith("t[")) n = st.value(id, s, e);
      else n = shown(st.value(id, s, e), st.grad(id, s, e));
      v.textContent = fmt3(n);
      const tint = show === "values" || id.startsWith("t[") ? "" : n > 0 ? " up" : n < 0 ? " down" : "";
      g.setAttribute("class", g.getAttribute("class").replace(/ (up|down)$/, "") + tint);
    }
  }
  highlight(sel) {
    for (const ed of this.edges) {
      const on = sel.params.has(ed.name) || ed.name === sel.start;
      ed.g.classList.toggle("on", on);
      if (ed.edge) ed.edge.classList.toggle("on", on);
    }
    for (const [key, line] of this.fixed) line.classList.toggle("on", sel.pairs.has(key) || this.pathPair(key, sel));
    for (const [id, { g }] of this.nodeEls) g.classList.toggle("on", sel.nodes.has(id) || this.alias(id, sel.nodes) || id === sel.start);
  }
  alias(id, nodes) {             // the output node stands for its logit k{L} when y = z
    const L = this.st.L;
    return id.startsWith(`h${L}[`) && this.st.net.output === "identity" && nodes.has(`k${L}` + id.slice(`h${L}`.length));
  }
  pathPair(key, sel) {          // a path that ends k{L}[m] > loss (bce, ce) runs through y_m
    const [a, b] = key.split(">"), L = this.st.L;
    if (b === "loss" && a.startsWith(`h${L}[`)) return sel.pairs.has(`k${L}${a.slice(`h${L}`.length)}>loss`);
    return false;
  }
}
