/* dnsrace view: draws the page's inline data (script#dnsrace-data) as SVG.
 * Hand-written, no library: the page is one file that works offline. One time window is
 * shared by every panel: the wheel zooms around the pointer, dragging pans, the buttons and
 * the keys + - 0 f and the arrows do the same; hovering an element shows its details.
 * Elements outside the window are not drawn (so a long run stays responsive). */
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("dnsrace-data").textContent);
  const NS = "http://www.w3.org/2000/svg";
  const LEFT = 104, RIGHT = 16, TOP = 22, LANE = 30, FLEET = 46;
  const IS_RUN = DATA.kind === "run";

  function svgEl(tag, attrs, parent, text) {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) {
      if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]);
    }
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }

  function htmlEl(tag, cls, parent, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }

  /* ---------------------------------------------------------------- time formatting */

  function fmtTime(t) {
    if (IS_RUN) return (Math.round(t * 1000) / 1000).toFixed(t < 100 ? 2 : 1) + " s";
    const a = Math.abs(t);
    if (a >= 1e9) return (t / 1e9).toFixed(3) + " s";
    if (a >= 1e6) return (t / 1e6).toFixed(3) + " ms";
    if (a >= 1e3) return (t / 1e3).toFixed(2) + " \u00b5s";
    return t + " ns";
  }

  function niceStep(span) {
    const raw = span / 8;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
  }

  /* ---------------------------------------------------------------- the shared window */

  const view = { lo: 0, hi: 1, min: 0, max: 1, focus: [0, 1] };
  const panels = [];
  let pending = false;

  function setWindow(lo, hi) {
    const full = view.max - view.min;
    let span = Math.max(hi - lo, full * 1e-6, 1e-9);
    if (span > full) span = full;
    if (lo < view.min) lo = view.min;
    if (lo + span > view.max) lo = view.max - span;
    view.lo = lo;
    view.hi = lo + span;
    if (!pending) {
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        redraw();
      });
    }
  }

  function zoom(factor, at) {
    const t = at === undefined ? (view.lo + view.hi) / 2 : at;
    setWindow(t - (t - view.lo) * factor, t + (view.hi - t) * factor);
  }

  function pan(fraction) {
    const d = (view.hi - view.lo) * fraction;
    setWindow(view.lo + d, view.hi + d);
  }

  let windowLabel = null;

  function redraw() {
    for (const p of panels) drawPanel(p);
    if (windowLabel) {
      windowLabel.textContent = fmtTime(view.lo) + " \u2013 " + fmtTime(view.hi);
    }
    document.body.setAttribute("data-drawn", String(Number(document.body.getAttribute("data-drawn") || 0) + 1));
  }

  function drawPanel(p) {
    const svg = p.svg;
    const width = Math.max(320, svg.getBoundingClientRect().width || 1000);
    svg.setAttribute("viewBox", "0 0 " + width + " " + p.height);
    svg.setAttribute("height", p.height);
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const plotW = width - LEFT - RIGHT;
    const lo = view.lo, hi = view.hi;
    const k = plotW / (hi - lo);
    const s = {
      width: width,
      x: (t) => LEFT + (t - lo) * k,
      vis: (a, b) => b >= lo && a <= hi,
    };
    const clipId = "clip-" + p.index;
    const clip = svgEl("clipPath", { id: clipId }, svgEl("defs", {}, svg));
    svgEl("rect", { x: LEFT, y: 0, width: plotW, height: p.height }, clip);
    axis(svg, s, p.height);
    const g = svgEl("g", { "clip-path": "url(#" + clipId + ")" }, svg);
    const labels = svgEl("g", {}, svg);
    p.draw(g, labels, s);
  }

  function axis(svg, s, height) {
    const g = svgEl("g", { class: "axis" }, svg);
    const step = niceStep(view.hi - view.lo);
    for (let t = Math.ceil(view.lo / step) * step; t <= view.hi; t += step) {
      const x = s.x(t);
      svgEl("line", { x1: x, x2: x, y1: TOP - 4, y2: height }, g);
      svgEl("text", { x: x + 2, y: 12 }, g, fmtTime(t));
    }
  }

  function attachInteraction(svg) {
    svg.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = svg.getBoundingClientRect();
      const plotW = r.width - LEFT - RIGHT;
      const t = view.lo + ((e.clientX - r.left - LEFT) / plotW) * (view.hi - view.lo);
      zoom(Math.exp(e.deltaY * 0.0015), Math.min(view.hi, Math.max(view.lo, t)));
    }, { passive: false });
    svg.addEventListener("mousedown", (e) => {
      const r = svg.getBoundingClientRect();
      const start = { x: e.clientX, lo: view.lo, hi: view.hi, w: r.width - LEFT - RIGHT };
      svg.classList.add("dragging");
      const move = (ev) => {
        const dt = ((start.x - ev.clientX) / start.w) * (start.hi - start.lo);
        setWindow(start.lo + dt, start.hi + dt);
      };
      const up = () => {
        svg.classList.remove("dragging");
        window.removeEventListener("mousemove", move);
        window.removeEventListener("mouseup", up);
      };
      window.addEventListener("mousemove", move);
      window.addEventListener("mouseup", up);
      e.preventDefault();
    });
  }

  /* ---------------------------------------------------------------- hover details */

  const tip = document.getElementById("tip");
  document.addEventListener("mousemove", (e) => {
    const target = e.target && e.target.closest ? e.target.closest("[data-tip]") : null;
    if (!target) {
      tip.style.display = "none";
      return;
    }
    tip.textContent = target.getAttribute("data-tip");
    tip.style.display = "block";
    // Keep the box inside the page: left of the pointer near the right edge.
    const w = tip.offsetWidth;
    const left = e.clientX + 14 + w > document.documentElement.clientWidth ? e.pageX - 14 - w : e.pageX + 14;
    tip.style.left = Math.max(0, left) + "px";
    tip.style.top = e.pageY + 14 + "px";
  });

  /* ---------------------------------------------------------------- page frame */

  const controls = document.getElementById("controls");
  const main = document.getElementById("panels");

  function button(label, title, action) {
    const b = htmlEl("button", "", controls, label);
    b.type = "button";
    b.title = title;
    b.addEventListener("click", action);
  }

  function frame() {
    button("\u2212", "zoom out (-)", () => zoom(2));
    button("+", "zoom in (+)", () => zoom(0.5));
    button("\u2190", "pan left (\u2190)", () => pan(-0.25));
    button("\u2192", "pan right (\u2192)", () => pan(0.25));
    button("focus", "the span of interest (f)", () => setWindow(view.focus[0], view.focus[1]));
    button("all", "the whole run (0)", () => setWindow(view.min, view.max));
    button("columns", "panels side by side or stacked (c)", toggleColumns);
    windowLabel = htmlEl("span", "window", controls);
    htmlEl("span", "", controls, "wheel: zoom \u00b7 drag: pan \u00b7 hover: details");
    document.addEventListener("keydown", (e) => {
      if (e.target && (e.target.tagName === "INPUT" || e.target.tagName === "TEXTAREA")) return;
      const keys = {
        "+": () => zoom(0.5), "=": () => zoom(0.5), "-": () => zoom(2),
        "ArrowLeft": () => pan(-0.25), "ArrowRight": () => pan(0.25),
        "0": () => setWindow(view.min, view.max), "f": () => setWindow(view.focus[0], view.focus[1]),
        "c": toggleColumns,
      };
      if (keys[e.key]) {
        keys[e.key]();
        e.preventDefault();
      }
    });
  }

  function toggleColumns() {
    main.classList.toggle("columns");
    setWindow(view.lo, view.hi); // the panels' widths changed: draw again
  }

  function legend(items) {
    const box = htmlEl("div", "legend", controls);
    for (const [label, colour, border] of items) {
      const s = htmlEl("span", "", box, label);
      s.style.setProperty("--c", colour);
      if (border) s.style.setProperty("--b", border);
    }
  }

  function sharedDefs() {
    const svg = svgEl("svg", { width: 0, height: 0, style: "position:absolute" }, document.body);
    const defs = svgEl("defs", {}, svg);
    const hatch = svgEl("pattern", {
      id: "hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse",
      patternTransform: "rotate(45)",
    }, defs);
    svgEl("rect", { width: 6, height: 6, fill: "#d62728", "fill-opacity": 0.08 }, hatch);
    svgEl("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#d62728", "stroke-width": 1.4, "stroke-opacity": 0.5 }, hatch);
    for (const [name, colour] of Object.entries(FLIP_COLOURS)) {
      const m = svgEl("marker", {
        id: "arrow-" + name, viewBox: "0 0 10 10", refX: 9, refY: 5,
        markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse",
      }, defs);
      svgEl("path", { d: "M0,0 L10,5 L0,10 z", fill: colour }, m);
    }
  }

  function newPanel(section, height, draw) {
    const svg = svgEl("svg", { class: "chart", height: height }, section);
    const p = { svg: svg, height: height, draw: draw, index: panels.length };
    panels.push(p);
    attachInteraction(svg);
    return p;
  }

  /* ---------------------------------------------------------------- a simulation run */

  const FLIP_COLOURS = {
    advanced: "#4c72b0", same: "#b0b0b0", stale: "#d62728", refused: "#ff7f0e",
    fenced: "#ff7f0e", missing: "#9467bd", stuck: "#e377c2", repair: "#2ca02c",
  };
  const FLIP_TEXT = {
    advanced: "flip to a newer plan", same: "same plan again",
    stale: "STALE flip: lowered the alias to an older plan",
    refused: "refused by the generation check", fenced: "refused by the fence",
    missing: "refused: the plan's tree was already deleted",
    stuck: "refused: the alias dangles (stuck)", repair: "operator repair",
  };

  function runPanel(panel) {
    const tl = panel.timeline;
    const lanes = ["planner"].concat(tl.enactor_names, ["operator"]);
    for (const f of tl.flips) if (lanes.indexOf(f.actor) < 0) lanes.splice(lanes.length - 1, 0, f.actor);
    const laneY = {};
    lanes.forEach((name, i) => { laneY[name] = TOP + i * LANE + LANE / 2; });
    const lanesBottom = TOP + lanes.length * LANE;
    const height = lanesBottom + FLEET + 6;
    const pubAt = {};
    for (const [g, t] of tl.publications) pubAt[g] = t;
    const emptyStarts = tl.empty.map((w) => w[0]);
    const fleetPeak = Math.max(0, ...tl.fleet.map((r) => r[1]));
    const fleetMax = Math.max(1, fleetPeak);

    const section = htmlEl("section", "panel", main);
    section.setAttribute("data-discipline", panel.name);
    const knobs = panel.knobs || {};
    htmlEl("h2", "", section, panel.name + "  (guard " + knobs.guard + ", lock " + knobs.lock
      + ", clean-up " + knobs.cleanup + ", on dangling " + knobs.on_dangling + ")");
    const figs = htmlEl("div", "figures", section);
    panel.figures.forEach(([label, value], i) => {
      if (i) figs.appendChild(document.createTextNode(" \u00b7 "));
      figs.appendChild(document.createTextNode(label + " "));
      const b = htmlEl("b", /stale|empty|stuck/.test(label) && value ? "bad" : "", figs,
        typeof value === "number" && !Number.isInteger(value) ? value.toFixed(1) : String(value));
      b.setAttribute("data-figure", label);
    });

    function draw(g, labels, s) {
      const x = s.x;
      const end = (w) => (w[1] === null ? tl.end : w[1]);
      for (const w of tl.empty) {
        if (!s.vis(w[0], end(w))) continue;
        svgEl("rect", {
          class: "empty", x: x(w[0]), y: TOP, width: Math.max(1, x(end(w)) - x(w[0])), height: lanesBottom - TOP,
          "data-tip": tl.endpoint + " answered NO addresses from " + fmtTime(w[0]) + " to " + fmtTime(end(w))
            + " (" + fmtTime(end(w) - w[0]) + ")",
        }, g);
      }
      for (const w of tl.stuck) {
        if (!s.vis(w[0], end(w))) continue;
        svgEl("rect", {
          class: "stuck", x: x(w[0]), y: TOP, width: Math.max(1, x(end(w)) - x(w[0])), height: lanesBottom - TOP,
          "data-tip": tl.endpoint + " STUCK (alias points at a deleted tree; no enactor can apply a plan) from "
            + fmtTime(w[0]) + " to " + fmtTime(end(w)),
        }, g);
      }
      const opY = laneY.operator;
      for (const w of tl.automation_off) {
        if (!s.vis(w[0], end(w))) continue;
        svgEl("rect", {
          class: "autooff", x: x(w[0]), y: opY - 11, width: Math.max(1, x(end(w)) - x(w[0])), height: 22,
          "data-tip": "automation off: from the alarm at " + fmtTime(w[0]) + " to the repair at " + fmtTime(end(w)),
        }, g);
        svgEl("circle", {
          class: "alarm", cx: x(w[0]), cy: opY, r: 5,
          "data-tip": "ALARM at " + fmtTime(w[0]) + ": the regional endpoint answered empty; operators turn the enactors off",
        }, g);
      }
      lanes.forEach((name) => {
        const lane = svgEl("g", { class: "lane", "data-lane": name }, labels);
        svgEl("line", { x1: LEFT, x2: s.width - RIGHT, y1: laneY[name] + LANE / 2, y2: laneY[name] + LANE / 2 }, lane);
        svgEl("text", { class: "lane-label", x: 6, y: laneY[name] + 4 }, lane, name);
      });
      svgEl("text", { class: "lane-label", x: 6, y: lanesBottom + FLEET / 2 }, labels, "fleet");
      svgEl("text", { x: 6, y: lanesBottom + FLEET / 2 + 13, "font-size": 9 }, labels, "max " + fleetPeak + " empty");

      for (const p of tl.passes) {
        const pe = p.end === null ? tl.end : p.end;
        const y = laneY[p.actor];
        if (y === undefined || !s.vis(p.start, pe)) continue;
        svgEl("rect", {
          class: "pass pass-" + p.result, x: x(p.start), y: y - 7, width: Math.max(1, x(pe) - x(p.start)), height: 14,
          "data-tip": p.actor + ": pass with plan " + p.generation + " (published " + fmtTime(pubAt[p.generation] || 0)
            + "), " + fmtTime(p.start) + " \u2013 " + fmtTime(pe) + ": " + p.result,
        }, g);
      }
      for (const [t, actor, len] of tl.pauses) {
        const y = laneY[actor];
        if (y === undefined || !s.vis(t, t + len)) continue;
        svgEl("rect", {
          class: "pause", x: x(t), y: y - 12, width: Math.max(1, x(t + len) - x(t)), height: 4,
          "data-tip": actor + ": paused " + fmtTime(len) + " from " + fmtTime(t),
        }, g);
      }
      for (const [t, actor, wait] of tl.lock_waits) {
        const y = laneY[actor];
        if (y === undefined || !s.vis(t, t + wait)) continue;
        svgEl("rect", {
          class: "lockwait", x: x(t), y: y + 8, width: Math.max(1, x(t + wait) - x(t)), height: 4,
          "data-tip": actor + ": lock refused at " + fmtTime(t) + ", backing off " + fmtTime(wait),
        }, g);
      }
      for (const [t, actor, gen, deleted, kept] of tl.cleanups) {
        const y = laneY[actor];
        if (y === undefined || !s.vis(t, t)) continue;
        const hit = deleted > 0 && emptyStarts.some((e) => Math.abs(e - t) < 1e-9);
        const cx = x(t), cy = y + LANE / 2 - 2;
        svgEl("path", {
          class: "cleanup" + (hit ? " cleanup-hit" : ""),
          d: "M" + (cx - 3.5) + "," + cy + " L" + (cx + 3.5) + "," + cy + " L" + cx + "," + (cy - 6) + " Z",
          "data-tip": actor + ": clean-up at " + fmtTime(t) + " deleted plan " + gen + " (" + deleted + " trees deleted, "
            + kept + " kept)" + (hit ? " \u2014 the tree " + tl.endpoint + " was pointing at: it now answers nothing" : ""),
        }, g);
      }
      for (const [t, actor] of tl.crashes) {
        const y = laneY[actor];
        if (y === undefined || !s.vis(t, t)) continue;
        svgEl("text", { class: "crash", x: x(t) - 4, y: y + 4, "data-tip": actor + ": crashed at " + fmtTime(t) }, g, "\u2715");
      }
      const py = laneY.planner;
      for (const [gen, t] of tl.publications) {
        if (!s.vis(t, t)) continue;
        svgEl("line", {
          class: "pub", x1: x(t), x2: x(t), y1: py - 8, y2: py + 8,
          "data-tip": "plan " + gen + " published at " + fmtTime(t),
        }, g);
      }
      const visible = tl.flips.filter((f) => s.vis(Math.min(f.published_at, f.t), Math.max(f.published_at, f.t)));
      const order = ["same", "advanced", "refused", "fenced", "missing", "stuck", "repair", "stale"];
      visible.sort((a, b) => order.indexOf(a.outcome) - order.indexOf(b.outcome));
      for (const f of visible) {
        const y = laneY[f.actor];
        const outcome = FLIP_COLOURS[f.outcome] ? f.outcome : "same";
        svgEl("line", {
          class: "flip flip-" + outcome, x1: x(f.published_at), y1: py, x2: x(f.t), y2: y - 2,
          "marker-end": "url(#arrow-" + outcome + ")",
          "data-tip": f.actor + " \u2192 " + tl.endpoint + ": plan " + f.generation + " at " + fmtTime(f.t)
            + " (published " + fmtTime(f.published_at) + ", " + fmtTime(f.t - f.published_at) + " earlier)\n"
            + FLIP_TEXT[outcome] + "; alias " + f.before + " \u2192 " + f.after,
        }, g);
        if (visible.length < 150 && outcome !== "same") {
          svgEl("text", { class: "gen", x: x(f.t) + 3, y: y + 12, fill: FLIP_COLOURS[outcome] }, g, String(f.generation));
        }
      }
      for (const [t, n] of tl.repairs) {
        if (!s.vis(t, t)) continue;
        svgEl("circle", {
          class: "repair-mark", cx: x(t), cy: opY, r: 5,
          "data-tip": "operator repair at " + fmtTime(t) + ": " + n + " stuck endpoints pointed at the newest plan",
        }, g);
      }
      // The fleet: endpoints answering nothing (area) and stuck (dashed), over time.
      const base = lanesBottom + FLEET - 4, top = lanesBottom + 6;
      const vy = (v) => base - (v / fleetMax) * (base - top);
      const pts = tl.fleet.concat([[tl.end, null, null]]);
      let dEmpty = "M" + x(pts[0][0]) + "," + base, dStuck = "";
      for (let i = 0; i + 1 < pts.length; i++) {
        const [t0, e, st] = pts[i], t1 = pts[i + 1][0];
        dEmpty += " L" + x(t0) + "," + vy(e) + " L" + x(t1) + "," + vy(e);
        dStuck += (i ? " L" : "M") + x(t0) + "," + vy(st) + " L" + x(t1) + "," + vy(st);
      }
      dEmpty += " L" + x(tl.end) + "," + base + " Z";
      svgEl("path", { class: "fleet-empty", d: dEmpty, "data-tip": "fleet: endpoints answering nothing (area), stuck (dashed); max " + fleetPeak }, g);
      if (dStuck) svgEl("path", { class: "fleet-stuck", d: dStuck }, g);
    }
    newPanel(section, height, draw);
  }

  function runPage() {
    frame();
    legend([
      ["plan published (planner lane)", "#555"], ["pass applied", "rgba(76,114,176,.3)", "#4c72b0"],
      ["pass skipped", "rgba(170,170,170,.3)", "#999"], ["pass abandoned", "rgba(148,103,189,.3)", "#9467bd"],
      ["lock wait (backoff)", "#ff7f0e"], ["pause", "rgba(0,0,0,.35)"], ["clean-up (red: emptied the endpoint)", "#7f7f7f"],
      ["flip: publication \u2192 write", "#4c72b0"], ["STALE flip", "#d62728"], ["repair", "#2ca02c"],
      ["endpoint empty", "rgba(214,39,40,.15)"], ["stuck (hatched)", "rgba(214,39,40,.35)"], ["automation off", "rgba(136,136,136,.3)"],
    ]);
    const info = htmlEl("div", "note", main,
      "scenario " + DATA.scenario + ", seed " + DATA.seed + ", " + DATA.clock + " clock, " + DATA.endpoints
      + " endpoints; arrows and windows: the endpoint of interest " + DATA.endpoint
      + "; lanes: every enactor's passes, lock waits, pauses, crashes and clean-ups over the whole fleet.");
    info.id = "summary";
    let max = 0;
    for (const p of DATA.panels) max = Math.max(max, p.timeline.end);
    view.min = 0;
    view.max = max > 0 ? max : 1;
    view.focus = DATA.focus;
    for (const p of DATA.panels) runPanel(p);
    view.lo = DATA.focus[0];
    view.hi = DATA.focus[1];
  }

  /* ---------------------------------------------------------------- a history */

  function historyPanel(panel) {
    const section = htmlEl("section", "panel " + panel.status, main);
    section.setAttribute("data-endpoint", String(panel.endpoint));
    htmlEl("h2", "", section, "endpoint " + panel.endpoint + ": " + panel.ops.length + " operations, "
      + panel.clients.length + " clients \u2014 " + panel.status);
    if (panel.reason) htmlEl("div", "reason", section, "cannot be linearised: " + panel.reason);
    const laneY = {};
    panel.clients.forEach((c, i) => { laneY[c] = TOP + i * LANE + LANE / 2; });
    const height = TOP + panel.clients.length * LANE + 8;
    const fail = new Set(panel.fail), viol = new Set(panel.violations);
    const linIndex = {};
    panel.lin.forEach(([i], n) => { linIndex[i] = n + 1; });
    const failOps = panel.ops.filter((o) => fail.has(o[0]));
    const clientOf = {};
    for (const o of panel.ops) clientOf[o[0]] = o[1];

    function draw(g, labels, s) {
      const x = s.x;
      panel.clients.forEach((c) => {
        const lane = svgEl("g", { class: "lane", "data-lane": String(c) }, labels);
        svgEl("line", { x1: LEFT, x2: s.width - RIGHT, y1: laneY[c] + LANE / 2, y2: laneY[c] + LANE / 2 }, lane);
        svgEl("text", { class: "lane-label", x: 6, y: laneY[c] + 4 }, lane, "client " + c);
      });
      if (failOps.length) {
        const a = Math.min(...failOps.map((o) => o[3])), b = Math.max(...failOps.map((o) => o[4]));
        svgEl("rect", {
          class: "fail-window", x: x(a), y: TOP - 2, width: Math.max(2, x(b) - x(a)), height: height - TOP - 4,
          "data-tip": "the window that cannot be linearised: " + panel.reason,
        }, g);
      }
      const visible = panel.ops.filter((o) => s.vis(o[3], o[4]));
      for (const [i, client, op, call, ret, label] of visible) {
        const y = laneY[client];
        const w = Math.max(2, x(ret) - x(call));
        const cls = "op op-" + op + (fail.has(i) ? " op-fail" : "") + (viol.has(i) ? " op-violation" : "");
        svgEl("rect", {
          class: cls, x: x(call), y: y - 10, width: w, height: 20, rx: 2, "data-op": String(i),
          "data-tip": "op " + (i + 1) + " client " + client + ": " + label + "\ncall " + fmtTime(call) + ", return "
            + fmtTime(ret) + (linIndex[i] ? "\nlinearised " + linIndex[i] + " of " + panel.lin.length : "")
            + (fail.has(i) ? "\nin the failing window" : "") + (viol.has(i) ? "\nin a domain violation" : ""),
        }, g);
        if (w > 40) {
          const n = Math.floor((w - 6) / 5.6);
          svgEl("text", { class: "op-label", x: x(call) + 3, y: y + 4 }, g, label.length > n ? label.slice(0, Math.max(1, n - 1)) + "\u2026" : label);
        }
      }
      if (panel.lin.length) {
        let d = "";
        panel.lin.forEach(([i, t], n) => {
          d += (n ? " L" : "M") + x(t) + "," + laneY[clientOf[i]];
        });
        svgEl("path", { class: "lin-path", d: d, "data-tip": "the checker's linearisation (one point per operation, in order)" }, g);
        const shown = panel.lin.filter(([, t]) => s.vis(t, t));
        for (const [i, t] of shown) {
          const y = laneY[clientOf[i]];
          svgEl("circle", { class: "lin-point", cx: x(t), cy: y, r: 2.6, "data-tip": "#" + i + " linearised " + linIndex[i] + " of " + panel.lin.length }, g);
          if (shown.length < 120) svgEl("text", { class: "lin-order", x: x(t) + 3, y: y - 12 }, g, String(linIndex[i]));
        }
      }
    }
    newPanel(section, height, draw);
  }

  function historyPage() {
    frame();
    legend([
      ["flip", "#cfe0f5", "#4c72b0"], ["read", "#e2f0d9", "#2ca02c"], ["lease op", "#fde6c8", "#ff7f0e"],
      ["tree put/delete", "#eadff3", "#9467bd"], ["failing window", "#f6c4c4", "#c0392b"], ["linearisation", "#111"],
    ]);
    const verdict = DATA.verdict === null ? "not checked" : DATA.verdict;
    const summary = htmlEl("div", "note", main,
      DATA.operations + " operations on " + DATA.endpoints_total + " endpoints; verdict: ");
    summary.id = "summary";
    const v = htmlEl("b", "", summary, verdict);
    v.id = "verdict";
    if (DATA.verdict === "illegal") v.style.color = "#c0392b";
    if (DATA.elapsed_s !== null && DATA.elapsed_s !== undefined) summary.appendChild(document.createTextNode(" (checked in " + DATA.elapsed_s.toFixed(3) + " s)"));
    if (DATA.panels.length < DATA.endpoints_total) {
      summary.appendChild(document.createTextNode("; drawn: " + DATA.panels.length + " endpoints (failing ones first)"));
    }
    if (DATA.note) htmlEl("div", "note", main, DATA.note);
    if (DATA.domain_violations.length) {
      const t = htmlEl("table", "violations", main);
      const head = htmlEl("tr", "", t);
      for (const h of ["check", "endpoint", "ops", "detail"]) htmlEl("th", "", head, h);
      for (const dv of DATA.domain_violations) {
        const r = htmlEl("tr", "", t);
        // Ops are indexes from 0 in the page's data, numbered from 1 for people (as the checker's text).
        for (const c of [dv.check, dv.endpoint, dv.ops.map((n) => n + 1).join(", "), dv.detail]) htmlEl("td", "", r, String(c));
      }
    }
    let lo = Infinity, hi = -Infinity;
    for (const p of DATA.panels) for (const o of p.ops) { lo = Math.min(lo, o[3]); hi = Math.max(hi, o[4]); }
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    const pad = Math.max(1, (hi - lo) * 0.02);
    view.min = lo - pad;
    view.max = hi + pad;
    view.focus = [view.min, view.max];
    for (const p of DATA.panels) {
      const f = p.ops.filter((o) => p.fail.indexOf(o[0]) >= 0);
      if (f.length) {
        const a = Math.min(...f.map((o) => o[3])), b = Math.max(...f.map((o) => o[4]));
        const m = Math.max((b - a) * 1.5, (view.max - view.min) * 0.01);
        view.focus = [Math.max(view.min, a - m), Math.min(view.max, b + m)];
        break;
      }
    }
    for (const p of DATA.panels) historyPanel(p);
    view.lo = view.min;
    view.hi = view.max;
  }

  sharedDefs();
  if (IS_RUN) runPage(); else historyPage();
  window.addEventListener("resize", () => setWindow(view.lo, view.hi));
  redraw();
  window.dnsraceView = {
    setWindow: (lo, hi) => { setWindow(lo, hi); redraw(); },
    getWindow: () => [view.lo, view.hi],
    range: () => [view.min, view.max],
    panels: () => panels.length,
  };
  document.body.setAttribute("data-ready", "1");
})();
