// The derivation's result and its text (explain's result.py, reading.py, render.py): the
// chain, the paths and their sum, the accumulated form, the checks, the gradient-descent
// reading, printed as Explanation.__str__ prints them. Uses derive.js.
"use strict";

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
               `  x = ${inputs(ex)}, t = ${vec(ex.t)}  →  y = ${vec(y)}, loss = ${num(store.loss(s, e))}`, ""];
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
    const where = r.start.startsWith("x[") ? "one step below the backward pass, ∂l/∂k · W"
      : `${store.engine} engine's backward pass`;
    rows.push([where, num(b, 12), `difference ${num(Math.abs(b - g), 2)}`]);
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
