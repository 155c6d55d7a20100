// Tiny SVG charts for the dashboard: no library, no inline styles (CSP), text via textContent.
//
//   columnChart(el, [{ label: "5★", value: 12, className: "r5", onClick }])
//   barList(el, [{ label: "Coffee", value: 4 }])
//   trendChart(el, [{ date: "2026-03-01", responses: 4, average: 4.5 }])

const SVG = "http://www.w3.org/2000/svg";

function node(name, attrs = {}, parent = null) {
  const el = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  if (parent) parent.appendChild(el);
  return el;
}

function text(parent, x, y, content, attrs = {}) {
  const el = node("text", { x, y, ...attrs }, parent);
  el.textContent = content;
  return el;
}

function clear(el) {
  while (el.firstChild) el.firstChild.remove();
}

function empty(el, message) {
  clear(el);
  const p = document.createElement("p");
  p.className = "chart-empty";
  p.textContent = message;
  el.appendChild(p);
}

// A "nice" upper bound for an axis: 1, 2, 5 x 10^n.
function niceMax(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (value <= step * power) return step * power;
  }
  return 10 * power;
}

// Vertical columns with the value above each and the label below.
export function columnChart(el, items, { emptyText = "No data yet" } = {}) {
  if (!items.some((i) => i.value > 0)) return empty(el, emptyText);
  clear(el);
  const width = 320;
  const height = 180;
  const top = 22;
  const bottom = 26;
  const max = niceMax(Math.max(...items.map((i) => i.value)));
  const slot = width / items.length;
  const svg = node("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart-svg", preserveAspectRatio: "xMidYMid meet" }, el);
  items.forEach((item, n) => {
    const h = ((height - top - bottom) * item.value) / max;
    const x = n * slot + slot * 0.18;
    const y = height - bottom - h;
    const group = node("g", { class: `col ${item.className || ""}`.trim() }, svg);
    const bar = node("rect", { x, y, width: slot * 0.64, height: Math.max(h, item.value ? 2 : 0), rx: 4 }, group);
    // A clickable bar is named below instead: a tooltip there would be read before its text.
    if (!item.onClick) node("title", {}, bar).textContent = item.title || `${item.label}: ${item.value}`;
    // The value sits outside a clickable bar: the bar's name (below) says it after the label
    // the bar shows, and screen readers need not read it twice.
    const valueAttrs = { "text-anchor": "middle", class: "chart-value", ...(item.onClick ? { "aria-hidden": "true" } : {}) };
    text(item.onClick ? svg : group, x + slot * 0.32, y - 6, String(item.value), valueAttrs);
    text(group, x + slot * 0.32, height - 8, item.label, { "text-anchor": "middle", class: "chart-label" });
    if (item.onClick) {
      group.setAttribute("tabindex", "0");
      group.setAttribute("role", "button");
      // The name starts with the label the bar shows, so that voice control finds it by it.
      group.setAttribute("aria-label", `${item.label}: ${item.title || item.value}`);
      group.classList.add("clickable");
      group.addEventListener("click", item.onClick);
      group.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          item.onClick();
        }
      });
    }
  });
}

// Horizontal bars with a label and a count: short lists such as rewards.
export function barList(el, items, { emptyText = "No data yet" } = {}) {
  if (!items.length) return empty(el, emptyText);
  clear(el);
  const max = Math.max(...items.map((i) => i.value), 1);
  const list = document.createElement("ul");
  list.className = "bar-list";
  for (const item of items) {
    const li = document.createElement("li");
    const label = document.createElement("span");
    label.className = "bar-label";
    label.textContent = item.label;
    const track = document.createElement("span");
    track.className = "bar-track";
    const svg = node("svg", { viewBox: "0 0 100 10", preserveAspectRatio: "none", class: "bar-svg", "aria-hidden": "true" }, track);
    node("rect", { x: 0, y: 0, width: (100 * item.value) / max, height: 10, rx: 2, class: "bar-fill" }, svg);
    const value = document.createElement("span");
    value.className = "bar-value";
    value.textContent = String(item.value);
    li.append(label, track, value);
    list.appendChild(li);
  }
  el.appendChild(list);
}

// Daily responses as columns (left axis) with the average rating as a line (right axis, 1-5).
export function trendChart(el, points, { emptyText = "No responses in this period" } = {}) {
  if (!points.some((p) => p.responses > 0)) return empty(el, emptyText);
  clear(el);
  const width = 640;
  const height = 200;
  const left = 34;
  const right = 30;
  const top = 12;
  const bottom = 24;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const max = niceMax(Math.max(...points.map((p) => p.responses)));
  const slot = plotW / points.length;
  const svg = node("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart-svg", preserveAspectRatio: "xMidYMid meet" }, el);
  for (const fraction of [0, 0.5, 1]) {
    const y = top + plotH * (1 - fraction);
    node("line", { x1: left, x2: width - right, y1: y, y2: y, class: "grid" }, svg);
    text(svg, left - 6, y + 4, String(Math.round(max * fraction)), { "text-anchor": "end", class: "chart-label" });
    text(svg, width - right + 6, y + 4, (1 + 4 * fraction).toFixed(0) + "★", { class: "chart-label" });
  }
  const line = [];
  points.forEach((p, n) => {
    const h = (plotH * p.responses) / max;
    const x = left + n * slot;
    const bar = node("rect", { x: x + slot * 0.15, y: top + plotH - h, width: Math.max(slot * 0.7, 1), height: h, rx: 2, class: "trend-bar" }, svg);
    node("title", {}, bar).textContent = `${p.date}: ${p.responses} responses` + (p.average == null ? "" : `, average ${p.average.toFixed(2)}`);
    if (p.average != null) line.push([x + slot / 2, top + plotH * (1 - (p.average - 1) / 4)]);
    const every = Math.ceil(points.length / 8);
    if (n % every === 0) text(svg, x + slot / 2, height - 6, p.date.slice(5), { "text-anchor": "middle", class: "chart-label" });
  });
  if (line.length) {
    node("polyline", { points: line.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "), class: "trend-line" }, svg);
    for (const [x, y] of line) node("circle", { cx: x, cy: y, r: 2.6, class: "trend-dot" }, svg);
  }
}
