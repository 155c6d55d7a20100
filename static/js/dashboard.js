// The dashboard: KPIs, charts and tables for a filter, the matching responses with drill-down,
// moderation for managers, and live refresh from the account streams.
// Customer text (comments, names) is only ever set with textContent.
import { StreamConnection, connectionIndicator } from "./stream.js";
import { barList, columnChart, trendChart } from "./charts.js";
import { dateIn, formatDay, formatWhen } from "./dates.js";
import { areaLabels, channelLabel, rewardLabel } from "./labels.js";
import { showTicketLink } from "./links.js";

const PAGE_SIZE = 25;
const REFRESH_DELAY_MS = 600;

const root = document.querySelector(".dash");
const canModerate = root.dataset.canModerate === "true";
const canCoach = root.dataset.canCoach === "true";
const streams = (root.dataset.streams || "").split(" ").filter(Boolean);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const form = document.getElementById("filters");
const selects = {
  account_id: document.getElementById("f-account"),
  team_id: document.getElementById("f-team"),
  agent_id: document.getElementById("f-agent"),
  channel: document.getElementById("f-channel"),
};
const list = document.getElementById("response-list");
const cardTemplate = document.getElementById("card");
const rowTemplate = document.getElementById("row-template");
const moreButton = document.getElementById("more");
const listEmpty = document.getElementById("list-empty");
const drillBox = document.getElementById("drill");
const exportLink = document.getElementById("export");
const number = new Intl.NumberFormat();

const state = { period: "30d", drill: null, cursor: null, listed: new Map(), resolved: null };

// Each account's time zone: a response's time is shown in its own account's zone.
const zones = JSON.parse(root.dataset.zones || "{}");

// --- filters -------------------------------------------------------------------------------

// The server turns periods into instants at the midnights of the view's time zone: the page
// names days, never the browser's own midnight, so every browser counts the same responses.
function setPeriod(params) {
  if (state.period === "custom") {
    const from = document.getElementById("f-from").value;
    const to = document.getElementById("f-to").value;
    if (from) params.set("from_date", from);
    if (to) params.set("to_date", to);
    if (from || to) return;
  }
  params.set("period", state.period === "custom" ? "30d" : state.period);
}

function periodLabel(period) {
  const labels = { today: "Today", "7d": "Last 7 days", "30d": "Last 30 days" };
  const zone = period.time_zone;
  const fmt = (d) => formatDay(d, zone);
  const first = fmt(new Date(period.since));
  const last = fmt(new Date(new Date(period.until) - 1));
  const range = first === last ? first : `${first} – ${last}`;
  const name = labels[state.period];
  return `${name ? `${name} · ` : ""}${range} · ${zone} time`;
}

function filterParams({ drill = false } = {}) {
  const params = new URLSearchParams();
  for (const [name, el] of Object.entries(selects)) {
    if (el && el.value) params.set(name, el.value);
  }
  setPeriod(params);
  if (drill && state.drill) params.set(state.drill.key, String(state.drill.value));
  return params;
}

// Only teams and agents of the chosen account (and team) are offered.
function narrowChoices() {
  const account = selects.account_id.value;
  const team = selects.team_id.value;
  for (const option of selects.team_id.options) {
    if (!option.value) continue;
    option.hidden = Boolean(account) && option.dataset.account !== account;
  }
  if (selects.team_id.selectedOptions[0]?.hidden) selects.team_id.value = "";
  for (const option of selects.agent_id.options) {
    if (!option.value) continue;
    option.hidden = (Boolean(account) && option.dataset.account !== account) || (Boolean(team) && option.dataset.team !== team);
  }
  if (selects.agent_id.selectedOptions[0]?.hidden) selects.agent_id.value = "";
}

// --- data ----------------------------------------------------------------------------------

async function getJSON(path, params) {
  const res = await fetch(`${path}?${params}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message || `request failed (${res.status})`);
  return body;
}

function showError(message) {
  const el = document.getElementById("period-label");
  el.textContent = message;
  el.classList.add("error-text");
}

async function loadAggregates() {
  const params = filterParams();
  const withBy = (by) => {
    const p = new URLSearchParams(params);
    p.set("by", by);
    return p;
  };
  try {
    const [summary, teams, agents, trend] = await Promise.all([
      getJSON("/api/v1/dashboard/summary", params),
      getJSON("/api/v1/dashboard/breakdown", withBy("team")),
      getJSON("/api/v1/dashboard/breakdown", withBy("agent")),
      getJSON("/api/v1/dashboard/trend", params),
    ]);
    // Past the view's midnight (or a week's or month's end) the list belongs to the new period.
    const moved = state.resolved && state.resolved.since !== summary.period.since;
    state.resolved = summary.period;
    if (moved) loadList(true);
    const label = document.getElementById("period-label");
    label.classList.remove("error-text");
    label.textContent = periodLabel(summary.period);
    label.dataset.timeZone = summary.period.time_zone;
    renderKpis(summary);
    renderCharts(summary, trend);
    renderTable("team", teams.items);
    renderTable("agent", agents.items);
    root.dataset.loaded = String(Number(root.dataset.loaded || 0) + 1);
  } catch (err) {
    showError(err.message);
  }
}

// --- KPIs, charts, tables -----------------------------------------------------------------

function pct(value) {
  return value == null ? "–" : `${value.toFixed(1).replace(/\.0$/, "")}%`;
}

function setKpi(name, value, note, tone = "") {
  const tile = document.querySelector(`[data-kpi="${name}"]`);
  const valueEl = tile.querySelector(".kpi-value");
  if (valueEl.textContent !== value && valueEl.textContent !== "–") {
    tile.classList.remove("bumped");
    void tile.offsetWidth; // restart the highlight animation
    tile.classList.add("bumped");
  }
  valueEl.textContent = value;
  tile.querySelector(".kpi-note").textContent = note;
  tile.dataset.tone = tone;
}

function tone(value, good, bad) {
  if (value == null) return "";
  if (value >= good) return "good";
  return value < bad ? "bad" : "ok";
}

function renderKpis(s) {
  setKpi("responses", number.format(s.responses), `${s.distribution[0].count + s.distribution[1].count} negative`);
  setKpi("rate", pct(s.response_rate), `of ${number.format(s.requests_sent)} requests sent`, tone(s.response_rate, 30, 10));
  setKpi("average", s.average_rating == null ? "–" : s.average_rating.toFixed(2), "out of 5 stars", tone(s.average_rating, 4.2, 3.5));
  setKpi("csat", pct(s.csat.percent), `${number.format(s.csat.answers)} answers`, tone(s.csat.percent, 80, 60));
  const nps = s.nps.score == null ? "–" : `${s.nps.score > 0 ? "+" : ""}${Math.round(s.nps.score)}`;
  setKpi("nps", nps, `${s.nps.promoters} promoters · ${s.nps.detractors} detractors`, tone(s.nps.score, 30, 0));
  setKpi("fcr", pct(s.fcr.percent), `${number.format(s.fcr.answers)} answers`, tone(s.fcr.percent, 75, 50));
  const top = s.rewards[0];
  setKpi("rewards", number.format(s.rewards_total), top ? `most: ${top.emoji} ${top.label}` : "none yet");
}

function renderCharts(summary, trend) {
  columnChart(
    document.getElementById("chart-distribution"),
    summary.distribution.map((b) => ({
      label: `${b.rating}★`,
      value: b.count,
      className: `r${b.rating}`,
      title: `${b.count} responses with ${b.rating} star${b.rating === 1 ? "" : "s"}`,
      onClick: () => drill("rating", b.rating, `${b.rating}-star responses`),
    })),
    { emptyText: "No responses in this period" },
  );
  trendChart(
    document.getElementById("chart-trend"),
    trend.points.map((p) => ({ date: p.date, responses: p.responses, average: p.average_rating })),
  );
  barList(
    document.getElementById("chart-rewards"),
    summary.rewards.map((r) => ({ label: `${r.emoji} ${r.label}`.trim(), value: r.count })),
    { emptyText: "No rewards suggested in this period" },
  );
}

function renderTable(by, items) {
  const body = document.querySelector(`#table-${by} tbody`);
  body.replaceChildren();
  if (!items.length) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = by === "agent" ? 7 : 6;
    td.className = "muted";
    td.textContent = "No responses in this period";
    tr.appendChild(td);
    body.appendChild(tr);
    return;
  }
  for (const item of items) {
    const row = rowTemplate.content.firstElementChild.cloneNode(true);
    row.dataset.id = String(item.id);
    row.querySelector(".name").textContent = item.name;
    row.querySelector(".responses").textContent = number.format(item.responses);
    row.querySelector(".average").textContent = item.average_rating == null ? "–" : item.average_rating.toFixed(2);
    row.querySelector(".csat").textContent = pct(item.csat.percent);
    row.querySelector(".nps").textContent = item.nps.score == null ? "–" : String(Math.round(item.nps.score));
    row.querySelector(".rewards").textContent = number.format(item.rewards_total);
    renderBlended(by, row, item);
    const key = `${by}_id`;
    if (state.drill && state.drill.key === key && state.drill.value === item.id) row.classList.add("selected");
    const open = () => drill(key, item.id, `${by === "team" ? "Team" : "Agent"}: ${item.name}`);
    row.addEventListener("click", open);
    row.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        open();
      }
    });
    body.appendChild(row);
  }
}

// The agent table's blended scorecard (null with a reason below the account's minimum) and a
// link to the agent's 1:1 sheet for the same period; other tables have no such column.
function renderBlended(by, row, item) {
  const cell = row.querySelector(".blended");
  if (by !== "agent") {
    cell.remove();
    return;
  }
  if (item.blended_score == null) {
    cell.textContent = "–";
    cell.title = item.blended_reason_label || "";
  } else {
    cell.textContent = item.blended_score.toFixed(1);
  }
  if (!canCoach || item.id == null) return;
  const link = document.createElement("a");
  link.className = "one-on-one-link";
  link.href = `/agents/${item.id}/one-on-one?${sheetPeriod()}`;
  link.textContent = "1:1";
  link.setAttribute("aria-label", `1:1 sheet of ${item.name}`);
  link.addEventListener("click", (e) => e.stopPropagation());
  link.addEventListener("keydown", (e) => e.stopPropagation());
  const name = row.querySelector(".name");
  name.append(" ", link);
}

// The dashboard's period in the 1:1 sheet's terms: the same named period, or the same days.
function sheetPeriod() {
  const params = new URLSearchParams();
  setPeriod(params);
  if (params.has("period")) return new URLSearchParams({ period: params.get("period") });
  const sheet = new URLSearchParams({ period: "custom" });
  for (const name of ["from_date", "to_date"]) if (params.get(name)) sheet.set(name, params.get(name));
  return sheet;
}

// --- the response list --------------------------------------------------------------------

function stars(rating) {
  return "\u2605".repeat(rating) + "\u2606".repeat(5 - rating);
}

function renderCard(response, fresh = false) {
  const previous = state.listed.get(response.id);
  // Streams never carry a hidden comment; a moderator keeps the text already on screen.
  if (previous && response.comment == null && response.comment_hidden && previous.comment) {
    response = { ...response, comment: previous.comment };
  }
  state.listed.set(response.id, response);
  let card = list.querySelector(`[data-response-id="${response.id}"]`);
  const isNew = !card;
  if (isNew) card = cardTemplate.content.firstElementChild.cloneNode(true);
  card.dataset.responseId = String(response.id);
  const starEl = card.querySelector(".stars");
  starEl.textContent = stars(response.rating);
  starEl.setAttribute("aria-label", `${response.rating} out of 5 stars`);
  card.classList.toggle("negative", response.rating <= 2);
  card.classList.toggle("positive", response.rating >= 4);
  card.querySelector(".agent").textContent = response.agent ? response.agent.name : `Agent ${response.agent_id}`;
  card.querySelector(".channel").textContent = channelLabel(response);
  const when = card.querySelector(".when");
  const zone = zones[response.account_id] || "UTC";
  when.dateTime = response.created_at;
  when.title = zone;
  when.textContent = formatWhen(response.created_at, zone);
  const hidden = Boolean(response.comment_hidden);
  card.classList.toggle("comment-hidden", hidden);
  card.querySelector(".hidden-badge").hidden = !hidden;
  const comment = card.querySelector(".comment");
  // Client viewers never see a moderated comment, even if the list sent it.
  comment.textContent = hidden && !canModerate ? "" : response.comment || "";
  comment.hidden = !comment.textContent;
  const extras = [];
  if (response.reward) extras.push(`Suggested reward: ${rewardLabel(response)}`);
  if (response.improvement_areas?.length) extras.push(`To improve: ${areaLabels(response).join(", ")}`);
  if (response.csat != null) extras.push(`CSAT ${response.csat}/5`);
  if (response.nps != null) extras.push(`NPS ${response.nps}`);
  if (response.fcr != null) extras.push(response.fcr ? "Resolved first time" : "Not resolved first time");
  card.querySelector(".extras").textContent = extras.join(" \u00b7 ");
  showTicketLink(card.querySelector(".ticket-link"), response.ticket_url);
  const button = card.querySelector(".moderate");
  button.hidden = !canModerate || !response.comment;
  button.textContent = hidden ? "Show comment" : "Hide comment";
  if (isNew) {
    button.addEventListener("click", () => openModeration(Number(card.dataset.responseId)));
    if (fresh) {
      list.prepend(card);
      card.classList.add("arrived");
    } else {
      list.append(card);
    }
  }
  listEmpty.hidden = list.children.length > 0;
}

async function loadList(reset) {
  if (reset) {
    state.cursor = null;
    state.listed.clear();
    list.replaceChildren();
  }
  const params = filterParams({ drill: true });
  params.set("limit", String(PAGE_SIZE));
  if (state.cursor) params.set("cursor", state.cursor);
  try {
    const page = await getJSON("/api/v1/feedback", params);
    for (const item of page.items) renderCard(item);
    state.cursor = page.next_cursor;
    moreButton.hidden = !page.next_cursor;
    listEmpty.hidden = list.children.length > 0;
  } catch (err) {
    showError(err.message);
  }
}

function drill(key, value, label) {
  state.drill = { key, value, label };
  drillBox.hidden = false;
  drillBox.querySelector(".drill-label").textContent = label;
  for (const row of document.querySelectorAll(".breakdown tbody tr")) {
    const table = row.closest("table");
    row.classList.toggle("selected", table.dataset.drill === key && row.dataset.id === String(value));
  }
  updateExport();
  loadList(true);
  document.getElementById("responses-title").scrollIntoView({ behavior: "smooth", block: "start" });
}

function clearDrill() {
  state.drill = null;
  drillBox.hidden = true;
  for (const row of document.querySelectorAll(".breakdown tr.selected")) row.classList.remove("selected");
  updateExport();
  loadList(true);
}

// Would this response appear in the list as currently filtered?
// Answers to recovery follow-ups rate the recovery, not the agent: the list, the CSV and the
// tiles leave them out (streamsrv.survey.listing.counted_responses), so live cards do too.
const FOLLOWUP_SOURCE = "recovery_followup";

function matchesList(r) {
  if (r.source === FOLLOWUP_SOURCE) return false;
  const params = filterParams({ drill: true });
  for (const key of ["account_id", "team_id", "agent_id", "rating"]) {
    if (params.has(key) && String(r[key]) !== params.get(key)) return false;
  }
  if (params.has("channel") && r.channel !== params.get("channel")) return false;
  if (!state.resolved) return false;
  const created = new Date(r.created_at);
  return created >= new Date(state.resolved.since) && created < new Date(state.resolved.until);
}

function updateExport() {
  exportLink.href = `/api/v1/feedback.csv?${filterParams({ drill: true })}`;
}

// --- moderation ---------------------------------------------------------------------------

const dialog = document.getElementById("moderate-dialog");
const reasonEl = document.getElementById("moderate-reason");
const errorEl = document.getElementById("moderate-error");
let moderating = null;

function openModeration(id) {
  const response = state.listed.get(id);
  if (!response) return;
  moderating = { id, hide: !response.comment_hidden };
  dialog.querySelector(".modal-title").textContent = moderating.hide ? "Hide this comment?" : "Show this comment again?";
  reasonEl.value = "";
  errorEl.hidden = true;
  dialog.showModal();
  reasonEl.focus();
}

async function submitModeration(event) {
  event.preventDefault();
  if (!moderating) return;
  const reason = reasonEl.value.trim();
  if (!reason) {
    errorEl.textContent = "Please give a reason: it is kept in the audit log.";
    errorEl.hidden = false;
    return;
  }
  const res = await fetch(`/api/v1/responses/${moderating.id}/moderation`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify({ hidden: moderating.hide, reason }),
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    errorEl.textContent = body?.error?.message || `Could not save (${res.status})`;
    errorEl.hidden = false;
    return;
  }
  renderCard(body.response);
  moderating = null;
  dialog.close();
}

document.getElementById("moderate-form").addEventListener("submit", submitModeration);
document.getElementById("moderate-cancel").addEventListener("click", () => {
  moderating = null;
  dialog.close();
});

// --- live ---------------------------------------------------------------------------------

let refreshTimer = null;

function scheduleRefresh() {
  // A busy floor sends many events a second; one refresh per burst is plenty.
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(loadAggregates, REFRESH_DELAY_MS);
}

function onEvent(event) {
  if (event.type !== "feedback.received" && event.type !== "feedback.updated") return;
  const response = event.data;
  if (state.listed.has(response.id)) {
    renderCard(response);
  } else if (event.type === "feedback.received" && matchesList(response)) {
    renderCard(response, true);
  }
  scheduleRefresh();
}

// --- wiring -------------------------------------------------------------------------------

function refreshAll() {
  narrowChoices();
  if (state.drill) {
    state.drill = null;
    drillBox.hidden = true;
  }
  updateExport();
  loadAggregates();
  loadList(true);
}

form.addEventListener("change", (e) => {
  if (e.target.type === "date") {
    state.period = "custom";
  }
  refreshAll();
});
form.addEventListener("submit", (e) => e.preventDefault());
for (const button of form.querySelectorAll("[data-period]")) {
  button.addEventListener("click", () => {
    state.period = button.dataset.period;
    for (const other of form.querySelectorAll("[data-period]")) other.setAttribute("aria-pressed", String(other === button));
    document.getElementById("custom-range").hidden = state.period !== "custom";
    if (state.period === "custom" && !document.getElementById("f-from").value) {
      // The last 14 days of the view's zone: the same days the server will count.
      const zone = state.resolved ? state.resolved.time_zone : "UTC";
      const to = dateIn(zone);
      const from = new Date(`${to}T00:00:00Z`);
      from.setUTCDate(from.getUTCDate() - 13);
      document.getElementById("f-to").value = to;
      document.getElementById("f-from").value = from.toISOString().slice(0, 10);
    }
    refreshAll();
  });
}
document.getElementById("drill-clear").addEventListener("click", clearDrill);
moreButton.addEventListener("click", () => loadList(false));

refreshAll();
if (streams.length) {
  const conn = new StreamConnection({
    streams,
    storageKey: "dashboard",
    onEvent,
    onResync: () => {
      loadAggregates();
      loadList(true);
    },
    onState: connectionIndicator(document.getElementById("conn")),
  });
  conn.start();
} else {
  connectionIndicator(document.getElementById("conn"))("offline");
}
