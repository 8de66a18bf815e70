// The page of `tinygrad-mlp serve`: it draws what the server's forward and backward passes return.
// No framework, no build step, nothing from another site.
"use strict";

const SIDE = 28;
const $ = (id) => document.getElementById(id);
const state = {
  net: null,          // /api/network: sizes, weights, biases, version
  ink: new Float32Array(SIDE * SIDE),  // the drawing, 28x28 in [0, 1]
  prepare: true,      // false when a test digit is shown (it is already prepared)
  digitIndex: 0,
  digitLabel: null,
  result: null,       // /api/forward's answer
  selected: null,     // {layer, index} of the clicked hidden neuron
  cursor: {x: 14, y: 14},
  points: [],         // training curve
  pending: null,
  lastVersion: 0,
};

// ------------------------------------------------------------------ server calls

async function api(path, body) {
  const options = body === undefined ? {} :
    {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
  const response = await fetch(path, options);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function showError(where, error) {
  const el = $(where);
  el.textContent = String(error.message || error);
  el.classList.add("error");
}

async function loadNetwork() {
  state.net = await api("/api/network");
  state.lastVersion = state.net.version;
  $("source").textContent = "Network: " + state.net.source + " (" + state.net.sizes.join("-") + ", " +
    state.net.activation + ").";
  drawFirstLayer();
  if (state.selected) showNeuron(state.selected.layer, state.selected.index);
}

// ------------------------------------------------------------------ pictures

function grayImage(canvas, values) {
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(SIDE, SIDE);
  for (let i = 0; i < SIDE * SIDE; i++) {
    const v = Math.round(255 * Math.max(0, Math.min(1, values[i])));
    img.data.set([v, v, v, 255], 4 * i);
  }
  paintScaled(canvas, img);
}

function weightImage(canvas, weights) {
  // blue for positive, red for negative, scaled by the largest |w| of this neuron
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(SIDE, SIDE);
  const top = Math.max(1e-12, ...weights.map(Math.abs));
  for (let i = 0; i < SIDE * SIDE; i++) {
    const t = Math.min(1, Math.abs(weights[i]) / top);
    const c = weights[i] >= 0 ? [31, 95, 191] : [192, 57, 43];
    img.data.set([255 + (c[0] - 255) * t, 255 + (c[1] - 255) * t, 255 + (c[2] - 255) * t, 255], 4 * i);
  }
  paintScaled(canvas, img);
}

function paintScaled(canvas, img) {
  const small = document.createElement("canvas");
  small.width = SIDE; small.height = SIDE;
  small.getContext("2d").putImageData(img, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
  return small;
}

function bars(container, values, options) {
  // one horizontal bar per value; options: labels, signed (bars grow from the middle), best (index)
  container.replaceChildren();
  const top = Math.max(1e-12, ...values.map(Math.abs));
  values.forEach((v, i) => {
    const row = document.createElement("div");
    row.className = "bar" + (options.best === i ? " best" : "");
    const label = document.createElement("span");
    label.className = "label";
    label.textContent = options.labels ? options.labels[i] : String(i);
    const track = document.createElement("span");
    track.className = "track";
    const fill = document.createElement("span");
    fill.className = "fill" + (v < 0 ? " neg" : "");
    const width = 100 * Math.abs(v) / top;
    if (options.signed) {
      fill.style.left = (v < 0 ? 50 - width / 2 : 50) + "%";
      fill.style.width = width / 2 + "%";
    } else {
      fill.style.left = "0";
      fill.style.width = width + "%";
    }
    track.appendChild(fill);
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = (v >= 0 && options.signed ? "+" : "") + v.toFixed(3);
    row.append(label, track, value);
    container.appendChild(row);
  });
}

// ------------------------------------------------------------------ drawing

function renderInk() {
  const canvas = $("draw");
  grayImage(canvas, state.ink);
  const ctx = canvas.getContext("2d");
  if (document.activeElement === canvas) {  // the keyboard cursor
    const cell = canvas.width / SIDE;
    ctx.strokeStyle = "#e67e22";
    ctx.lineWidth = 2;
    ctx.strokeRect(state.cursor.x * cell, state.cursor.y * cell, cell, cell);
  }
}

function paintAt(x, y) {
  // a soft round brush of radius about 1.4 pixels, centred at (x, y) in pixel units
  const radius = 1.4, soft = 1.0;
  for (let r = Math.floor(y - 3); r <= Math.ceil(y + 3); r++) {
    for (let c = Math.floor(x - 3); c <= Math.ceil(x + 3); c++) {
      if (r < 0 || c < 0 || r >= SIDE || c >= SIDE) continue;
      const d = Math.hypot(c + 0.5 - x, r + 0.5 - y);
      const v = Math.max(0, Math.min(1, 1 - (d - radius) / soft));
      state.ink[r * SIDE + c] = Math.max(state.ink[r * SIDE + c], v);
    }
  }
}

function strokeTo(from, to) {
  const steps = Math.max(1, Math.ceil(Math.hypot(to.x - from.x, to.y - from.y) * 3));
  for (let i = 1; i <= steps; i++) {
    paintAt(from.x + (to.x - from.x) * i / steps, from.y + (to.y - from.y) * i / steps);
  }
}

function startedDrawing() {
  if (!state.prepare) {  // a test digit was shown: drawing starts afresh
    state.ink.fill(0);
    state.prepare = true;
    state.digitLabel = null;
  }
}

function setupDrawing() {
  const canvas = $("draw");
  let last = null;
  const at = (event) => {
    const box = canvas.getBoundingClientRect();
    return {x: (event.clientX - box.left) / box.width * SIDE, y: (event.clientY - box.top) / box.height * SIDE};
  };
  canvas.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    startedDrawing();
    last = at(event);
    paintAt(last.x, last.y);
    renderInk();
    think();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (last === null) return;
    const p = at(event);
    strokeTo(last, p);
    last = p;
    renderInk();
    think();
  });
  const end = () => { if (last !== null) { last = null; think(); } };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  canvas.addEventListener("focus", renderInk);
  canvas.addEventListener("blur", renderInk);
  canvas.addEventListener("keydown", (event) => {
    const moves = {ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1]};
    if (event.key in moves) {
      const [dx, dy] = moves[event.key];
      state.cursor.x = Math.max(0, Math.min(SIDE - 1, state.cursor.x + dx));
      state.cursor.y = Math.max(0, Math.min(SIDE - 1, state.cursor.y + dy));
      if (event.shiftKey) { startedDrawing(); paintAt(state.cursor.x + 0.5, state.cursor.y + 0.5); think(); }
    } else if (event.key === " " || event.key === "Enter") {
      startedDrawing();
      paintAt(state.cursor.x + 0.5, state.cursor.y + 0.5);
      think();
    } else if (event.key === "Delete" || event.key === "Backspace") {
      clearInk();
    } else {
      return;
    }
    event.preventDefault();
    renderInk();
  });
  $("clear").addEventListener("click", clearInk);
}

function clearInk() {
  state.ink.fill(0);
  state.prepare = true;
  state.digitLabel = null;
  renderInk();
  think();
}

async function showDigit(index) {
  try {
    const digit = await api("/api/digit?index=" + index);
    state.ink = Float32Array.from(digit.pixels);
    state.prepare = false;
    state.digitIndex = digit.index;
    state.digitLabel = digit.label;
    $("digit-index").max = digit.count - 1;
    $("digit-index").value = digit.index;
    $("right-answer").value = String(digit.label);
    $("draw-note").textContent = "Test digit " + digit.index + " of " + digit.count + " (" + state.net.test_dataset +
      "), label " + digit.label + ". It is already prepared; what the network sees:";
    renderInk();
    think();
  } catch (error) { showError("draw-note", error); }
}

// ------------------------------------------------------------------ thinking: the forward pass

function think() {
  // at most one request in flight; the latest drawing wins
  if (state.pending) { state.pending.again = true; return; }
  state.pending = {again: false};
  api("/api/forward", {pixels: Array.from(state.ink, (v) => Math.round(v * 1000) / 1000), prepare: state.prepare})
    .then((result) => {
      state.result = result;
      grayImage($("seen"), result.input);
      drawNetwork();
      $("guess").textContent = String(result.guess);
      bars($("output-bars"), result.outputs, {best: result.guess});
      if (state.digitLabel === null) $("right-answer").value = String(result.guess);
    })
    .catch((error) => showError("guess", error))
    .finally(() => {
      const again = state.pending.again;
      state.pending = null;
      if (again) think();
    });
}

// ------------------------------------------------------------------ the network picture

const SVG = "http://www.w3.org/2000/svg";
function svg(name, attributes) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, v);
  return el;
}

function layout() {
  // x positions of the columns and y of each neuron; the input is the 28x28 picture at the left
  const sizes = state.net.sizes;
  const columns = sizes.length;
  const xs = sizes.map((_, i) => 40 + i * (540 / (columns - 1)));
  const ys = sizes.map((n, i) => i === 0 ? [] : Array.from({length: n}, (_, j) => 20 + (j + 0.5) * 360 / n));
  return {xs, ys, image: {x: 10, y: 130, size: 140}};
}

function strongest(W, count) {
  const all = [];
  W.forEach((row, j) => row.forEach((w, k) => all.push([Math.abs(w), j, k, w])));
  all.sort((a, b) => b[0] - a[0]);
  return all.slice(0, count);
}

function drawNetwork() {
  if (!state.net || !state.result) return;
  const net = $("net");
  net.replaceChildren();
  const {xs, ys, image} = layout();
  xs[0] = image.x + image.size;
  const acts = state.result.activations;
  const W = state.net.weights;
  // edges first, under the neurons
  for (let l = 0; l < W.length; l++) {
    const edges = strongest(W[l], l === 0 ? 48 : 40);
    const top = edges.length ? edges[0][0] : 1;
    for (const [size, j, k, w] of edges) {
      let x1, y1;
      if (l === 0) {
        x1 = image.x + ((k % SIDE) + 0.5) * image.size / SIDE;
        y1 = image.y + (Math.floor(k / SIDE) + 0.5) * image.size / SIDE;
      } else {
        x1 = xs[l]; y1 = ys[l][k];
      }
      net.appendChild(svg("line", {x1, y1, x2: xs[l + 1], y2: ys[l + 1][j],
        stroke: w >= 0 ? "#4d8fe8" : "#e8584a", "stroke-opacity": (0.15 + 0.75 * size / top).toFixed(2),
        "stroke-width": (0.5 + 1.5 * size / top).toFixed(2)}));
    }
  }
  // the input picture
  const small = document.createElement("canvas");
  small.width = SIDE; small.height = SIDE;
  grayImage(small, state.result.input);
  net.appendChild(svg("image", {href: small.toDataURL(), x: image.x, y: image.y, width: image.size,
    height: image.size}));
  net.appendChild(svg("text", {x: image.x, y: image.y - 8, fill: "#ccc", "font-size": 13})).textContent = "784 inputs";
  // the neurons
  for (let l = 1; l < state.net.sizes.length; l++) {
    const values = acts[l - 1];
    const top = state.net.activation === "sigmoid" || l === state.net.sizes.length - 1 ?
      1 : Math.max(1e-9, ...values.map(Math.abs));
    const r = Math.min(10, 150 / values.length);
    values.forEach((a, j) => {
      const v = Math.round(255 * Math.max(0, Math.min(1, Math.abs(a) / top)));
      const hidden = l < state.net.sizes.length - 1;
      const circle = svg("circle", {cx: xs[l], cy: ys[l][j], r, fill: `rgb(${v},${v},${v})`, stroke: "#888",
        "stroke-width": 1});
      if (hidden) {
        circle.classList.add("neuron");
        circle.setAttribute("tabindex", "0");
        circle.setAttribute("role", "button");
        circle.setAttribute("aria-label", `layer ${l} neuron ${j}, activation ${a.toFixed(2)}`);
        circle.dataset.layer = l;
        circle.dataset.index = j;
        if (state.selected && state.selected.layer === l && state.selected.index === j) {
          circle.classList.add("selected");
        }
        const pick = () => showNeuron(l, j);
        circle.addEventListener("click", pick);
        circle.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); pick(); } });
      } else {
        const label = svg("text", {x: xs[l] + 16, y: ys[l][j] + 5, fill: j === state.result.guess ? "#e67e22" : "#ccc",
          "font-size": 14, "font-weight": j === state.result.guess ? "bold" : "normal"});
        label.textContent = `${j}  ${a.toFixed(2)}`;
        net.appendChild(label);
      }
      net.appendChild(circle);
    });
    const caption = svg("text", {x: xs[l] - 20, y: 395, fill: "#ccc", "font-size": 13});
    caption.textContent = l < state.net.sizes.length - 1 ? `layer ${l}: ${values.length}` : "outputs";
    net.appendChild(caption);
  }
}

// ------------------------------------------------------------------ one hidden neuron

function showNeuron(layer, index) {
  state.selected = {layer, index};
  const W = state.net.weights;
  const bias = state.net.biases[layer - 1][index];
  const barsCanvas = $("neuron-bars");
  let caption;
  if (layer === 1) {
    weightImage($("neuron-weights"), W[0][index]);
    barsCanvas.hidden = true;
    caption = `Layer 1, neuron ${index}: its 784 incoming weights as a 28x28 image (blue +, red −; bias ` +
      `${bias.toFixed(2)}). It fires for ink on blue and no ink on red.`;
  } else {
    // its weights over the previous layer's neurons, and pushed back to the pixels through W(1): a template
    const row = W[layer - 1][index];
    let template = row;
    for (let l = layer - 2; l >= 0; l--) {
      const M = W[l];
      template = M[0].map((_, k) => template.reduce((s, w, j) => s + w * M[j][k], 0));
    }
    weightImage($("neuron-weights"), template);
    drawWeightBars(barsCanvas, row);
    barsCanvas.hidden = false;
    caption = `Layer ${layer}, neuron ${index}: its ${row.length} weights over layer ${layer - 1}'s neurons ` +
      `(bars), and those pushed back to the pixels through the earlier weights (image: a first-order picture, ` +
      `ignoring the activations between). Bias ${bias.toFixed(2)}.`;
  }
  $("neuron-caption").textContent = caption;
  $("neuron-caption").dataset.layer = layer;
  $("neuron-caption").dataset.index = index;
  drawNetwork();
}

function drawWeightBars(canvas, row) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const top = Math.max(1e-12, ...row.map(Math.abs));
  const w = canvas.width / row.length, mid = canvas.height / 2 - 8;
  ctx.font = "11px system-ui";
  ctx.textAlign = "center";
  row.forEach((v, k) => {
    const h = (mid - 4) * Math.abs(v) / top;
    ctx.fillStyle = v >= 0 ? "#1f5fbf" : "#c0392b";
    ctx.fillRect(k * w + 2, v >= 0 ? mid - h : mid, w - 4, h);
    ctx.fillStyle = "#333";
    ctx.fillText(String(k), k * w + w / 2, canvas.height - 2);
  });
  ctx.strokeStyle = "#999";
  ctx.beginPath(); ctx.moveTo(0, mid); ctx.lineTo(canvas.width, mid); ctx.stroke();
}

// ------------------------------------------------------------------ nudges

async function computeNudges() {
  const out = $("nudge-result");
  out.classList.remove("error");
  out.textContent = "computing…";
  try {
    const batch = Number($("nudge-batch").value);
    const n = await api("/api/nudges", {pixels: Array.from(state.ink, (v) => Math.round(v * 1000) / 1000),
      prepare: state.prepare, label: Number($("right-answer").value), batch, index: state.digitIndex});
    out.replaceChildren();
    const heading = (text) => { const h = document.createElement("h3"); h.textContent = text; out.appendChild(h); };
    const para = document.createElement("p");
    para.id = "nudge-cost";
    para.textContent = `cost ${n.cost.toFixed(4)} over ${n.batch} digit(s). Desired change of each output:`;
    out.appendChild(para);
    const outBars = document.createElement("div");
    outBars.className = "bars";
    outBars.id = "nudge-outputs";
    out.appendChild(outBars);
    bars(outBars, n.outputs, {signed: true});
    n.hidden.forEach((wish, l) => {
      heading(`Desired change of layer ${l + 1}'s activations`);
      const div = document.createElement("div");
      div.className = "bars";
      out.appendChild(div);
      bars(div, wish, {signed: true});
    });
    heading("Largest weight and bias nudges" + (n.batch > 1 ? ` (batch of ${n.batch})` : ""));
    const table = document.createElement("table");
    table.id = "nudge-table";
    table.innerHTML = "<tr><th>parameter</th><th>nudge</th></tr>";
    for (const w of n.weights) {
      const tr = table.insertRow();
      tr.insertCell().textContent = `w(${w.layer}) ${w.to}←${w.from}`;
      tr.insertCell().textContent = (w.nudge >= 0 ? "+" : "") + w.nudge.toExponential(2);
    }
    for (const b of n.biases.slice(0, 5)) {
      const tr = table.insertRow();
      tr.insertCell().textContent = `b(${b.layer}) ${b.to}`;
      tr.insertCell().textContent = (b.nudge >= 0 ? "+" : "") + b.nudge.toExponential(2);
    }
    out.appendChild(table);
  } catch (error) { showError("nudge-result", error); }
}

// ------------------------------------------------------------------ training

async function startTraining() {
  try {
    await api("/api/train/start", {dataset: $("dataset").value, activation: $("activation").value,
      lr: Number($("lr").value), batch_size: Number($("batch-size").value), epochs: Number($("epochs").value)});
    state.points = [];
    $("train-state").classList.remove("error");
    $("train-start").disabled = true;
    $("train-stop").disabled = false;
    poll();
  } catch (error) { showError("train-state", error); }
}

async function stopTraining() {
  try { await api("/api/train/stop", {}); } catch (error) { showError("train-state", error); }
}

async function poll() {
  try {
    const s = await api("/api/train/status?since=" + state.points.length);
    if (s.total_points < state.points.length) state.points = [];  // older points were thinned: start again
    state.points.push(...s.points);
    const last = state.points[state.points.length - 1];
    $("train-state").textContent = s.state + (last ? ` · epoch ${last.epoch.toFixed(2)} · loss ${last.loss.toFixed(4)}` +
      ` · accuracy ${(100 * last.accuracy).toFixed(1)}%` : "") + (s.message ? " · " + s.message : "");
    $("train-state").dataset.points = String(state.points.length);
    drawCurve();
    if (s.version !== state.lastVersion) { await loadNetwork(); think(); }
    const running = s.state === "running" || s.state === "starting";
    $("train-start").disabled = running;
    $("train-stop").disabled = !running;
    if (running) setTimeout(poll, 500);
  } catch (error) { showError("train-state", error); setTimeout(poll, 2000); }
}

function drawCurve() {
  const canvas = $("curve");
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, left = 48, right = 44, top = 10, bottom = 28;
  ctx.clearRect(0, 0, W, H);
  ctx.font = "12px system-ui";
  ctx.strokeStyle = "#999";
  ctx.strokeRect(left, top, W - left - right, H - top - bottom);
  const pts = state.points;
  if (!pts.length) return;
  const maxEpoch = Math.max(pts[pts.length - 1].epoch, 1e-9);
  const maxLoss = Math.max(...pts.map((p) => p.loss), 1e-9);
  const X = (e) => left + (W - left - right) * e / maxEpoch;
  const Y = (v, max) => top + (H - top - bottom) * (1 - v / max);
  const line = (value, max, color) => {
    ctx.strokeStyle = color; ctx.lineWidth = 2; ctx.beginPath();
    pts.forEach((p, i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, X(p.epoch), Y(value(p), max)));
    ctx.stroke();
  };
  line((p) => p.loss, maxLoss, "#1f5fbf");
  line((p) => 100 * p.accuracy, 100, "#e67e22");
  ctx.fillStyle = "#1f5fbf"; ctx.textAlign = "right";
  ctx.fillText(maxLoss.toFixed(3), left - 4, top + 10);
  ctx.fillText("0", left - 4, H - bottom);
  ctx.fillStyle = "#e67e22"; ctx.textAlign = "left";
  ctx.fillText("100%", W - right + 4, top + 10);
  ctx.fillText("0%", W - right + 4, H - bottom);
  ctx.fillStyle = "#333"; ctx.textAlign = "center";
  ctx.fillText(`epochs (0 to ${maxEpoch.toFixed(2)})`, W / 2, H - 8);
}

function drawFirstLayer() {
  const box = $("first-layer");
  const W = state.net.weights[0];
  if (box.children.length !== W.length) {
    box.replaceChildren();
    W.forEach((_, j) => {
      const c = document.createElement("canvas");
      c.width = 56; c.height = 56;
      c.setAttribute("aria-label", `layer 1 neuron ${j}'s weights`);
      box.appendChild(c);
    });
  }
  W.forEach((row, j) => weightImage(box.children[j], row));
}

// ------------------------------------------------------------------ start

async function main() {
  for (let d = 0; d < 10; d++) $("right-answer").add(new Option(String(d), String(d)));
  setupDrawing();
  $("show-digit").addEventListener("click", () => showDigit(Number($("digit-index").value) || 0));
  $("random-digit").addEventListener("click", () => showDigit(Math.floor(Math.random() *
    (Number($("digit-index").max) || 1000))));
  $("nudges").addEventListener("click", computeNudges);
  $("train-start").addEventListener("click", startTraining);
  $("train-stop").addEventListener("click", stopTraining);
  try {
    await loadNetwork();
  } catch (error) { showError("source", error); return; }
  renderInk();
  think();
  poll();
}

main();
