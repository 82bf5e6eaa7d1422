// neurona playground: the page only draws. The network trains in neurona on the server; this
// script sends the settings and the buttons (JSON over one WebSocket) and draws each state it gets.
"use strict";

const $ = (id) => document.getElementById(id);
const RGB0 = [232, 113, 10];   // class 0, negative values and weights (--c0)
const RGB1 = [26, 115, 232];   // class 1, positive values and weights (--c1)
const FEATURE_LABELS = {
  "x1": "x\u2081", "x2": "x\u2082", "x1^2": "x\u2081\u00b2", "x2^2": "x\u2082\u00b2", "x1*x2": "x\u2081x\u2082",
  "sin(x1)": "sin(\u03c0x\u2081)", "sin(x2)": "sin(\u03c0x\u2082)",
};
const DATASET_LABELS = { xor: "XOR", and: "AND", or: "OR", circles: "Circles", moons: "Moons",
                         spirals: "Spirals", blobs: "Blobs" };
const ACTIVATION_LABELS = { tanh: "tanh", sigmoid: "sigmoid", relu: "ReLU", linear: "linear",
                            saturated_linear: "saturated linear", gaussian: "gaussian",
                            step: "step (perceptron)", sign: "sign" };
const MODEL_LABELS = { network: "network", perceptron: "perceptron (Rosenblatt)" };
const OPTIMIZER_LABELS = { sgd: "SGD", momentum: "SGD + momentum", adagrad: "Adagrad", rmsprop: "RMSprop",
                           adam: "Adam" };
// The page in Spanish (the course's language): English text -> Spanish. The server's messages stay in English.
const ES = {
  "a network learning in front of you, on the real engine": "una red que aprende ante tus ojos, con el motor de verdad",
  "Epoch": "Época", "Model": "Modelo", "Learning rate": "Tasa de aprendizaje", "Optimizer": "Optimizador",
  "Activation": "Activación", "Regularization": "Regularización", "Reg. rate": "Tasa de reg.", "Dropout": "Dropout",
  "Batch size": "Tamaño de lote", "Problem": "Problema", "Export code": "Exportar código", "Data": "Datos",
  "Points": "Puntos", "Noise": "Ruido", "Training data": "Datos de entrenamiento", "Regenerate": "Regenerar",
  "Features": "Características", "What the network gets as inputs.": "Lo que la red recibe como entradas.",
  ["Each small square is what one unit computes over the plane (orange: negative, blue: positive). Links: blue for "
    + "positive weights, orange for negative ones, thicker when larger."]:
    "Cada cuadradito es lo que calcula una unidad sobre el plano (naranja: negativo, azul: positivo). Enlaces: azul "
    + "para los pesos positivos, naranja para los negativos, más gruesos cuanto mayores.",
  "Output": "Salida", "Test loss": "Pérdida de test", "Training loss": "Pérdida de entrenamiento",
  "Test error": "Error de test", "Training error": "Error de entrenamiento", "Test accuracy": "Exactitud de test",
  "class 0": "clase 0", "class 1": "clase 1", "test points": "puntos de test",
  "neurona code for this network": "código neurona de esta red", "Copy": "Copiar", "Copied": "Copiado",
  "Close": "Cerrar", "Input": "Entrada", "Step output": "Salida escalón", "hidden layer": "capa oculta",
  "hidden layers": "capas ocultas", "one threshold unit": "una unidad umbral",
  "Back to epoch 0 (R)": "Volver a la época 0 (R)", "Play (space)": "Entrenar (espacio)",
  "Pause (space)": "Pausa (espacio)", "One epoch (S)": "Una época (S)",
  "Speed: epochs trained per frame": "Velocidad: épocas por fotograma",
  "The neurona code of this network and these settings": "El código neurona de esta red y estos ajustes",
  "Other random points (a new seed)": "Otros puntos al azar (otra semilla)",
  "Remove a hidden layer": "Quitar una capa oculta", "Add a hidden layer": "Añadir una capa oculta",
  "Loss per epoch: training (grey) and test (black)": "Pérdida por época: entrenamiento (gris) y test (negro)",
  "One unit less": "Una unidad menos", "One unit more": "Una unidad más", "units in hidden layer":
    "unidades de la capa oculta", "network": "red", "perceptron (Rosenblatt)": "perceptrón (Rosenblatt)",
  "classification": "clasificación", "regression": "regresión", "none": "ninguna", "SGD + momentum": "SGD + momento",
  "step (perceptron)": "escalón (perceptrón)", "sign": "signo", "saturated linear": "lineal saturada",
  "linear": "lineal", "gaussian": "gaussiana", "1 epoch/frame": "1 época/fotograma",
  "5 epochs/frame": "5 épocas/fotograma", "20 epochs/frame": "20 épocas/fotograma",
  "50 epochs/frame": "50 épocas/fotograma", "Circles": "Círculos", "Moons": "Lunas", "Spirals": "Espirales",
  "Blobs": "Nubes", "Converged at epoch": "Convergió en la época",
  "a whole pass over the training points without a mistake.": "una pasada entera por los datos sin ningún error.",
  "The connection to the server is closed: is `neurona playground` still running? Reload the page to start again.":
    "Se cerró la conexión con el servidor: ¿sigue en marcha `neurona playground`? Recarga la página para empezar.",
};
let lang = localStorage.getItem("neurona-playground-lang")
  || ((navigator.language || "").toLowerCase().startsWith("es") ? "es" : "en");
const tr = (text) => (lang === "es" && ES[text]) || text;

const NUMBERS = ["lr", "reg_rate", "dropout", "batch_size", "points", "noise", "train_fraction", "epochs_per_frame"];

let options = null;      // choices, limits and defaults from /api/options
let settings = null;     // the settings the server holds (from its last state)
let state = null;        // the last state
let data = null;         // the last full state: points, extent, input maps
let ws = null;
let controlsKey = "";

// ---------------------------------------------------------------------------- drawing helpers
function colour(v, fade) {
  // v in [-1, 1]: orange, white, blue; fade in [0, 1] mixes towards white (backgrounds under points)
  const c = v < 0 ? RGB0 : RGB1;
  const t = Math.min(1, Math.abs(v)) * (1 - fade);
  return [255 + (c[0] - 255) * t, 255 + (c[1] - 255) * t, 255 + (c[2] - 255) * t];
}

function decode(b64) {
  const raw = atob(b64);
  const out = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i) / 127.5 - 1;
  return out;
}

const scratch = document.createElement("canvas");
function paintMap(ctx, b64, n, x, y, w, h, fade) {
  const values = decode(b64);
  scratch.width = n; scratch.height = n;
  const sctx = scratch.getContext("2d");
  const img = sctx.createImageData(n, n);
  for (let i = 0; i < values.length; i++) {
    const c = colour(values[i], fade);
    img.data[4 * i] = c[0]; img.data[4 * i + 1] = c[1]; img.data[4 * i + 2] = c[2]; img.data[4 * i + 3] = 255;
  }
  sctx.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(scratch, x, y, w, h);
}

function fitCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return [ctx, w, h];
}

// ---------------------------------------------------------------------------- the three views
function drawOutput() {
  const [ctx, w, h] = fitCanvas($("output"));
  paintMap(ctx, state.output, state.grid, 0, 0, w, h, 0.35);
  const e = data.extent;
  const px = (x) => (x + e) / (2 * e) * w, py = (y) => (e - y) / (2 * e) * h;
  const dot = (p, label, ring) => {
    ctx.beginPath();
    ctx.arc(px(p[0]), py(p[1]), 3.6, 0, 2 * Math.PI);
    ctx.fillStyle = `rgb(${label ? RGB1 : RGB0})`;
    ctx.fill();
    ctx.lineWidth = ring ? 1.6 : 1;
    ctx.strokeStyle = ring ? "#202124" : "#fff";
    ctx.stroke();
  };
  data.train_points.forEach((p, i) => dot(p, data.train_labels[i], false));
  if ($("show-test").checked) data.test_points.forEach((p, i) => dot(p, data.test_labels[i], true));
  ctx.fillStyle = "rgba(32,33,36,.65)";
  ctx.font = "11px system-ui, sans-serif";
  const axis = `x\u2081 \u2208 [${-e}, ${e}]`;
  ctx.fillText(axis, w - ctx.measureText(axis).width - 5, h - 6);
  ctx.fillText("x\u2082", 5, 13);
}

function drawCurve() {
  const [ctx, w, h] = fitCanvas($("curve"));
  const c = state.curve;
  const finite = c.train.concat(c.test).filter(Number.isFinite);
  const top = Math.max(1e-9, ...finite);
  const last = Math.max(1, c.epoch[c.epoch.length - 1]);
  ctx.fillStyle = "#f8f9fa"; ctx.fillRect(0, 0, w, h);
  const line = (values, style, width) => {
    ctx.beginPath();
    values.forEach((v, i) => {
      const x = 2 + c.epoch[i] / last * (w - 4);
      const y = h - 3 - (Number.isFinite(v) ? Math.min(v, top) : top) / top * (h - 8);
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    ctx.strokeStyle = style; ctx.lineWidth = width; ctx.stroke();
  };
  line(c.train, "#9aa0a6", 1.5);
  line(c.test, "#202124", 1.5);
  ctx.fillStyle = "#5f6368"; ctx.font = "10px system-ui, sans-serif";
  ctx.fillText(top.toPrecision(2), 3, 10);
}

function columns() {
  // nodes per column: inputs, hidden layers, the output
  const perceptron = settings.model === "perceptron";
  return [settings.features.length, ...(perceptron ? [] : settings.hidden), 1];
}

function drawNetwork() {
  const canvas = $("network");
  const [ctx, w, h] = fitCanvas(canvas);
  const cols = columns();
  const most = Math.max(...cols);
  const size = Math.max(18, Math.min(46, (h - 16) / most - 10));
  const gap = Math.min(size * 0.5, (h - most * size) / Math.max(1, most));
  const xs = cols.map((_, i) => 64 + i * (w - 64 - 40 - size) / Math.max(1, cols.length - 1));
  const ys = cols.map((n) => {
    const total = n * size + (n - 1) * gap, top = (h - total) / 2;
    return Array.from({ length: n }, (_, j) => top + j * (size + gap));
  });
  // links first, under the nodes
  state.weights.forEach((layer, l) => {
    layer.kernel.forEach((row, i) => row.forEach((wt, j) => {
      const x0 = xs[l] + size, y0 = ys[l][i] + size / 2, x1 = xs[l + 1], y1 = ys[l + 1][j] + size / 2;
      const a = Math.abs(wt);
      ctx.beginPath();
      ctx.moveTo(x0, y0);
      ctx.bezierCurveTo((x0 + x1) / 2, y0, (x0 + x1) / 2, y1, x1, y1);
      ctx.strokeStyle = `rgba(${wt >= 0 ? RGB1 : RGB0},${0.25 + 0.6 * Math.min(1, a)})`;
      ctx.lineWidth = Math.min(7, 0.4 + 2 * a);
      ctx.stroke();
    }));
  });
  const node = (b64, n, x, y) => {
    paintMap(ctx, b64, n, x, y, size, size, 0);
    ctx.strokeStyle = "#9aa0a6"; ctx.lineWidth = 1; ctx.strokeRect(x + 0.5, y + 0.5, size - 1, size - 1);
  };
  ctx.font = "13px system-ui, sans-serif"; ctx.fillStyle = "#202124"; ctx.textAlign = "right";
  settings.features.forEach((f, i) => {
    node(data.inputs[i], state.unit_grid, xs[0], ys[0][i]);
    ctx.fillText(FEATURE_LABELS[f] || f, xs[0] - 6, ys[0][i] + size / 2 + 4);
  });
  state.units.forEach((layer, l) => layer.forEach((b64, j) => node(b64, state.unit_grid, xs[l + 1], ys[l + 1][j])));
  const last = cols.length - 1;
  node(state.output, state.grid, xs[last], ys[last][0]);
  ctx.textAlign = "left";
  placeControls(xs.map((x) => x + size / 2));
}

function placeControls(centres) {
  // the +/- of each hidden layer's units, above its column; rebuilt only when the layout changes
  const perceptron = settings.model === "perceptron";
  const key = JSON.stringify([centres.map(Math.round), settings.hidden, perceptron]);
  if (key === controlsKey) return;
  controlsKey = key;
  const box = $("unit-controls");
  box.textContent = "";
  const title = (text, x) => {
    const t = document.createElement("div");
    t.className = "col-title"; t.style.left = `${x}px`; t.textContent = text; box.appendChild(t);
  };
  title(tr("Input"), centres[0]);
  title(tr(perceptron ? "Step output" : "Output"), centres[centres.length - 1]);
  if (perceptron) return;
  settings.hidden.forEach((units, l) => {
    const ctl = document.createElement("div");
    ctl.className = "unit-ctl"; ctl.style.left = `${centres[l + 1]}px`;
    const minus = document.createElement("button"), plus = document.createElement("button");
    const count = document.createElement("input");
    minus.textContent = "\u2212"; plus.textContent = "+";
    minus.title = tr("One unit less"); plus.title = tr("One unit more");
    minus.className = "remove-unit"; plus.className = "add-unit"; count.className = "units";
    count.type = "number"; count.value = units; count.dataset.layer = l;
    count.title = `${tr("units in hidden layer")} ${l + 1}`;
    const set = (n) => { const hidden = settings.hidden.slice(); hidden[l] = n; configure({ hidden }); };
    const [low, high] = options.limits.units;
    minus.onclick = () => set(Math.max(low, units - 1));
    plus.onclick = () => set(Math.min(high, units + 1));
    count.onchange = () => set(asNumber(count.value));
    ctl.append(minus, count, plus);
    box.appendChild(ctl);
  });
}

function render() {
  $("epoch").textContent = state.epoch.toLocaleString("en");
  const fmt = (v) => (Number.isFinite(v) ? v.toFixed(3) : "NaN");
  $("test-loss").textContent = fmt(state.test_loss);
  $("train-loss").textContent = fmt(state.train_loss);
  $("test-accuracy").textContent = `${(100 * state.test_accuracy).toFixed(1)} %`;
  $("note").textContent = state.converged
    ? `${tr("Converged at epoch")} ${state.epoch}: ${tr("a whole pass over the training points without a mistake.")}`
    : "";
  const playing = state.running;
  $("play").classList.toggle("playing", playing);
  $("play").title = tr(playing ? "Pause (space)" : "Play (space)");
  drawOutput();
  drawCurve();
  drawNetwork();
}

// ---------------------------------------------------------------------------- controls
function asNumber(text) {
  // what the user typed, as a number when it is one (else as typed: the server says what it expected)
  const v = String(text).trim();
  return v !== "" && Number.isFinite(Number(v)) ? Number(v) : v;
}

function showMessage(text) {
  $("message-text").textContent = text;
  $("message").hidden = false;
}

function send(message) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
}

function configure(changes) {
  send({ action: "configure", settings: changes });
}

function fillSelect(id, values, labels) {
  const select = $(id);
  values.forEach((v) => {
    const o = document.createElement("option");
    o.value = v; o.dataset.en = (labels && labels[v]) || v; o.textContent = tr(o.dataset.en);
    select.appendChild(o);
  });
}

function syncControls(force) {
  // show the server's settings, except in the control the user is editing (all of them after an error)
  const focused = force ? null : document.activeElement;
  for (const id of ["model", "optimizer", "activation", "regularization", "problem", "epochs_per_frame",
                    ...NUMBERS]) {
    const el = $(id);
    if (el && el !== focused) el.value = settings[id];
  }
  for (const id of ["points", "noise", "train_fraction"]) $(`${id}-out`).textContent = settings[id];
  document.querySelectorAll(".datasets button").forEach((b) => b.classList.toggle("on", b.dataset.name === settings.dataset));
  document.querySelectorAll(".features input").forEach((c) => { c.checked = settings.features.includes(c.value); });
  const perceptron = settings.model === "perceptron";
  const n = settings.hidden.length;
  $("layer-count").textContent = perceptron ? tr("one threshold unit")
    : `${n} ${tr(n === 1 ? "hidden layer" : "hidden layers")}`;
  for (const id of ["add-layer", "remove-layer", "activation", "optimizer", "regularization", "reg_rate", "dropout",
                    "batch_size", "problem"]) $(id).disabled = perceptron;
  $("test-loss-label").textContent = tr(perceptron ? "Test error" : "Test loss");
  $("train-loss-label").textContent = tr(perceptron ? "Training error" : "Training loss");
}

function buildControls() {
  const ch = options.choices;
  fillSelect("model", ch.model, MODEL_LABELS);
  fillSelect("optimizer", ch.optimizer, OPTIMIZER_LABELS);
  fillSelect("activation", ch.activation, ACTIVATION_LABELS);
  fillSelect("regularization", ch.regularization);
  fillSelect("problem", ch.problem);
  for (const id of ["model", "optimizer", "activation", "regularization", "problem"]) {
    $(id).onchange = () => configure({ [id]: $(id).value });
  }
  $("epochs_per_frame").onchange = () => configure({ epochs_per_frame: Number($("epochs_per_frame").value) });
  for (const id of ["lr", "reg_rate", "dropout", "batch_size"]) {
    $(id).onchange = () => configure({ [id]: asNumber($(id).value) });
  }
  for (const id of ["points", "noise", "train_fraction"]) {
    $(id).oninput = () => { $(`${id}-out`).textContent = $(id).value; };
    $(id).onchange = () => configure({ [id]: asNumber($(id).value) });
  }
  ch.dataset.forEach((name) => {
    const b = document.createElement("button");
    b.dataset.name = name; b.id = `dataset-${name}`; b.dataset.en = DATASET_LABELS[name] || name;
    b.textContent = tr(b.dataset.en);
    b.onclick = () => configure({ dataset: name });
    $("datasets").appendChild(b);
  });
  ch.features.forEach((f) => {
    const label = document.createElement("label"), box = document.createElement("input");
    box.type = "checkbox"; box.value = f;
    box.onchange = () => configure({
      features: [...document.querySelectorAll(".features input")].filter((c) => c.checked).map((c) => c.value),
    });
    label.append(box, FEATURE_LABELS[f] || f);
    $("features").appendChild(label);
  });
  $("regenerate").onclick = () => configure({ seed: (settings.seed + 1) % options.limits.seed[1] });
  $("add-layer").onclick = () => {
    if (settings.hidden.length < options.limits.layers[1]) configure({ hidden: [...settings.hidden, 2] });
  };
  $("remove-layer").onclick = () => {
    if (settings.hidden.length > 0) configure({ hidden: settings.hidden.slice(0, -1) });
  };
  $("play").onclick = () => send({ action: state && state.running ? "pause" : "play" });
  $("step").onclick = () => send({ action: "step" });
  $("reset").onclick = () => send({ action: "reset" });
  $("export").onclick = () => send({ action: "export" });
  $("show-test").onchange = () => state && render();
  $("message-close").onclick = () => { $("message").hidden = true; };
  $("code-close").onclick = () => $("code-dialog").close();
  $("copy").onclick = () => {
    navigator.clipboard.writeText($("code").textContent).then(
      () => { $("copy").textContent = tr("Copied"); setTimeout(() => { $("copy").textContent = tr("Copy"); }, 1500); },
      () => showMessage("the browser did not allow copying: select the code and copy it by hand"));
  };
  document.addEventListener("keydown", (e) => {
    if (["INPUT", "SELECT", "TEXTAREA", "BUTTON"].includes(e.target.tagName) || $("code-dialog").open) return;
    if (e.key === " ") { e.preventDefault(); $("play").click(); }
    if (e.key === "s") $("step").click();
    if (e.key === "r") $("reset").click();
  });
  $("lang").onclick = () => {
    lang = lang === "es" ? "en" : "es";
    localStorage.setItem("neurona-playground-lang", lang);
    translatePage();
  };
  window.addEventListener("resize", () => { controlsKey = ""; if (state) render(); });
}

function translatePage() {
  // static text carries data-i18n (its English kept in data-en); titles, options and data set buttons too
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-i18n], option, .datasets button").forEach((el) => {
    if (el.dataset.en === undefined) el.dataset.en = el.textContent.trim();
    el.textContent = tr(el.dataset.en);
  });
  document.querySelectorAll("[title]:not(#unit-controls *)").forEach((el) => {
    if (el.dataset.enTitle === undefined) el.dataset.enTitle = el.title;
    el.title = tr(el.dataset.enTitle);
  });
  $("lang").textContent = lang === "es" ? "EN" : "ES";
  controlsKey = "";
  if (state) { syncControls(); render(); }
}

// ---------------------------------------------------------------------------- the connection
function receive(event) {
  const msg = JSON.parse(event.data);
  if (msg.type === "error") {
    showMessage(msg.message);
    if (settings) { syncControls(true); controlsKey = ""; render(); }  // undo the rejected value
    return;
  }
  if (msg.type === "code") {
    $("code").textContent = msg.code;
    $("code-dialog").showModal();
    return;
  }
  if (msg.type === "state") {
    if (msg.train_points) { data = msg; $("message").hidden = true; }
    state = msg;
    settings = msg.settings;
    syncControls();
    render();
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  ws = new WebSocket(`${scheme}://${location.host}/ws`);
  ws.onmessage = receive;
  ws.onclose = () => showMessage(tr("The connection to the server is closed: is `neurona playground` still running? "
                                    + "Reload the page to start again."));
}

async function main() {
  try {
    options = await (await fetch("/api/options")).json();
  } catch (err) {
    showMessage(`could not reach the playground server (${err}): start it with \`neurona playground\``);
    return;
  }
  buildControls();
  translatePage();
  connect();
}

main();
