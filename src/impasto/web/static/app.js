// impasto studio page: plain JavaScript, no build step, no external requests.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { info: null, content: null, style: "gallery:starry-night", job: null, source: null };

async function api(path, options = {}) {
  const response = await fetch(path, options);
  let body = null;
  try { body = await response.json(); } catch (_) { /* not JSON */ }
  if (!response.ok) throw new Error((body && body.detail) || `${response.status} ${response.statusText}`);
  return body;
}

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function method() { return document.querySelector('input[name="method"]:checked').value; }

// ---- settings -------------------------------------------------------------------------------
function engineChoices() {
  const choices = state.info.models.map((m) => ({ value: `fast:${m}`, text: `${m} (shipped fast model)` }));
  for (const m of ["wct", "adain"]) {
    if (state.info.methods.includes(m)) choices.unshift({ value: m, text: `${m.toUpperCase()} (any painting)` });
  }
  return choices;
}

function fixedStyle() {  // a shipped fast model paints one painting only
  return method() === "instant" && $("engine").value.startsWith("fast:") ? "gallery:starry-night" : null;
}

function refreshForm() {
  const best = method() === "gatys";
  $("engine-row").hidden = best;
  $("steps-row").hidden = !best;
  const fixed = fixedStyle();
  const note = $("instant-note");
  note.hidden = !fixed;
  if (fixed) {
    note.textContent = state.info.methods.includes("wct") ? "" :
      "Instant uses a shipped network trained on The Starry Night; for any other painting choose Best " +
      "(universal transfer, WCT/AdaIN, is not in this build yet).";
    state.style = fixed;
  }
  for (const button of $("styles").querySelectorAll("button")) {
    button.disabled = Boolean(fixed) && button.dataset.style !== fixed;
    button.setAttribute("aria-checked", String(button.dataset.style === state.style));
  }
  $("style-drop").hidden = Boolean(fixed);
  const key = best ? "gatys" : ($("engine").value.startsWith("fast:") ? "fast" : $("engine").value);
  const [low, high] = state.info.sizes[key];
  const size = $("size");
  size.min = low; size.max = Math.min(high, 1024);
  if (Number(size.value) > Number(size.max)) size.value = size.max;
  $("size-out").textContent = `${size.value} px`;
  if (best && state.lastMethod !== "gatys") { size.value = state.info.defaults.gatys; $("strength").value = 0.5; }
  if (!best && state.lastMethod === "gatys") { size.value = 512; $("strength").value = 1; }
  state.lastMethod = best ? "gatys" : "instant";
  $("size-out").textContent = `${size.value} px`;
  $("strength-out").textContent = Number($("strength").value).toFixed(2);
  $("run").disabled = !state.content || Boolean(state.job);
}

function jobSettings() {
  const settings = { content: state.content, image_size: Number($("size").value),
    strength: Number($("strength").value), preserve_color: $("preserve").checked };
  if (method() === "gatys") {
    Object.assign(settings, { method: "gatys", style: state.style, steps: Number($("steps").value) });
  } else if ($("engine").value.startsWith("fast:")) {
    Object.assign(settings, { method: "fast", model: $("engine").value.slice(5) });
  } else {
    Object.assign(settings, { method: $("engine").value, style: state.style });
  }
  return settings;
}

function applySettings(params) {  // re-run: put a past job's settings back into the form
  state.content = params.content;
  showPhoto(`/api/uploads/${params.content}.png`);
  const gatys = params.method === "gatys";
  document.querySelector(`input[name="method"][value="${gatys ? "gatys" : "instant"}"]`).checked = true;
  state.lastMethod = gatys ? "gatys" : "instant";
  if (!gatys) $("engine").value = params.method === "fast" ? `fast:${params.model}` : params.method;
  state.style = params.style;
  $("size").value = params.image_size;
  $("strength").value = params.strength;
  $("preserve").checked = params.preserve_color;
  if (params.steps) $("steps").value = params.steps;
  refreshForm();
  setStatus("Settings of that result loaded: change them and press Stylise.");
}

// ---- uploads ----------------------------------------------------------------------------------
function showPhoto(url) {
  $("photo-thumb").src = url;
  $("photo-thumb").hidden = false;
  $("photo-hint").textContent = "Drop another photo to replace it";
  $("before").src = url;
}

async function upload(file) {
  const form = new FormData();
  form.append("file", file);
  return api("/api/uploads", { method: "POST", body: form });
}

async function takePhoto(file) {
  setStatus("Uploading the photo…");
  try {
    const stored = await upload(file);
    state.content = stored.id;
    showPhoto(`/api/uploads/${stored.id}.png`);
    setStatus(`Photo ready (${stored.width}×${stored.height}). Press Stylise.`);
  } catch (err) { setStatus(err.message, true); }
  refreshForm();
}

async function takeStyle(file) {
  setStatus("Uploading the painting…");
  try {
    const stored = await upload(file);
    state.style = `upload:${stored.id}`;
    if (fixedStyle()) document.querySelector('input[name="method"][value="gatys"]').checked = true;
    $("style-hint").textContent = "Your painting is selected";
    setStatus("Painting ready.");
  } catch (err) { setStatus(err.message, true); }
  refreshForm();
}

function dropZone(zone, input, take) {
  input.addEventListener("change", () => input.files[0] && take(input.files[0]));
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault(); zone.classList.remove("over");
    if (e.dataTransfer.files[0]) take(e.dataTransfer.files[0]);
  });
}

// ---- jobs -------------------------------------------------------------------------------------
async function run() {
  const settings = jobSettings();
  $("run").disabled = true;
  setStatus("Queued…");
  try {
    const job = await api("/api/jobs", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(settings) });
    follow(job.id);
  } catch (err) { setStatus(err.message, true); refreshForm(); }
}

function follow(id) {
  state.job = id;
  state.started = performance.now();
  $("cancel").hidden = false;
  $("progress").hidden = false;
  $("progress").value = 0;
  $("download").hidden = true;
  const source = new EventSource(`/api/jobs/${id}/events`);
  state.source = source;
  source.onmessage = (message) => {
    const job = JSON.parse(message.data);
    if (job.image) showResult(job.image, null);
    if (job.status === "queued") setStatus("Waiting in the queue…");
    if (job.status === "running" && job.total) {
      $("progress").max = job.total; $("progress").value = job.step;
      setStatus(`Running: ${job.stage} ${job.step}/${job.total}`);
      $("progress").dataset.updates = String(Number($("progress").dataset.updates || 0) + 1);
    }
    if (["done", "failed", "cancelled"].includes(job.status)) finish(job);
  };
  source.onerror = () => { if (state.job === id && source.readyState === EventSource.CLOSED) finish(null); };
}

function finish(job) {
  if (state.source) state.source.close();
  state.source = null; state.job = null;
  $("cancel").hidden = true;
  $("progress").hidden = true;
  if (job && job.status === "done") {
    const seconds = ((performance.now() - state.started) / 1000).toFixed(2);
    showResult(job.result_url, job);
    setStatus(`Done in ${seconds} s (${job.label}).`);
    $("result-info").textContent = "";
  } else if (job && job.status === "failed") setStatus(`Failed: ${job.error}`, true);
  else if (job) setStatus("Cancelled.");
  else setStatus("Lost the connection to the server.", true);
  refreshForm();
  loadHistory();
}

function showResult(url, job) {
  $("empty").hidden = true;
  $("compare-box").hidden = false;
  $("compare").hidden = false;
  $("after").src = url;
  if (job) {
    $("before").src = `/api/uploads/${job.params.content}.png`;
    $("download").href = `${job.result_url}?download=1`;
    $("download").hidden = false;
  }
}

function moveSlider() {
  const at = Number($("compare").value);
  $("after-clip").style.clipPath = `inset(0 0 0 ${at}%)`;
  $("divider").style.left = `${at}%`;
}

async function loadHistory() {
  let jobs = [];
  try { jobs = await api("/api/jobs"); } catch (_) { return; }
  const box = $("history");
  box.replaceChildren();
  for (const job of jobs.slice(0, 60)) {
    const card = document.createElement("div");
    card.className = "card";
    card.dataset.job = job.id;
    const isVideo = job.params.method === "video";
    const img = document.createElement(isVideo ? "video" : "img");
    if (isVideo) {
      img.muted = true; img.controls = job.status === "done"; img.preload = "metadata";
      if (job.status === "done") img.src = job.result_url;
    } else {
      img.alt = job.label;
      img.src = job.status === "done" ? job.result_url : `/api/uploads/${job.params.content}.png`;
      if (job.status === "done") img.addEventListener("click", () => showResult(job.result_url, job));
    }
    const meta = document.createElement("div");
    meta.className = "meta";
    const text = document.createElement("span");
    text.innerHTML = "";
    text.append(job.label, document.createElement("br"));
    const st = document.createElement("span");
    st.className = "state"; st.textContent = job.status;
    text.append(st);
    const again = document.createElement("button");
    again.textContent = "Re-run"; again.title = "load these settings into the form";
    again.addEventListener("click", () => applySettings(job.params));
    again.hidden = isVideo || !state.info.methods.includes(job.params.method);  // e.g. the study's peer results
    meta.append(text, again);
    card.append(img, meta);
    box.append(card);
  }
}

// ---- video ------------------------------------------------------------------------------------
const clip = { id: null, job: null, source: null };

function videoStatus(text, isError = false) {
  $("video-status").textContent = text;
  $("video-status").classList.toggle("error", isError);
}

async function takeVideo(file) {
  videoStatus("Uploading the video…");
  try {
    const form = new FormData();
    form.append("file", file);
    const stored = await api("/api/videos", { method: "POST", body: form });
    clip.id = stored.id;
    videoStatus(`Video ready (${stored.width}×${stored.height}, ${stored.frames} frames). Press Stylise video.`);
  } catch (err) { videoStatus(err.message, true); }
  $("video-run").disabled = !clip.id || Boolean(clip.job);
}

async function runVideo() {
  const engine = $("engine").value;
  const settings = { method: "video", content: clip.id, engine,
    image_size: Math.min(Number($("size").value), 768), strength: Number($("strength").value) };
  if (!engine.startsWith("fast:")) settings.style = state.style;
  $("video-run").disabled = true;
  $("video-download").hidden = true;
  try {
    const job = await api("/api/jobs", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(settings) });
    followVideo(job.id);
  } catch (err) { videoStatus(err.message, true); $("video-run").disabled = false; }
}

function followVideo(id) {
  clip.job = id;
  $("video-progress").hidden = false;
  $("video-progress").value = 0;
  videoStatus("Queued…");
  const source = new EventSource(`/api/jobs/${id}/events`);
  clip.source = source;
  const done = (job) => {
    source.close();
    clip.job = null; clip.source = null;
    $("video-progress").hidden = true;
    $("video-run").disabled = !clip.id;
    if (job && job.status === "done") {
      $("video-out").src = job.result_url; $("video-out").hidden = false;
      $("video-download").href = `${job.result_url}?download=1`; $("video-download").hidden = false;
      videoStatus(`Done (${job.label}).`);
    } else if (job && job.status === "failed") videoStatus(`Failed: ${job.error}`, true);
    else if (job) videoStatus("Cancelled.");
    else videoStatus("Lost the connection to the server.", true);
    loadHistory();
  };
  source.onmessage = (message) => {
    const job = JSON.parse(message.data);
    if (job.status === "running" && job.total) {
      $("video-progress").max = job.total; $("video-progress").value = job.step;
      videoStatus(`Painting frame ${job.step} of ${job.total}…`);
    }
    if (["done", "failed", "cancelled"].includes(job.status)) done(job);
  };
  source.onerror = () => { if (clip.job === id && source.readyState === EventSource.CLOSED) done(null); };
}

// ---- camera -----------------------------------------------------------------------------------
const camera = { stream: null, socket: null, frames: 0, since: 0 };

async function toggleCamera() {
  if (camera.stream) return stopCamera();
  try {
    camera.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: false });
  } catch (err) { setStatus(`No camera: ${err.message}`, true); return; }
  const video = $("camera-video");
  video.srcObject = camera.stream;
  await video.play();
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const model = state.info.models.includes("starry-night-lite") ? "starry-night-lite" : state.info.models[0];
  camera.socket = new WebSocket(`${proto}://${location.host}/ws/camera?model=${encodeURIComponent(model)}`);
  camera.socket.binaryType = "blob";
  camera.socket.onopen = () => { camera.since = performance.now(); sendFrame(); };
  camera.socket.onmessage = async (message) => {
    if (typeof message.data === "string") { setStatus(JSON.parse(message.data).error, true); return; }
    const bitmap = await createImageBitmap(message.data);
    $("camera-out").getContext("2d").drawImage(bitmap, 0, 0, 320, 240);
    camera.frames += 1;
    $("camera-count").textContent = String(camera.frames);
    $("camera-fps").textContent = (camera.frames / ((performance.now() - camera.since) / 1000)).toFixed(1);
    sendFrame();
  };
  camera.socket.onclose = () => stopCamera();
  $("camera-toggle").textContent = "Stop camera";
}

function sendFrame() {  // one frame in flight at a time: the server sets the pace
  if (!camera.socket || camera.socket.readyState !== WebSocket.OPEN) return;
  const grab = document.createElement("canvas");
  grab.width = 320; grab.height = 240;
  grab.getContext("2d").drawImage($("camera-video"), 0, 0, 320, 240);
  grab.toBlob((blob) => blob && camera.socket && camera.socket.send(blob), "image/jpeg", 0.8);
}

function stopCamera() {
  if (camera.socket) { const s = camera.socket; camera.socket = null; s.close(); }
  if (camera.stream) camera.stream.getTracks().forEach((t) => t.stop());
  camera.stream = null;
  $("camera-toggle").textContent = "Start camera";
}

// ---- start ------------------------------------------------------------------------------------
async function start() {
  state.info = await api("/api/info");
  for (const choice of engineChoices()) {
    const option = document.createElement("option");
    option.value = choice.value; option.textContent = choice.text;
    $("engine").append(option);
  }
  if (state.info.models.includes("starry-night-lite")) $("engine").value = "fast:starry-night-lite";
  for (const name of state.info.styles) {
    const button = document.createElement("button");
    button.type = "button"; button.dataset.style = `gallery:${name}`; button.setAttribute("role", "radio");
    button.title = name;
    const img = document.createElement("img");
    img.src = `/api/gallery/${name}.jpg`; img.alt = name;
    const caption = document.createElement("span");
    caption.textContent = name.replace(/-/g, " ");
    button.append(img, caption);
    button.addEventListener("click", () => { state.style = button.dataset.style; refreshForm(); });
    $("styles").append(button);
  }
  dropZone($("photo-drop"), $("photo-input"), takePhoto);
  dropZone($("style-drop"), $("style-input"), takeStyle);
  for (const input of document.querySelectorAll('input[name="method"], #engine, #size, #strength')) {
    input.addEventListener("input", refreshForm);
  }
  $("run").addEventListener("click", run);
  $("cancel").addEventListener("click", () => state.job && api(`/api/jobs/${state.job}`, { method: "DELETE" }));
  $("compare").addEventListener("input", moveSlider);
  $("camera-toggle").addEventListener("click", toggleCamera);
  $("video-section").hidden = !state.info.video;
  dropZone($("video-drop"), $("video-input"), takeVideo);
  $("video-run").addEventListener("click", runVideo);
  refreshForm();
  moveSlider();
  loadHistory();
  document.body.dataset.ready = "true";
}

start().catch((err) => setStatus(`Cannot reach the server: ${err.message}`, true));
