// The page's state (step, example, what is shown, what is selected) and its controls.
"use strict";

function derivationOf(store, start, s, e) {
  return new Derivation(store, start, s, e).result();
}

// one small line chart: series of {values, cls}, a marker at the current step; shared: one
// scale for all series (same units), else each its own (its top or bottom value labelled)
function chart(svg, title, series, s, shared = false) {
  svg.textContent = "";
  const W = 300, H = 120, pad = { l: 44, r: 8, t: 18, b: 18 };
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  el("text", { x: pad.l, y: 12, class: "ctitle" }, svg, title);
  const n = series[0].values.length;
  const all = shared ? series.flatMap((ser) => ser.values) : null;
  series.forEach((ser, k) => {
    const vs = ser.values, lo = Math.min(...(all || vs)), hi = Math.max(...(all || vs));
    const span = hi - lo || 1;
    const X = (i) => pad.l + (W - pad.l - pad.r) * (n > 1 ? i / (n - 1) : 0);
    const Y = (v) => pad.t + (H - pad.t - pad.b) * (1 - (v - lo) / span);
    el("polyline", { points: vs.map((v, i) => `${X(i).toFixed(1)},${Y(v).toFixed(1)}`).join(" "), class: ser.cls }, svg);
    el("circle", { cx: X(s), cy: Y(vs[s]), r: 3, class: ser.cls + " dot" }, svg);
    el("text", { x: pad.l - 3, y: k ? H - pad.b : pad.t + 8, class: "axis " + ser.cls }, svg, fmt3(k ? lo : hi));
  });
  el("text", { x: W - pad.r, y: H - 4, class: "axis end" }, svg, `step ${s} of ${n - 1}`);
}

class App {
  constructor(d) {
    this.d = d; this.st = new Store(d);
    this.pic = new Picture(this.st, d, document.getElementById("net"));
    this.state = { s: 0, e: 0, show: d.initial.show, pinned: d.initial.weight, preview: null };
    this.slider = document.getElementById("step");
    this.slider.max = String(this.st.steps);
    this.picker = document.getElementById("example");
    d.examples.forEach((ex, i) => {
      const o = document.createElement("option");
      o.value = String(i);
      const head = [...Array(Math.min(4, ex.n)).keys()].map((i) => ex.x[i]);
      o.textContent = `#${ex.row + 1}: x = ${vec(head)}${ex.n > 4 ? "…" : ""}, t = ${vec(ex.t)}`;
      this.picker.appendChild(o);
    });
    this.showSel = document.getElementById("show");
    this.showSel.value = this.state.show;
    this.wire();
    this.render();
    this.selfCheck();
  }
  wire() {
    const svg = this.pic.svg;
    const target = (ev) => ev.target.closest("[data-param],[data-label],[data-hit],[data-node]");
    const idOf = (t) => t.getAttribute("data-param") || t.getAttribute("data-label") ||
      t.getAttribute("data-hit") || t.getAttribute("data-node");
    svg.addEventListener("click", (ev) => { const t = target(ev); if (t) this.select(idOf(t)); });
    svg.addEventListener("mouseover", (ev) => { const t = target(ev); if (t) this.preview(idOf(t)); });
    svg.addEventListener("mouseleave", () => this.preview(null));
    svg.addEventListener("focusin", (ev) => { const t = target(ev); if (t) this.select(idOf(t)); });
    this.slider.addEventListener("input", () => this.set({ s: +this.slider.value }));
    this.picker.addEventListener("change", () => this.set({ e: +this.picker.value }));
    this.showSel.addEventListener("change", () => this.set({ show: this.showSel.value }));
    document.addEventListener("keydown", (ev) => {
      const tag = ev.target.tagName;
      if (tag === "SELECT" || tag === "INPUT") return;       // their own arrow keys
      const k = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1 }[ev.key];
      if (!k) return;
      ev.preventDefault();
      this.set({ s: Math.min(this.st.steps, Math.max(0, this.state.s + k)) });
    });
  }
  set(change) { Object.assign(this.state, change); this.render(); }
  select(id) {
    if (!this.selectable(id)) return;
    this.state.pinned = id; this.state.preview = null; this.render();
  }
  preview(id) {
    if (id !== null && !this.selectable(id)) return;
    if (id === this.state.preview) return;
    this.state.preview = id; this.render();
  }
  selectable(id) { return this.st.hasParam(id) || this.pic.nodeEls.has(id); }
  current() { return this.state.preview || this.state.pinned; }
  render() {
    const { s, e } = this.state, id = this.current();
    this.slider.value = String(s);
    document.getElementById("stepout").textContent = `${s} / ${this.st.steps}`;
    this.picker.value = String(e);
    this.pic.update(this.state);
    const panel = document.getElementById("derivation");
    panel.textContent = "";
    const h = document.createElement("h2");
    const pre = document.createElement("pre");
    if (id === "loss" || id.startsWith("t[")) {
      h.textContent = id === "loss" ? "the loss" : "the target";
      pre.textContent = id === "loss"
        ? `l = ${num(this.st.loss(s, e))} (${this.st.net.loss} loss of example #${this.st.examples[e].row + 1} at step ${s}); ∂l/∂l = 1 starts the backward pass`
        : `${this.pic.nodeName(id)} = ${num(this.st.value(id, s, e))}: data, not learned; the loss compares the output with it`;
      this.pic.highlight({ pairs: new Set(), params: new Set(), nodes: new Set([id]), start: id });
    } else {
      const r = derivationOf(this.st, id, s, e);
      h.textContent = `∂l/∂${this.st.symbols[id] || id} = ${num(r.gradient)}  (${id}, step ${s}, example #${this.st.examples[e].row + 1})`;
      pre.textContent = derivationText(this.st, r, s, e);
      this.pic.highlight({ ...new Derivation(this.st, id, s, e).edgeSet(), start: id });
    }
    panel.append(h, pre);
    this.charts(id);
    const step = s < this.st.steps ? `; the next SGD step uses example #${this.st.order[s] + 1}` : "";
    document.getElementById("summary").textContent =
      `${this.st.net.network}; ${this.st.steps} SGD steps, α = ${this.d.lr}, ${this.st.engine} engine; step ${s}${step}`;
    document.getElementById("legend").textContent = {
      values: "edges: the weight w, width by size; blue > 0, red < 0; nodes: forward values",
      gradients: "edges: ∂l/∂w of this example; nodes: ∂l/∂node (blue > 0, red < 0)",
      updates: "edges: −∂l/∂w, the step w ← w − α·∂l/∂w; nodes: −∂l/∂node, the way l wants each to move (blue up, red down)",
    }[this.state.show] + "; yellow: the paths to the loss. Arrow keys step, Tab walks the weights.";
  }
  charts(id) {
    const st = this.st, { s, e } = this.state, n = st.steps + 1, range = [...Array(n).keys()];
    chart(document.getElementById("losschart"), `loss: example #${st.examples[e].row + 1} (line), all ${st.E} shown (dashed)`,
      [{ values: range.map((i) => st.loss(i, e)), cls: "s1" },
       { values: range.map((i) => { let t = 0; for (let k = 0; k < st.E; k++) t += st.loss(i, k); return t; }), cls: "s2" }], s, true);
    let a, g;
    if (st.hasParam(id)) { a = range.map((i) => st.param(id, i)); g = range.map((i) => st.paramGrad(id, i, e)); }
    else if (id === "loss" || id.startsWith("t[")) { a = range.map((i) => st.value(id, i, e)); g = a.map(() => 0); }
    else { a = range.map((i) => st.value(id, i, e)); g = range.map((i) => st.grad(id, i, e)); }
    chart(document.getElementById("wchart"), `${st.symbols[id] || this.pic.nodeName(id)}: value (line), ∂l/∂· (dashed)`,
      [{ values: a, cls: "s1" }, { values: g, cls: "s2" }], s);
  }
  // the page's derivation of the first weight at step 0 must read as explain's own text
  selfCheck() {
    const ref = this.d.reference;
    ref.texts.forEach((text, e) => {
      const mine = derivationText(this.st, derivationOf(this.st, ref.weight, 0, e), 0, e);
      // with a gap in a hidden layer the paths and the accumulated form show the drawn units
      // only, and the gradient comes from the accumulated form: then the chain is compared
      const cut = (t) => (this.d.complete ? t : t.split(/\n\n(?:every path|accumulated form|check\n)/)[0]);
      const want = cut(text), got = cut(mine);
      if (got !== want) {
        const a = got.split("\n"), b = want.split("\n"), i = a.findIndex((line, k) => line !== b[k]);
        console.error(`explorer: the page's derivation of ${ref.weight} (example ${e}) differs from explain's at line ${i + 1}:\n  page:    ${a[i]}\n  explain: ${b[i]}`);
      }
    });
  }
}

window.explorer = new App(JSON.parse(document.getElementById("data").textContent));
