/* report.js: the aoi inspection report. Reads window.AOI_REPORT (data.js),
 * draws the metrics, a virtualised gallery with filters and sorting, and a
 * full-size viewer where a reviewer gives a verdict, a class and paints
 * defect pixels. The work is kept in the browser's local storage and
 * exported as JSON lines for `aoi-datatool merge` (man aoi-dataset.5,
 * CORRECTIONS). Plain JavaScript, no library, no network. */
"use strict";

(function () {
  /* ---- COCO run-length encoding (as pycocotools, man aoi-dataset.5) ----
   * Masks in memory are row-major Uint8Arrays of class indices; RLE runs
   * down the columns. Counts are kept within 32 bits (images < 2^31 px). */

  function rleCountsFromString(s) {
    const counts = [];
    let p = 0;
    while (p < s.length) {
      let x = 0, k = 0, more = true, c = 0;
      while (more) {
        if (p >= s.length) throw new Error("RLE string ends inside a number");
        c = s.charCodeAt(p++) - 48;
        if (c < 0 || c > 63) throw new Error("bad character in RLE string");
        x += (c & 0x1f) * Math.pow(2, 5 * k);
        more = (c & 0x20) !== 0;
        k++;
      }
      if (c & 0x10) x -= Math.pow(2, 5 * k);
      if (counts.length > 2) x += counts[counts.length - 2];
      counts.push(x);
    }
    return counts;
  }

  function rleStringFromCounts(counts) {
    let s = "";
    for (let i = 0; i < counts.length; i++) {
      let x = counts[i];
      if (i > 2) x -= counts[i - 2];
      let more = true;
      while (more) {
        let c = x & 0x1f;
        x >>= 5;
        more = (c & 0x10) ? x !== -1 : x !== 0;
        if (more) c |= 0x20;
        s += String.fromCharCode(c + 48);
      }
    }
    return s;
  }

  /* Set mask (w x h, row-major) to value where the RLE has ones. */
  function rleDecode(s, w, h, mask, value) {
    const counts = rleCountsFromString(s);
    let pos = 0, on = false;
    for (const n of counts) {
      if (n < 0 || pos + n > w * h) throw new Error("RLE counts do not add up to the size");
      if (on) for (let j = pos; j < pos + n; j++) mask[(j % h) * w + Math.floor(j / h)] = value;
      pos += n;
      on = !on;
    }
    if (pos !== w * h) throw new Error("RLE counts do not add up to the size");
    return mask;
  }

  /* The pixels equal to value (nonzero when value < 0) as an RLE string. */
  function rleEncode(mask, w, h, value) {
    const counts = [];
    let run = 0, on = false;
    for (let x = 0; x < w; x++) {
      for (let y = 0; y < h; y++) {
        const v = mask[y * w + x];
        const set = value < 0 ? v !== 0 : v === value;
        if (set !== on) { counts.push(run); run = 0; on = set; }
        run++;
      }
    }
    counts.push(run);
    return rleStringFromCounts(counts);
  }

  /* Exposed for tests and for people who want to script the page. */
  window.AOI = { rleDecode, rleEncode, rleCountsFromString, rleStringFromCounts };

  const R = window.AOI_REPORT;
  if (!R) {
    document.body.textContent = "data.js is missing: write the report again with aoi-datatool report.";
    return;
  }
  const $ = (id) => document.getElementById(id);
  const items = R.items;
  const byId = new Map(items.map((it, i) => [it.id, i]));
  const classes = R.classes || [];
  const palette = R.palette || [];

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) {
      if (k === "class") e.className = attrs[k];
      else if (k === "text") e.textContent = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    for (const c of kids) if (c != null) e.append(c);
    return e;
  }

  /* Figures as aoi-metrics prints them: shares with three decimals, counts whole. */
  function fmt(v, count) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "number") return count ? String(v) : v.toFixed(3);
    return String(v);
  }

  function status(text, bad) {
    const s = $("status");
    s.textContent = text;
    s.classList.toggle("bad", !!bad);
  }

  /* ---- corrections: kept in local storage under the report's key ---- */

  const storeKey = "aoi-review:" + R.key;
  let corr = {};
  try { corr = JSON.parse(localStorage.getItem(storeKey) || "{}") || {}; } catch (e) { corr = {}; }

  function saveCorrections() {
    try {
      localStorage.setItem(storeKey, JSON.stringify(corr));
    } catch (e) {
      status("the browser would not keep the work: export now", true);
    }
  }

  function correction(id) {
    if (!corr[id]) corr[id] = {};
    return corr[id];
  }

  function touch(id) {
    const c = correction(id);
    c.time = new Date().toISOString();
    c.reviewer = $("reviewer").value.trim();
    saveCorrections();
    updateCount();
    grid.refresh(byId.get(id));
  }

  $("reviewer").value = localStorage.getItem("aoi-reviewer") || "";
  $("reviewer").addEventListener("change", () => {
    try { localStorage.setItem("aoi-reviewer", $("reviewer").value.trim()); } catch (e) { /* kept in the field */ }
  });

  /* One correction as the line aoi-datatool merge reads. */
  function correctionLine(id, c, reviewer) {
    const it = items[byId.get(id)];
    const line = { id: id, verdict: c.verdict, class: c.cls || null };
    if (c.masks) {
      const keys = Object.keys(c.masks);
      const rle = (k) => ({ size: [it.h, it.w], counts: c.masks[k] });
      if (keys.length === 0) {
        line.mask = { size: [it.h, it.w], counts: rleStringFromCounts([it.w * it.h]) };
      } else if (keys.length === 1) {
        line.class = classes[keys[0] - 1];
        line.mask = rle(keys[0]);
      } else {
        line.masks = {};
        for (const k of keys) line.masks[classes[k - 1]] = rle(k);
      }
    }
    line.reviewer = c.reviewer || reviewer;
    line.time = c.time;
    return line;
  }

  function exportCorrections() {
    const reviewer = $("reviewer").value.trim();
    const lines = [];
    let undecided = 0;
    for (const it of items) {
      const c = corr[it.id];
      if (!c) continue;
      if (!c.verdict) { undecided++; continue; }
      if (!c.reviewer && !reviewer) {
        status("enter your name as reviewer first", true);
        $("reviewer").focus();
        return;
      }
      lines.push(JSON.stringify(correctionLine(it.id, c, reviewer)));
    }
    if (!lines.length) {
      status(undecided ? "no verdict given yet: nothing to export" : "nothing reviewed yet", true);
      return;
    }
    const blob = new Blob([lines.join("\n") + "\n"], { type: "application/x-ndjson" });
    const a = el("a", { href: URL.createObjectURL(blob), download: "corrections.jsonl" });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 2000);
    status(lines.length + " exported" + (undecided ? ", " + undecided + " without a verdict left out" : ""));
  }
  $("export").addEventListener("click", exportCorrections);

  /* ---- metrics ---- */

  /* rows: [label, value, true when a count] */
  function figure(title, big, rows) {
    const t = el("table");
    for (const [k, v, n] of rows) t.append(el("tr", {}, el("td", { text: k }), el("td", { class: "v", text: fmt(v, n) })));
    return el("div", { class: "figure" }, el("h3", { text: title }),
      big === undefined ? null : el("div", { class: "big", text: fmt(big) }), t);
  }

  function renderMetrics() {
    const m = R.metrics, box = $("figures");
    if (!m) {
      box.append(el("p", { class: "muted", text: "No metrics: the records carry no truth to compare with (aoi-datatool report --truth TRUTH)." }));
      return;
    }
    if (m.classification) {
      const c = m.classification;
      box.append(figure("Images: accuracy", c.accuracy, [["images", c.images, true], ["precision (defective)", c.precision],
        ["recall (defective)", c.recall], ["F1 (defective)", c.f1]]));
    }
    if (m.decisions && m.decisions.sources) {
      for (const s of m.decisions.sources)
        box.append(figure("Decisions: " + s.name + " agrees", s.ag, [["agree", s.agree, true], ["of", s.decisions, true]]));
    }
    if (m.segmentation) {
      const s = m.segmentation, rows = [["mean IoU", s.miou], ["pixel accuracy", s.pixel_accuracy]];
      for (const k in s.classes || {}) rows.push(["IoU " + k, s.classes[k].iou]);
      box.append(figure("Segmentation: IoU of defects", s.miou_defects, rows));
    }
    if (m.detection) {
      const d = m.detection, rows = [["precision", d.precision], ["recall", d.recall], ["mAP", d.map],
        ["truth boxes", d.truth_boxes, true], ["predicted", d.pred_boxes, true]];
      for (const k in d.ap || {}) rows.push(["AP " + k, d.ap[k]]);
      box.append(figure("Detection: F-score", d.fscore, rows));
    }
    if (m.ids) box.append(figure("Ids", undefined, [["matched", m.ids.matched, true], ["missing", m.ids.missing, true], ["extra", m.ids.extra, true]]));
    for (const c of R.charts || [])
      $("charts").append(el("a", { href: c, target: "_blank" }, el("img", { src: c, alt: c, loading: "lazy" })));
  }

  /* ---- filters and order ---- */

  function options(sel, list) {
    for (const [value, label] of list) sel.append(el("option", { value: value, text: label }));
    sel.disabled = list.length <= 2;
  }

  function distinct(get) {
    const s = new Set();
    for (const it of items) { const v = get(it); if (v != null) s.add(v); }
    return [...s].sort();
  }

  function setupControls() {
    options($("f-decision"), [["", "all"], ...distinct((it) => it.dec).map((d) => [d, d]), ["-", "none"]]);
    options($("f-class"), [["", "all"], ...classes.map((c, k) => [String(k + 1), c]), ["-", "no defect"]]);
    options($("f-split"), [["", "all"], ...distinct((it) => it.split).map((s) => [s, s]), ["-", "none"]]);
    options($("f-agree"), [["", "all"], ["agree", "agrees"], ["disagree", "disagrees"], ["-", "unknown"]]);
    const sampled = distinct((it) => it.sampled).map((s) => ["s:" + s, "sampled " + s]);
    options($("f-review"), [["", "all"], ["done", "reviewed"], ["todo", "not reviewed"], ...sampled]);
    options($("sort"), [["", "input order"], ["score", "score, highest first"],
      ["certainty", "certainty, least first"], ["area", "defect area, largest first"],
      ["dis", "disagreement, largest first"], ["id", "id"]]);
    $("sort").disabled = false;
    for (const id of ["f-decision", "f-class", "f-split", "f-agree", "f-review", "sort", "sort-reverse"])
      $(id).addEventListener("change", apply);
    $("f-id").addEventListener("input", apply);
  }

  function passes(it, f) {
    if (f.dec && (f.dec === "-" ? it.dec : it.dec !== f.dec)) return false;
    if (f.cls && (f.cls === "-" ? it.cls.length : !it.cls.includes(+f.cls))) return false;
    if (f.split && (f.split === "-" ? it.split : it.split !== f.split)) return false;
    if (f.agree === "agree" && it.agree !== true) return false;
    if (f.agree === "disagree" && it.agree !== false) return false;
    if (f.agree === "-" && it.agree !== undefined) return false;
    const done = !!(corr[it.id] && corr[it.id].verdict);
    if (f.review === "done" && !done) return false;
    if (f.review === "todo" && done) return false;
    if (f.review.startsWith("s:") && it.sampled !== f.review.slice(2)) return false;
    if (f.id && !it.id.includes(f.id)) return false;
    return true;
  }

  const sortKeys = {
    score: (it) => (it.score === undefined ? -Infinity : -it.score),
    certainty: (it) => (it.score === undefined ? Infinity : Math.abs(it.score - (it.thr === undefined ? 0.5 : it.thr))),
    area: (it) => -(it.area || it.tarea || 0),
    dis: (it) => -((it.agree === false ? 1 : 0) + (it.dis || 0)),
  };

  let view = [];

  function apply() {
    const f = { dec: $("f-decision").value, cls: $("f-class").value, split: $("f-split").value,
      agree: $("f-agree").value, review: $("f-review").value, id: $("f-id").value.trim() };
    view = [];
    for (let i = 0; i < items.length; i++) if (passes(items[i], f)) view.push(i);
    const s = $("sort").value;
    if (s === "id") view.sort((a, b) => (items[a].id < items[b].id ? -1 : items[a].id > items[b].id ? 1 : 0));
    else if (sortKeys[s]) {
      const key = sortKeys[s], k = new Float64Array(items.length);
      for (const i of view) k[i] = key(items[i]);
      view.sort((a, b) => k[a] - k[b] || a - b);
    }
    if ($("sort-reverse").checked) view.reverse();
    updateCount();
    grid.reset();
  }

  function updateCount() {
    let done = 0;
    for (const id in corr) if (corr[id].verdict) done++;
    $("count").textContent = view.length + " of " + items.length + " shown · " + done + " reviewed";
  }

  /* ---- the gallery: only the rows on screen are in the page ---- */

  const grid = (function () {
    const box = $("grid"), gap = 8;
    let cellW = 160, cellH = 160, cols = 1;
    const shown = new Map(); /* position in view -> element */

    for (const it of items) cellW = Math.max(cellW, Math.min(it.tw, 480));
    cellW += 10;
    cellH = (items.length ? items[0].th : 160) + 34;

    function caption(it) {
      const cap = el("div", { class: "cap" }, el("span", { class: "id", text: it.id, title: it.id }));
      if (it.dec) cap.append(el("span", { class: "badge " + it.dec, text: it.dec }));
      if (it.score !== undefined) cap.append(el("span", { class: "muted", text: it.score.toFixed(2), title: "score" }));
      if (it.agree === false) cap.append(el("span", { class: "badge disagree", text: "≠ truth", title: "truth: " + (it.label || it.tdec) }));
      const c = corr[it.id];
      if (c && c.verdict) cap.append(el("span", { class: "badge mine", text: "✓ " + c.verdict, title: "reviewed" }));
      return cap;
    }

    function tile(pos) {
      const i = view[pos], it = items[i];
      const w = Math.min(it.tw, cellW - 10), h = Math.round(it.th * w / it.tw);
      const t = el("div", { class: "tile", role: "listitem", tabindex: "0", "data-id": it.id, "data-pos": pos },
        el("img", { src: it.thumb, width: w, height: h, alt: it.id, loading: "lazy", decoding: "async" }),
        caption(it));
      t.style.left = (pos % cols) * (cellW + gap) + "px";
      t.style.top = Math.floor(pos / cols) * (cellH + gap) + "px";
      t.style.width = cellW + "px";
      t.style.height = cellH + "px";
      return t;
    }

    function draw() {
      const top = box.getBoundingClientRect().top;
      const first = Math.max(0, Math.floor(-top / (cellH + gap)) - 2);
      const last = Math.ceil((window.innerHeight - top) / (cellH + gap)) + 2;
      const lo = first * cols, hi = Math.min(view.length, last * cols);
      for (const [pos, e] of shown) if (pos < lo || pos >= hi) { e.remove(); shown.delete(pos); }
      for (let pos = lo; pos < hi; pos++) {
        if (shown.has(pos)) continue;
        const e = tile(pos);
        shown.set(pos, e);
        box.append(e);
      }
    }

    function layout() {
      cols = Math.max(1, Math.floor((box.clientWidth + gap) / (cellW + gap)));
      box.style.height = Math.ceil(view.length / cols) * (cellH + gap) + "px";
      $("empty").hidden = view.length > 0;
    }

    function reset() {
      for (const e of shown.values()) e.remove();
      shown.clear();
      layout();
      draw();
    }

    let pending = false;
    function later() {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => { pending = false; draw(); });
    }
    window.addEventListener("scroll", later, { passive: true });
    window.addEventListener("resize", () => { const c = cols; layout(); if (c !== cols) reset(); else later(); });
    box.addEventListener("click", (e) => {
      const t = e.target.closest(".tile");
      if (t) viewer.open(+t.dataset.pos);
    });
    box.addEventListener("keydown", (e) => {
      const t = e.target.closest(".tile");
      if (t && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); viewer.open(+t.dataset.pos); }
    });

    /* Redraw the caption of item i where it is shown. */
    function refresh(i) {
      for (const [pos, e] of shown) if (view[pos] === i) e.replaceChild(caption(items[i]), e.lastChild);
    }

    function scrollTo(pos) {
      const y = box.getBoundingClientRect().top + window.scrollY + Math.floor(pos / cols) * (cellH + gap);
      if (y < window.scrollY + 100 || y > window.scrollY + window.innerHeight - cellH) window.scrollTo(0, y - 120);
    }

    return { reset, refresh, scrollTo };
  })();

  /* ---- masks of a record: masks/NAME.js calls AOI_MASK when loaded ---- */

  const maskCache = new Map(), maskWaiting = new Map();
  window.AOI_MASK = function (m) {
    maskCache.set(m.id, m);
    if (maskCache.size > 30) maskCache.delete(maskCache.keys().next().value);
    const done = maskWaiting.get(m.id);
    if (done) { maskWaiting.delete(m.id); done(m); }
  };

  function loadMasks(it) {
    if (maskCache.has(it.id)) return Promise.resolve(maskCache.get(it.id));
    if (!it.masks) return Promise.resolve(null);
    return new Promise((resolve) => {
      maskWaiting.set(it.id, resolve);
      const s = el("script", { src: it.masks });
      s.onload = () => s.remove();
      s.onerror = () => { s.remove(); maskWaiting.delete(it.id); resolve(null); };
      document.head.append(s);
    });
  }

  /* {k: counts} into one class-index mask, or null. */
  function decodeClasses(byClass, w, h) {
    if (!byClass) return null;
    const m = new Uint8Array(w * h);
    for (const k of Object.keys(byClass).map(Number).sort((a, b) => a - b)) rleDecode(byClass[k], w, h, m, k);
    return m;
  }

  function encodeClasses(m, w, h) {
    const present = new Set(m), out = {};
    for (const k of [...present].sort((a, b) => a - b)) if (k) out[k] = rleEncode(m, w, h, k);
    return out;
  }

  /* ---- the full-size view ---- */

  const viewer = (function () {
    const stage = $("stage"), stack = $("stack");
    const edit = $("v-edit"), ectx = edit.getContext("2d");
    let pos = -1, it = null, truth = null, pred = null, mine = null, editImg = null;
    let zoom = 1, tool = "move", undo = [], loadSeq = 0;

    function rgba(k, alpha) {
      const c = palette[k - 1] || [255, 0, 255];
      return [c[0], c[1], c[2], alpha];
    }

    function paintMask(canvas, m) {
      const ctx = canvas.getContext("2d");
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      if (!m) return null;
      const img = ctx.createImageData(it.w, it.h);
      for (let i = 0; i < m.length; i++) if (m[i]) img.data.set(rgba(m[i], 255), 4 * i);
      ctx.putImageData(img, 0, 0);
      return img;
    }

    function drawBoxes() {
      const svg = $("v-boxes");
      if (!it) return;
      svg.replaceChildren();
      svg.setAttribute("viewBox", "0 0 " + it.w + " " + it.h);
      const add = (boxes, dashed) => {
        for (const b of boxes || []) {
          const k = classes.indexOf(b[4]) + 1, c = rgba(k, 1);
          const colour = "rgb(" + c[0] + "," + c[1] + "," + c[2] + ")";
          const r = document.createElementNS("http://www.w3.org/2000/svg", "rect");
          r.setAttribute("x", b[0]); r.setAttribute("y", b[1]);
          r.setAttribute("width", b[2] - b[0]); r.setAttribute("height", b[3] - b[1]);
          r.setAttribute("fill", "none"); r.setAttribute("stroke", colour);
          r.setAttribute("stroke-width", "2"); r.setAttribute("vector-effect", "non-scaling-stroke");
          if (dashed) r.setAttribute("stroke-dasharray", "4 3");
          const t = document.createElementNS("http://www.w3.org/2000/svg", "text");
          t.setAttribute("x", b[0]); t.setAttribute("y", Math.max(12 / zoom, b[1] - 3 / zoom));
          t.setAttribute("fill", colour);
          /* the labels keep their size on screen whatever the zoom */
          t.setAttribute("style", "font-size:" + 12 / zoom + "px;stroke-width:" + 3 / zoom + "px");
          t.textContent = (dashed ? "truth " : "") + b[4] + (b.length > 5 ? " " + Number(b[5]).toFixed(2) : "");
          svg.append(r, t);
        }
      };
      if ($("show-boxes").checked) add(it.boxes, false);
      if ($("show-tboxes").checked) add(it.tboxes, true);
    }

    function showLayers() {
      const o = $("opacity").value / 100;
      $("v-truth").style.display = $("show-truth").checked ? "" : "none";
      $("v-pred").style.display = $("show-pred").checked ? "" : "none";
      $("v-edit").style.opacity = $("show-edit").checked ? o : 0;
      $("v-truth").style.opacity = o;
      $("v-pred").style.opacity = o;
      $("v-heat").hidden = !($("show-heat").checked && it && it.heat);
      $("v-heat").style.opacity = o;
      $("v-tmpl").hidden = !($("show-tmpl").checked && it && it.tmpl);
      if (it) drawBoxes();
    }

    function setZoom(z, cx, cy) {
      z = Math.min(32, Math.max(0.05, z));
      if (cx === undefined) { cx = stage.clientWidth / 2; cy = stage.clientHeight / 2; }
      const px = (stage.scrollLeft + cx) / zoom, py = (stage.scrollTop + cy) / zoom;
      zoom = z;
      const w = it.w * z + "px", h = it.h * z + "px";
      stack.style.width = w;
      stack.style.height = h;
      for (const c of stack.children) { c.style.width = w; c.style.height = h; }
      stack.classList.toggle("pixels", z >= 2);
      stage.scrollLeft = px * z - cx;
      stage.scrollTop = py * z - cy;
      $("zoom-level").textContent = Math.round(z * 100) + "%";
      drawBoxes();
    }

    function fit() {
      setZoom(Math.min(stage.clientWidth / it.w, stage.clientHeight / it.h));
    }

    function info() {
      const dl = $("v-info");
      dl.replaceChildren();
      const row = (k, v) => { if (v !== undefined && v !== null && v !== "") dl.append(el("dt", { text: k }), el("dd", { text: v })); };
      row("split", it.split);
      row("truth", it.truth ? (it.label || "") + (it.tdec ? " (" + it.tdec + ")" : "") : "none");
      row("model", (it.dec || "") + (it.plabel ? " · " + it.plabel : ""));
      if (it.score !== undefined) row("score", fmt(it.score) + (it.thr !== undefined ? " (threshold " + fmt(it.thr) + ")" : ""));
      if (it.probs) row("probabilities", Object.entries(it.probs).map(([k, v]) => k + " " + fmt(v)).join(", "));
      const num = (v) => fmt(v, Number.isInteger(v));
      for (const r of it.reasons || []) row("reason", [r.rule, r.class, num(r.value), r.limit !== undefined ? "> " + num(r.limit) : ""].filter(Boolean).join(" "));
      row("defect pixels", it.area + " predicted, " + it.tarea + " truth");
      if (it.agree !== undefined) row("agreement", it.agree ? "agrees with the truth" : "disagrees with the truth");
      row("size", it.w + " × " + it.h);
      row("sampled", it.sampled);
      if (it.review) row("reviewed", it.review.verdict + " by " + it.review.reviewer + ", " + it.review.time);
    }

    function reviewState() {
      const c = corr[it.id] || {};
      $("v-accept").classList.toggle("on", c.verdict === "accept");
      $("v-reject").classList.toggle("on", c.verdict === "reject");
      for (const t of ["move", "paint", "erase"]) $("tool-" + t).classList.toggle("on", tool === t);
      edit.className = tool;
      $("brush-size").textContent = $("brush").value + " px";
      $("undo").disabled = !undo.length;
      const parts = [];
      if (c.verdict) parts.push("verdict: " + c.verdict);
      if (c.cls) parts.push("class: " + c.cls);
      if (c.masks) parts.push("mask: " + Object.keys(c.masks).length + " class(es) painted");
      $("v-state").textContent = parts.length ? parts.join(" · ") + (c.time ? " · " + c.time : "") : "not reviewed";
    }

    function classOptions() {
      const sel = $("v-class");
      sel.replaceChildren(el("option", { value: "", text: "(keep)" }));
      for (const c of classes) sel.append(el("option", { value: c, text: c }));
      sel.append(el("option", { value: "+", text: "new class…" }));
      const c = corr[it.id];
      const first = it.cls && it.cls.length ? classes[it.cls[0] - 1] : classes[0];
      sel.value = c && c.cls ? c.cls : first || "";
    }

    function brushClass() {
      const name = $("v-class").value || (it.cls && it.cls.length ? classes[it.cls[0] - 1] : classes[0]);
      return name ? classes.indexOf(name) + 1 : 0;
    }

    async function open(p) {
      if (p < 0 || p >= view.length) return;
      pos = p;
      it = items[view[p]];
      const seq = ++loadSeq;
      truth = pred = mine = null;
      undo = [];
      $("viewer").hidden = false;
      document.body.style.overflow = "hidden";
      $("v-id").textContent = it.id;
      for (const c of [$("v-truth"), $("v-pred"), edit]) { c.width = it.w; c.height = it.h; }
      $("v-img").src = it.img || it.thumb;
      if (it.tmpl) $("v-tmpl").src = it.tmpl;
      if (it.heat) $("v-heat").src = it.heat;
      $("show-heat").disabled = !it.heat;
      $("show-tmpl").disabled = !it.tmpl;
      $("from-truth").disabled = !it.truth;
      info();
      classOptions();
      zoom = 1;
      fit();
      const m = await loadMasks(it);
      if (seq !== loadSeq) return;
      try {
        truth = m ? decodeClasses(m.truth, it.w, it.h) : null;
        pred = m ? decodeClasses(m.pred, it.w, it.h) : null;
        const c = corr[it.id];
        mine = c && c.masks ? decodeClasses(c.masks, it.w, it.h) : null;
      } catch (e) {
        status("masks of " + it.id + ": " + e.message, true);
      }
      paintMask($("v-truth"), truth);
      paintMask($("v-pred"), pred);
      editImg = paintMask(edit, mine);
      showLayers();
      reviewState();
      grid.scrollTo(pos);
      edit.dataset.ready = it.id; /* for tests: masks drawn */
    }

    function close() {
      $("viewer").hidden = true;
      document.body.style.overflow = "";
      loadSeq++;
      it = null;
    }

    /* My mask, made on first use from the truth (if any) or the prediction. */
    function ensureMine(from) {
      if (mine && !from) return;
      const src = from === "empty" ? null : from === "truth" ? truth : from === "pred" ? pred : truth || pred;
      mine = src ? new Uint8Array(src) : new Uint8Array(it.w * it.h);
      editImg = paintMask(edit, mine);
      if (!from) { $("show-truth").checked = false; $("show-pred").checked = false; showLayers(); }
    }

    function storeMine() {
      const c = correction(it.id);
      c.masks = encodeClasses(mine, it.w, it.h);
      touch(it.id);
      reviewState();
    }

    function setMine(from) {
      if (mine) undo.push(new Uint8Array(mine));
      ensureMine(from);
      storeMine();
    }

    /* ---- the brush ---- */

    let stroke = null;

    function imagePoint(e) {
      const r = edit.getBoundingClientRect();
      return [(e.clientX - r.left) * it.w / r.width, (e.clientY - r.top) * it.h / r.height];
    }

    function stamp(x, y, value, radius) {
      const x0 = Math.max(0, Math.floor(x - radius)), x1 = Math.min(it.w - 1, Math.ceil(x + radius));
      const y0 = Math.max(0, Math.floor(y - radius)), y1 = Math.min(it.h - 1, Math.ceil(y + radius));
      const c = value ? rgba(value, 255) : [0, 0, 0, 0];
      for (let py = y0; py <= y1; py++) {
        for (let px = x0; px <= x1; px++) {
          const dx = px + 0.5 - x, dy = py + 0.5 - y;
          if (dx * dx + dy * dy > radius * radius) continue;
          const i = py * it.w + px;
          mine[i] = value;
          editImg.data.set(c, 4 * i);
        }
      }
      if (x1 >= x0 && y1 >= y0) ectx.putImageData(editImg, 0, 0, x0, y0, x1 - x0 + 1, y1 - y0 + 1);
    }

    function strokeTo(p) {
      const [x0, y0] = stroke.last, [x1, y1] = p;
      const d = Math.hypot(x1 - x0, y1 - y0), step = Math.max(0.5, stroke.radius / 2);
      for (let t = step; t < d; t += step) stamp(x0 + (x1 - x0) * t / d, y0 + (y1 - y0) * t / d, stroke.value, stroke.radius);
      stamp(x1, y1, stroke.value, stroke.radius);
      stroke.last = p;
    }

    edit.addEventListener("pointerdown", (e) => {
      if (!it || e.button !== 0) return;
      edit.setPointerCapture(e.pointerId);
      if (tool === "move") {
        stroke = { pan: [e.clientX, e.clientY, stage.scrollLeft, stage.scrollTop] };
        return;
      }
      ensureMine();
      undo.push(new Uint8Array(mine));
      if (undo.length > 30) undo.shift();
      $("show-edit").checked = true;
      showLayers();
      const p = imagePoint(e);
      stroke = { last: p, value: tool === "paint" ? brushClass() : 0, radius: $("brush").value / 2 };
      stamp(p[0], p[1], stroke.value, stroke.radius);
    });
    edit.addEventListener("pointermove", (e) => {
      if (!stroke) return;
      if (stroke.pan) {
        stage.scrollLeft = stroke.pan[2] - (e.clientX - stroke.pan[0]);
        stage.scrollTop = stroke.pan[3] - (e.clientY - stroke.pan[1]);
      } else {
        strokeTo(imagePoint(e));
      }
    });
    const endStroke = () => {
      if (stroke && !stroke.pan) storeMine();
      stroke = null;
    };
    edit.addEventListener("pointerup", endStroke);
    edit.addEventListener("pointercancel", endStroke);
    stage.addEventListener("wheel", (e) => {
      if (!it) return;
      e.preventDefault();
      const r = stage.getBoundingClientRect();
      setZoom(zoom * Math.pow(1.0015, -e.deltaY), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });

    /* ---- the controls ---- */

    function verdict(v) {
      const c = correction(it.id);
      c.verdict = c.verdict === v ? undefined : v;
      if (!c.verdict && !c.masks && !c.cls) delete corr[it.id];
      touch(it.id);
      reviewState();
    }

    function setTool(t) { tool = t; reviewState(); }

    $("v-accept").onclick = () => verdict("accept");
    $("v-reject").onclick = () => verdict("reject");
    $("tool-move").onclick = () => setTool("move");
    $("tool-paint").onclick = () => setTool("paint");
    $("tool-erase").onclick = () => setTool("erase");
    $("brush").oninput = reviewState;
    $("from-pred").onclick = () => setMine("pred");
    $("from-truth").onclick = () => setMine("truth");
    $("mask-clear").onclick = () => setMine("empty");
    $("undo").onclick = () => {
      if (!undo.length) return;
      mine = undo.pop();
      editImg = paintMask(edit, mine);
      storeMine();
    };
    $("v-discard").onclick = () => {
      delete corr[it.id];
      mine = null;
      undo = [];
      editImg = paintMask(edit, null);
      saveCorrections();
      updateCount();
      grid.refresh(view[pos]);
      reviewState();
    };
    $("v-class").onchange = () => {
      const sel = $("v-class");
      if (sel.value === "+") {
        const name = (prompt("Name of the new class") || "").trim();
        if (name && !classes.includes(name)) {
          classes.push(name);
          palette.push([255, 0, 255]);
          sel.insertBefore(el("option", { value: name, text: name }), sel.lastChild);
        }
        sel.value = name || "";
      }
      const c = correction(it.id);
      c.cls = sel.value || undefined;
      touch(it.id);
      reviewState();
    };
    $("v-recolour").onclick = () => {
      const k = brushClass();
      if (!k) return;
      ensureMine();
      undo.push(new Uint8Array(mine));
      for (let i = 0; i < mine.length; i++) if (mine[i]) mine[i] = k;
      editImg = paintMask(edit, mine);
      storeMine();
    };
    for (const id of ["show-truth", "show-pred", "show-heat", "show-boxes", "show-tboxes", "show-tmpl", "show-edit", "opacity"])
      $(id).addEventListener("input", showLayers);
    $("zoom-in").onclick = () => setZoom(zoom * 1.25);
    $("zoom-out").onclick = () => setZoom(zoom / 1.25);
    $("zoom-fit").onclick = fit;
    $("zoom-1").onclick = () => setZoom(1);
    $("v-prev").onclick = () => open(pos - 1);
    $("v-next").onclick = () => open(pos + 1);
    $("v-close").onclick = close;

    document.addEventListener("keydown", (e) => {
      if (!it || e.target.closest("input, select, textarea")) return;
      const keys = {
        Escape: close, ArrowLeft: () => open(pos - 1), ArrowRight: () => open(pos + 1),
        a: () => verdict("accept"), r: () => verdict("reject"), m: () => setTool("move"),
        b: () => setTool("paint"), e: () => setTool("erase"), "+": () => setZoom(zoom * 1.25),
        "-": () => setZoom(zoom / 1.25), 0: fit, 1: () => setZoom(1),
      };
      if ((e.ctrlKey || e.metaKey) && e.key === "z") { $("undo").click(); e.preventDefault(); return; }
      if (e.ctrlKey || e.metaKey || e.altKey || !keys[e.key]) return;
      e.preventDefault();
      keys[e.key]();
    });

    return { open, close, setZoom };
  })();

  document.title = (R.title || "aoi") + " · aoi report";
  $("title").textContent = R.title || "aoi report";
  renderMetrics();
  setupControls();
  apply();
})();
