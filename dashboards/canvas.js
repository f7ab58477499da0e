// Render script of canapy.dashboards.canvas.SpectrogramCanvas (a ReactiveHTML body:
// `data`, `state`, `view` and the template's elements `box`, `canvas`, `player` are in
// scope). Everything lives on `state`; the other scripts call state.draw() & co.
const L = 52, R = 10, TOP = 4, TRACK = 28, AXIS = 24, EDGE = 6, MIN_S = 0.004;
const ctx = canvas.getContext('2d');
state.n = state.n || 0;
state.segs = [];          // [{name, segs:[{on, off, label, id}]}] (local copy, edited by drags)
state.drag = null;
state.view = [0, 1];
state.playhead = null;

state.width = () => Math.max(10, canvas.clientWidth - L - R);
state.specH = () => data.spec_height;
state.height = () => TOP + data.spec_height + TRACK * state.segs.length + AXIS;
state.xOf = (t) => L + (t - state.view[0]) / (state.view[1] - state.view[0]) * state.width();
state.tOf = (x) => state.view[0] + (x - L) / state.width() * (state.view[1] - state.view[0]);
// Each event carries the few before it: Panel keeps only the last value of a property
// changed twice before the server reads it (a key typed right after a drawn stretch).
state.recent = state.recent || [];
state.emit = (ev) => {
  state.n += 1; ev.n = state.n;
  data.event = {...ev, earlier: state.recent.slice()};
  state.recent = [...state.recent, ev].slice(-8);
};

state.setView = (v) => {
  const dur = Math.max(data.duration, 1e-3);
  let a = Number(v[0]), b = Number(v[1]);
  if (!(b > a)) { a = 0; b = dur; }
  let span = Math.min(Math.max(b - a, 0.02), dur);
  a = Math.min(Math.max(a, 0), dur - span);
  state.view = [a, a + span];
  canvas.dataset.view0 = state.view[0];
  canvas.dataset.view1 = state.view[1];
  canvas.dataset.left = L;
  canvas.dataset.plotWidth = state.width();
};
// Geometry and state as data-* attributes: what a browser test (or a user script) reads.
state.publish = () => {
  const k = state.segs.findIndex((tr) => tr.name === data.editable);
  const d = canvas.dataset;
  d.specTop = TOP; d.specHeight = data.spec_height;
  d.trackY = k >= 0 ? TOP + data.spec_height + (k + 0.5) * TRACK : '';
  d.nSegments = k >= 0 ? state.segs[k].segs.length : 0;
  d.freq0 = data.freq_range[0]; d.freq1 = data.freq_range[1];
  d.pending = data.pending.join(',');
  d.ready = state.img ? '1' : '0';
};
state.syncView = (delay) => {
  clearTimeout(state.viewTimer);
  state.viewTimer = setTimeout(() => { data.view = [state.view[0], state.view[1]]; }, delay);
};

state.newTracks = () => {
  state.segs = (data.tracks || []).map((tr) => ({
    name: tr.name,
    segs: tr.segs.map((s) => ({on: s[0], off: s[1], label: String(s[2]), id: s[3] || '', conf: s[4]})),
  }));
  const k = state.segs.findIndex((tr) => tr.name === data.editable);
  canvas.dataset.segments = JSON.stringify(k >= 0 ? data.tracks[k].segs : []);
  state.resize();
};

state.newImage = () => {
  const img = data.image;
  state.img = null;
  if (!img || !img.rows || !data.lut.length) return;
  const raw = atob(img.data);
  const rows = img.rows, cols = img.cols;
  const lut = data.lut.map((c) => [1, 3, 5].map((i) => parseInt(c.substr(i, 2), 16)));
  const off = document.createElement('canvas');
  off.width = cols; off.height = rows;
  const octx = off.getContext('2d');
  const pix = octx.createImageData(cols, rows);
  const top = img.top_db, range = Math.max(5, data.db_range);
  const map = new Uint8Array(256);
  for (let v = 0; v < 256; v++) {
    const db = v / 255 * top - top;
    map[v] = Math.round(Math.min(1, Math.max(0, (db + range) / range)) * 255);
  }
  for (let r = 0; r < rows; r++) {
    const y = rows - 1 - r;  // row 0 is the lowest frequency: drawn at the bottom
    for (let c = 0; c < cols; c++) {
      const col = lut[map[raw.charCodeAt(r * cols + c)]];
      const k = 4 * (y * cols + c);
      pix.data[k] = col[0]; pix.data[k + 1] = col[1]; pix.data[k + 2] = col[2]; pix.data[k + 3] = 255;
    }
  }
  octx.putImageData(pix, 0, 0);
  state.img = {canvas: off, ...img};
};

state.resize = () => {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(50, box.clientWidth);
  const h = state.height();
  canvas.style.width = w + 'px';
  canvas.style.height = h + 'px';
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  state.setView(state.view);
  state.draw();
};

function niceStep(span, n) {
  const raw = span / n, p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

state.trackAt = (y) => {
  const k = Math.floor((y - TOP - state.specH()) / TRACK);
  return (y >= TOP + state.specH() && k < state.segs.length) ? k : -1;
};

state.draw = () => {
  state.publish();
  const W = state.width(), H = state.specH(), x0 = L, y0 = TOP;
  const v = state.view, span = v[1] - v[0];
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = '#000'; ctx.fillRect(x0, y0, W, H);
  const fr = data.freq_range, img = state.img;
  if (img) {
    const a = Math.max(v[0], img.start_s), b = Math.min(v[1], img.end_s);
    if (b > a) {
      const per = img.cols / (img.end_s - img.start_s);
      const sx = (a - img.start_s) * per, sw = (b - a) * per;
      const fmax = img.fmax_khz, lo = Math.max(0, fr[0]), hi = Math.min(fmax, fr[1]);
      const sy = img.rows * (1 - hi / fmax), sh = img.rows * (hi - lo) / fmax;
      ctx.imageSmoothingEnabled = true;
      if (sw > 0 && sh > 0) ctx.drawImage(img.canvas, sx, sy, sw, sh, state.xOf(a), y0, state.xOf(b) - state.xOf(a), H);
    }
  }
  ctx.font = '11px sans-serif'; ctx.fillStyle = '#333'; ctx.strokeStyle = '#999';
  ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
  // frequency ticks
  const fstep = niceStep(Math.max(0.1, fr[1] - fr[0]), 5);
  for (let f = Math.ceil(fr[0] / fstep) * fstep; f <= fr[1] + 1e-9; f += fstep) {
    const y = y0 + H * (1 - (f - fr[0]) / (fr[1] - fr[0]));
    ctx.fillText(+f.toFixed(2) + '', x0 - 6, Math.min(Math.max(y, y0 + 6), y0 + H - 6));
    ctx.beginPath(); ctx.moveTo(x0 - 3, y); ctx.lineTo(x0, y); ctx.stroke();
  }
  ctx.save(); ctx.translate(11, y0 + H / 2); ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center'; ctx.fillText('kHz', 0, 0); ctx.restore();
  // tracks
  ctx.save();
  ctx.beginPath(); ctx.rect(x0, 0, W, canvas.height); ctx.clip();
  const sel = data.selected || {};
  state.segs.forEach((tr, k) => {
    const ty = y0 + H + k * TRACK;
    ctx.fillStyle = tr.name === data.editable ? '#eef6ff' : '#f4f4f4';
    ctx.fillRect(x0, ty, W, TRACK);
    for (const s of tr.segs) {
      if (s.off < v[0] || s.on > v[1]) continue;
      const a = state.xOf(s.on), b = state.xOf(s.off), w = Math.max(1, b - a);
      ctx.fillStyle = data.colors[s.label] || '#999999';
      ctx.fillRect(a, ty + 3, w, TRACK - 6);
      const isSel = sel.source === tr.name && Math.abs(sel.onset_s - s.on) < 1e-6 && Math.abs(sel.offset_s - s.off) < 1e-6;
      const isDrag = state.drag && state.drag.seg === s;
      if (isSel || isDrag) {
        ctx.lineWidth = 2; ctx.strokeStyle = '#00bcd4';
        ctx.strokeRect(a - 1, ty + 2, w + 2, TRACK - 4);
      }
      ctx.font = 'bold 12px sans-serif';
      const tw = ctx.measureText(s.label).width;
      if (w >= tw + 4) {  // text only where it fits: legible at every zoom
        ctx.fillStyle = '#000'; ctx.textAlign = 'center';
        ctx.fillText(s.label, (Math.max(a, x0) + Math.min(b, x0 + W)) / 2, ty + TRACK / 2);
      }
    }
  });
  // selection, drawn stretch, cursor and playhead over the spectrogram
  const band = (a, b, fill, stroke, dash) => {
    const xa = state.xOf(a), xb = state.xOf(b);
    ctx.fillStyle = fill; ctx.fillRect(xa, y0, xb - xa, H);
    ctx.strokeStyle = stroke; ctx.lineWidth = 1.5; ctx.setLineDash(dash);
    ctx.beginPath(); ctx.moveTo(xa, y0); ctx.lineTo(xa, y0 + H); ctx.moveTo(xb, y0); ctx.lineTo(xb, y0 + H); ctx.stroke();
    ctx.setLineDash([]);
  };
  if (state.drag && state.drag.seg) band(state.drag.seg.on, state.drag.seg.off, 'rgba(0,224,255,0.15)', '#00e0ff', []);
  else if (sel.source) band(sel.onset_s, sel.offset_s, 'rgba(0,224,255,0.15)', '#00e0ff', []);
  const pend = state.drag && state.drag.kind === 'new' ? state.drag.range : (data.pending.length === 2 ? data.pending : null);
  if (pend) {
    band(pend[0], pend[1], 'rgba(255,255,255,0.18)', '#ffffff', [4, 3]);
    if (!state.drag) {
      ctx.fillStyle = '#fff'; ctx.textAlign = 'left'; ctx.font = '12px sans-serif';
      ctx.fillText('type a key to label it (Esc: cancel)', state.xOf(pend[1]) + 4, y0 + 12);
    }
  }
  if (state.drag && state.drag.kind === 'zoom') band(state.drag.range[0], state.drag.range[1], 'rgba(255,255,0,0.15)', '#ffeb3b', [2, 2]);
  const full = H + TRACK * state.segs.length;
  if (data.cursor !== null && data.cursor !== undefined) {
    ctx.strokeStyle = '#ffeb3b'; ctx.lineWidth = 1; ctx.setLineDash([3, 3]);
    const x = state.xOf(data.cursor);
    ctx.beginPath(); ctx.moveTo(x, y0); ctx.lineTo(x, y0 + full); ctx.stroke(); ctx.setLineDash([]);
  }
  if (state.playhead !== null) {
    ctx.strokeStyle = '#ff1744'; ctx.lineWidth = 2;
    const x = state.xOf(state.playhead);
    ctx.beginPath(); ctx.moveTo(x, y0); ctx.lineTo(x, y0 + full); ctx.stroke();
  }
  ctx.restore();
  // track names and time axis
  ctx.font = '10px sans-serif'; ctx.fillStyle = '#333'; ctx.textAlign = 'right';
  state.segs.forEach((tr, k) => {
    const name = tr.name.length > 8 ? tr.name.slice(0, 7) + '…' : tr.name;
    ctx.fillText(name, x0 - 4, y0 + H + k * TRACK + TRACK / 2);
  });
  const ay = y0 + full;
  ctx.strokeStyle = '#999'; ctx.beginPath(); ctx.moveTo(x0, ay); ctx.lineTo(x0 + W, ay); ctx.stroke();
  const tstep = niceStep(span, Math.max(2, W / 90));
  ctx.textAlign = 'center'; ctx.textBaseline = 'top'; ctx.font = '11px sans-serif';
  const digits = Math.max(0, Math.min(4, -Math.floor(Math.log10(tstep) + 1e-9)));
  for (let t = Math.ceil(v[0] / tstep) * tstep; t <= v[1] + 1e-9; t += tstep) {
    const x = state.xOf(t);
    ctx.beginPath(); ctx.moveTo(x, ay); ctx.lineTo(x, ay + 4); ctx.stroke();
    ctx.fillText(t.toFixed(digits), x, ay + 6);
  }
  ctx.textAlign = 'left';
  ctx.fillText('s', x0 + W + 2, ay + 6);
  state.drawTip();
};

// -- hover: what the segment under the mouse is ------------------------------------------
state.tipText = (tr, s) => {
  const ms = Math.round((s.off - s.on) * 1000);
  let text = `${s.label}  ${s.on.toFixed(3)}–${s.off.toFixed(3)} s  (${ms} ms)`;
  if (s.conf !== null && s.conf !== undefined) {
    text += tr.name === data.editable || tr.name === 'reference'
      ? `  model confidence ${s.conf.toFixed(2)}` : `  confidence ${s.conf.toFixed(2)}`;
  }
  return text;
};
state.drawTip = () => {
  const t = state.tip;
  canvas.dataset.hover = t ? t.text : '';
  if (!t || state.drag) return;
  ctx.font = '12px sans-serif'; ctx.textBaseline = 'middle'; ctx.textAlign = 'left';
  const w = ctx.measureText(t.text).width + 10, h = 20;
  const x = Math.min(Math.max(L, t.x + 12), L + state.width() - w), y = Math.max(TOP, t.y - h - 6);
  ctx.fillStyle = 'rgba(255,255,255,0.95)'; ctx.fillRect(x, y, w, h);
  ctx.strokeStyle = '#555'; ctx.lineWidth = 1; ctx.strokeRect(x, y, w, h);
  ctx.fillStyle = '#000'; ctx.fillText(t.text, x + 5, y + h / 2);
};

// -- mouse -------------------------------------------------------------------------------
state.pos = (e) => {
  const r = canvas.getBoundingClientRect();
  return [e.clientX - r.left, e.clientY - r.top];
};
state.hit = (k, x) => {
  const tr = state.segs[k];
  if (!tr) return null;
  let best = null;
  for (let i = 0; i < tr.segs.length; i++) {
    const s = tr.segs[i], a = state.xOf(s.on), b = state.xOf(s.off);
    if (x >= a - EDGE && x <= b + EDGE) {
      const edge = Math.abs(x - a) <= EDGE && (b - a) > 2 * EDGE ? 'left'
        : Math.abs(x - b) <= EDGE && (b - a) > 2 * EDGE ? 'right'
        : (x >= a && x <= b ? 'body' : (x < a ? 'left' : 'right'));
      const d = x >= a && x <= b ? 0 : Math.min(Math.abs(x - a), Math.abs(x - b));
      if (!best || d < best.d) best = {seg: s, i: i, edge: edge, d: d, track: tr};
    }
  }
  return best;
};
state.editIndex = () => state.segs.findIndex((tr) => tr.name === data.editable);

state.down = (e) => {
  if (e.button !== 0) return;
  canvas.focus();
  e.preventDefault();
  const [x, y] = state.pos(e);
  const t = state.tOf(x), k = state.trackAt(y);
  const d = {x: x, t: t, moved: false, view: state.view.slice()};
  const mode = e.shiftKey ? 'pan' : (e.ctrlKey || e.metaKey) ? 'zoom' : data.drag_mode;
  if (mode === 'pan') d.kind = 'pan';
  else if (mode === 'zoom') { d.kind = 'zoom'; d.range = [t, t]; }
  else {
    const h = k >= 0 ? state.hit(k, x) : null;
    if (h && h.track.name === data.editable) {
      const segs = h.track.segs;
      d.kind = h.edge; d.seg = h.seg; d.on0 = h.seg.on; d.off0 = h.seg.off;
      d.lo = h.i > 0 ? segs[h.i - 1].off : 0;
      d.hi = h.i + 1 < segs.length ? segs[h.i + 1].on : data.duration;
    } else if (h) { d.kind = 'click'; d.seg = h.seg; d.source = h.track.name; }
    else if (data.editable && state.editIndex() >= 0 && y < TOP + state.specH() + TRACK * state.segs.length) {
      d.kind = 'new'; d.range = [t, t];
    } else d.kind = 'cursor';
  }
  state.drag = d;
  document.addEventListener('mousemove', state.move);
  document.addEventListener('mouseup', state.up);
};

state.move = (e) => {
  const d = state.drag;
  if (!d) return;
  const [x] = state.pos(e);
  if (Math.abs(x - d.x) >= 3) d.moved = true;
  if (!d.moved) return;
  const t = state.tOf(x), dt = t - d.t;
  if (d.kind === 'pan') {
    const span = d.view[1] - d.view[0];
    const shift = -(x - d.x) / state.width() * span;
    state.setView([d.view[0] + shift, d.view[1] + shift]);
  } else if (d.kind === 'zoom' || d.kind === 'new') {
    const tc = Math.min(Math.max(t, 0), data.duration);
    d.range = [Math.min(d.t, tc), Math.max(d.t, tc)];
  } else if (d.kind === 'left') {
    d.seg.on = Math.min(Math.max(d.on0 + dt, d.lo), d.off0 - MIN_S);
  } else if (d.kind === 'right') {
    d.seg.off = Math.max(Math.min(d.off0 + dt, d.hi), d.on0 + MIN_S);
  } else if (d.kind === 'body') {
    const shift = Math.min(Math.max(dt, d.lo - d.on0), d.hi - d.off0);
    d.seg.on = d.on0 + shift; d.seg.off = d.off0 + shift;
  }
  state.draw();
};

state.up = (e) => {
  document.removeEventListener('mousemove', state.move);
  document.removeEventListener('mouseup', state.up);
  const d = state.drag;
  state.drag = null;
  if (!d) return;
  if (d.kind === 'pan') { state.syncView(0); state.draw(); return; }
  if (!d.moved) {  // a click
    if (d.seg) {
      state.emit({kind: 'select', source: d.source || data.editable, onset_s: d.seg.on, offset_s: d.seg.off, label: d.seg.label, id: d.seg.id});
    } else {
      data.cursor = Math.min(Math.max(d.t, 0), data.duration);
      if (data.pending.length) data.pending = [];
    }
    state.draw();
    return;
  }
  if (d.kind === 'zoom') {
    if (d.range[1] - d.range[0] > 0.005) { state.setView(d.range); state.syncView(0); }
  } else if (d.kind === 'new') {
    data.pending = d.range[1] - d.range[0] > MIN_S ? d.range : [];
  } else if (d.seg && (d.seg.on !== d.on0 || d.seg.off !== d.off0)) {
    state.emit({kind: 'move', id: d.seg.id, label: d.seg.label, onset_s: d.seg.on, offset_s: d.seg.off, old_onset_s: d.on0, old_offset_s: d.off0});
  }
  state.draw();
};

state.hover = (e) => {
  if (state.drag) return;
  const [x, y] = state.pos(e);
  const k = state.trackAt(y);
  let cur = data.drag_mode === 'pan' ? 'grab' : 'crosshair';
  const h = k >= 0 ? state.hit(k, x) : null;
  if (data.drag_mode === 'edit' && h && state.segs[k].name === data.editable) {
    cur = h.edge === 'body' ? 'move' : 'ew-resize';
  }
  canvas.style.cursor = cur;
  const tip = h ? {text: state.tipText(h.track, h.seg), x: x, y: y} : null;
  if (tip || state.tip) { state.tip = tip; state.draw(); }  // the tip follows the mouse
};
state.leave = () => { if (state.tip) { state.tip = null; state.draw(); } };

state.wheel = (e) => {
  e.preventDefault();
  const [x] = state.pos(e);
  const v = state.view, span = v[1] - v[0];
  if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
    const delta = (Math.abs(e.deltaX) > Math.abs(e.deltaY) ? e.deltaX : e.deltaY);
    const shift = delta / state.width() * span;
    state.setView([v[0] + shift, v[1] + shift]);
  } else {
    const anchor = state.tOf(Math.min(Math.max(x, L), L + state.width()));
    const f = Math.exp(Math.max(-1, Math.min(1, e.deltaY * 0.0015)));
    const frac = (anchor - v[0]) / span, ns = span * f;
    state.setView([anchor - frac * ns, anchor - frac * ns + ns]);
  }
  state.draw();
  state.syncView(250);
};

// -- keys (when the canvas has the focus: click it first) --------------------------------
state.key = (e) => {
  const sel = data.selected || {};
  const selEditable = sel.source && sel.source === data.editable;
  let ev = null;
  if ((e.ctrlKey || e.metaKey) && (e.key === 'z' || e.key === 'Z')) ev = {kind: e.shiftKey ? 'redo' : 'undo'};
  else if ((e.ctrlKey || e.metaKey) && e.key === 'y') ev = {kind: 'redo'};
  else if (e.ctrlKey || e.metaKey || e.altKey) return;
  else if (e.key === 'Delete' || e.key === 'Backspace') { if (selEditable) ev = {kind: 'delete', onset_s: sel.onset_s, offset_s: sel.offset_s}; }
  else if (e.key === 'Escape') { data.pending = []; }
  else if (e.key === ' ') ev = {kind: player.paused ? 'play' : 'stop'};
  else if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
    const v = state.view, s = (v[1] - v[0]) * 0.2 * (e.key === 'ArrowLeft' ? -1 : 1);
    state.setView([v[0] + s, v[1] + s]); state.draw(); state.syncView(250);
  } else if (e.key === 'Enter' && data.pending.length === 2) ev = {kind: 'add', onset_s: data.pending[0], offset_s: data.pending[1], label: ''};
  else if (e.key.length === 1 && data.editable) {
    if (data.pending.length === 2) ev = {kind: 'add', onset_s: data.pending[0], offset_s: data.pending[1], label: e.key};
    else if (selEditable) ev = {kind: 'label', onset_s: sel.onset_s, offset_s: sel.offset_s, label: e.key};
    else return;
  } else return;
  e.preventDefault();
  e.stopPropagation();  // the page's single-key shortcuts do not see it
  if (ev && ev.kind === 'add') {  // one stretch, one segment: it holds the selection now,
    data.pending = [];             // so the next key relabels it before the server answers
    data.selected = {source: data.editable, onset_s: ev.onset_s, offset_s: ev.offset_s};
    canvas.focus();
  }
  if (ev) state.emit(ev);
};

// -- playback ----------------------------------------------------------------------------
player.preservesPitch = false;  // slowed playback lowers the pitch, as on a tape
state.tick = () => {
  if (player.paused || player.ended) {
    canvas.dataset.playing = '0';
    state.playhead = null; state.draw();
    return;
  }
  state.playhead = state.clipStart + player.currentTime;
  canvas.dataset.playhead = state.playhead;
  canvas.dataset.playing = '1';
  const v = state.view;
  if (state.playhead > v[1]) {  // page along with the playhead
    const span = v[1] - v[0];
    state.setView([state.playhead, state.playhead + span]); state.syncView(300);
  }
  state.draw();
  requestAnimationFrame(state.tick);
};
state.play = () => {
  const a = data.audio || {};
  player.pause();
  if (!a.src) { state.playhead = null; state.draw(); return; }
  state.clipStart = a.start_s;
  player.src = a.src;
  player.playbackRate = data.speed;
  player.preservesPitch = false;
  const p = player.play();
  if (p && p.catch) p.catch((err) => console.warn('canapy: cannot play', err));
  requestAnimationFrame(state.tick);
};

state.remove = () => {
  canvas.removeEventListener('mousedown', state.down);
  canvas.removeEventListener('mousemove', state.hover);
  canvas.removeEventListener('mouseleave', state.leave);
  canvas.removeEventListener('wheel', state.wheel);
  canvas.removeEventListener('keydown', state.key);
  if (state.observer) state.observer.disconnect();
  player.pause();
};

canvas.addEventListener('mousedown', state.down);
canvas.addEventListener('mousemove', state.hover);
canvas.addEventListener('mouseleave', state.leave);
canvas.addEventListener('wheel', state.wheel, {passive: false});
canvas.addEventListener('keydown', state.key);
state.observer = new ResizeObserver(() => state.resize());
state.observer.observe(box);
state.setView(data.view);
state.newImage();
state.newTracks();
