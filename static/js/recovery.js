// The recovery queue: a snapshot of cases and metrics over HTTP, then live case events.
// Customer text (names, comments, notes) is only ever set with textContent.
import { formatWhen } from "./dates.js";
import { areaLabels, channelLabel } from "./labels.js";
import { showTicketLink } from "./links.js";
import { StreamConnection, connectionIndicator } from "./stream.js";

const root = document.querySelector("[data-streams]");
const streams = (root.dataset.streams || "").split(" ").filter(Boolean);
const me = Number(root.dataset.userId);
const supervisor = root.dataset.supervisor === "yes";
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const queue = document.getElementById("queue");
const empty = document.getElementById("queue-empty");
const detail = document.getElementById("detail");
const accountSelect = document.getElementById("rq-account");
const cardTemplate = document.getElementById("case-card");
const detailTemplate = document.getElementById("case-detail");

const DUE_SOON_MS = 30 * 60 * 1000;
// Each account's time zone: a case's times are read in its own account's zone.
const zones = JSON.parse(root.dataset.zones || "{}");
const cases = new Map(); // id -> case JSON
const cards = new Map(); // id -> <li>
let view = "active";
let selected = null;
let metricsTimer = null;

const OUTCOMES = {
  reached: "Reached the customer",
  voicemail: "Left a voicemail",
  no_answer: "No answer",
  wrong_number: "Wrong number",
  other: "Other",
};

function stars(rating) {
  return "\u2605".repeat(rating) + "\u2606".repeat(Math.max(0, 5 - rating));
}

function account() {
  return accountSelect ? accountSelect.value : "";
}

function duration(ms) {
  const minutes = Math.floor(Math.abs(ms) / 60000);
  if (minutes < 1) return `${Math.floor(Math.abs(ms) / 1000)}s`;
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

function seconds(value) {
  return value === null || value === undefined ? "–" : duration(value * 1000);
}

function at(iso, item) {
  return formatWhen(iso, zones[item.account_id]);
}

// The SLA chip: ok / due soon / breached, against the case's deadline, recomputed every second.
function paintSla(chip, item) {
  if (item.status === "resolved") {
    const late = new Date(item.resolved_at) > new Date(item.sla_due_at);
    chip.className = `sla-chip ${late ? "sla-breached" : "sla-ok"}`;
    chip.textContent = late ? "Resolved late" : "Resolved in SLA";
    return;
  }
  const left = new Date(item.sla_due_at).getTime() - Date.now();
  const state = left < 0 ? "breached" : left < DUE_SOON_MS ? "soon" : "ok";
  chip.className = `sla-chip sla-${state}`;
  chip.dataset.sla = state;
  chip.textContent = left < 0 ? `Overdue ${duration(left)}` : `${duration(left)} left`;
  chip.title = `Opened ${at(item.opened_at, item)} · due ${at(item.sla_due_at, item)}`;
}

function ownerText(item) {
  if (item.status === "resolved") return item.resolved_by ? `Resolved by ${item.resolved_by.name}` : "Resolved";
  if (!item.claimed_by) return "Unclaimed";
  return item.claimed_by.id === me ? "Claimed by you" : `Taken by ${item.claimed_by.name}`;
}

function belongs(item) {
  if (account() && String(item.account_id) !== account()) return false;
  return view === "active" ? item.status !== "resolved" : item.status === "resolved";
}

function renderCard(item) {
  let card = cards.get(item.id);
  if (!card) {
    card = cardTemplate.content.firstElementChild.cloneNode(true);
    card.dataset.caseId = String(item.id);
    card.querySelector(".case-open").addEventListener("click", () => select(item.id));
    card.querySelector(".claim").addEventListener("click", () => act(item.id, "claim"));
    cards.set(item.id, card);
  }
  const starEl = card.querySelector(".stars");
  starEl.textContent = stars(item.response.rating);
  starEl.setAttribute("aria-label", `${item.response.rating} out of 5 stars`);
  paintSla(card.querySelector(".sla-chip"), item);
  card.querySelector(".case-customer").textContent = item.customer.name || item.customer.email || "Unnamed customer";
  const comment = item.response.comment;
  const commentEl = card.querySelector(".case-comment");
  commentEl.textContent = comment || (item.response.comment_hidden ? "Comment hidden by moderation" : "No comment");
  commentEl.classList.toggle("none", !comment);
  card.querySelector(".case-agent").textContent = item.agent.name;
  card.querySelector(".case-channel").textContent = channelLabel(item.response);
  card.querySelector(".case-account").textContent = accountName(item.account_id);
  const owner = card.querySelector(".case-owner");
  owner.textContent = ownerText(item);
  card.dataset.status = item.status;
  card.classList.toggle("mine", item.claimed_by !== null && item.claimed_by.id === me);
  card.classList.toggle("taken", item.claimed_by !== null && item.claimed_by.id !== me);
  card.querySelector(".claim").hidden = item.status !== "open";
  card.classList.toggle("selected", selected === item.id);
  return card;
}

function accountName(id) {
  if (!accountSelect) return "";
  const option = accountSelect.querySelector(`option[value="${Number(id)}"]`);
  return option ? option.textContent : "";
}

function sortKey(item) {
  return new Date(item.opened_at).getTime();
}

function renderQueue() {
  const shown = Array.from(cases.values()).filter(belongs);
  shown.sort((a, b) => (view === "active" ? sortKey(a) - sortKey(b) : sortKey(b) - sortKey(a)) || a.id - b.id);
  const wanted = shown.map(renderCard);
  // Reorder in place: cards keep focus and their animation state.
  wanted.forEach((card, index) => {
    if (queue.children[index] !== card) queue.insertBefore(card, queue.children[index] || null);
  });
  while (queue.children.length > wanted.length) queue.lastElementChild.remove();
  empty.hidden = wanted.length > 0;
  empty.querySelector(".rq-empty-title").textContent = view === "active" ? "Queue is clear" : "Nothing resolved yet";
  const active = Array.from(cases.values()).filter((c) => c.status !== "resolved" && (!account() || String(c.account_id) === account()));
  document.getElementById("count-active").textContent = String(active.length);
}

function setText(scope, selector, text) {
  scope.querySelector(selector).textContent = text;
}

function renderDetail() {
  const item = selected !== null ? cases.get(selected) : null;
  detail.classList.toggle("open", Boolean(item));
  document.body.classList.toggle("rq-detail-open", Boolean(item));
  const current = detail.querySelector(".cd");
  if (!item) {
    if (current) current.remove();
    document.getElementById("detail-empty").hidden = false;
    return;
  }
  document.getElementById("detail-empty").hidden = true;
  let panel = current;
  if (!panel || panel.dataset.caseId !== String(item.id)) {
    if (panel) panel.remove();
    panel = detailTemplate.content.firstElementChild.cloneNode(true);
    panel.dataset.caseId = String(item.id);
    wireDetail(panel, item.id);
    detail.append(panel);
  }
  panel.dataset.status = item.status;
  setText(panel, ".cd-kicker", `Case #${item.id} · ${channelLabel(item.response)} · opened ${at(item.opened_at, item)}`);
  setText(panel, ".cd-customer", item.customer.name || "Unnamed customer");
  paintSla(panel.querySelector(".sla-chip"), item);
  const email = panel.querySelector(".cd-email");
  email.textContent = item.customer.email || "—";
  if (item.customer.email) email.href = `mailto:${item.customer.email}`; else email.removeAttribute("href");
  const phone = panel.querySelector(".cd-phone");
  phone.textContent = item.customer.phone || "—";
  if (item.customer.phone) phone.href = `tel:${item.customer.phone.replace(/[^0-9+]/g, "")}`; else phone.removeAttribute("href");
  setText(panel, ".cd-ticket", item.response.external_id || "—");
  showTicketLink(panel.querySelector(".cd-ticket-link"), item.response.ticket_url);
  const starEl = panel.querySelector(".cd-stars");
  starEl.textContent = stars(item.response.rating);
  starEl.setAttribute("aria-label", `${item.response.rating} out of 5 stars`);
  const ratings = panel.querySelector(".cd-ratings");
  ratings.textContent = item.after_rating !== null ? `${item.before_rating} \u2192 ${item.after_rating}` : `Before: ${item.before_rating}`;
  ratings.classList.toggle("better", item.after_rating !== null && item.after_rating > item.before_rating);
  const comment = item.response.comment;
  setText(panel, ".cd-comment", comment || (item.response.comment_hidden ? "Comment hidden by moderation" : "The customer left no comment."));
  panel.querySelector(".cd-comment").classList.toggle("none", !comment);
  const areas = item.response.improvement_areas || [];
  setText(panel, ".cd-areas", areas.length ? `To improve: ${areaLabels(item.response).join(", ")}` : "");
  setText(panel, ".cd-agent", `Served by ${item.agent.name}`);
  setText(panel, ".cd-owner", ownerText(item));
  const mine = item.claimed_by !== null && item.claimed_by.id === me;
  const canWork = item.status !== "resolved" && (supervisor || mine);
  panel.querySelector(".cd-claim").hidden = item.status !== "open";
  panel.querySelector(".cd-release").hidden = !(item.status === "claimed" && (mine || supervisor));
  panel.querySelector(".cd-contact-form").hidden = !canWork;
  setText(panel, ".cd-outcome", item.contact_outcome ? `Last contact: ${OUTCOMES[item.contact_outcome] || item.contact_outcome}` : "No contact logged yet.");
  panel.querySelector(".cd-resolve-form").hidden = !canWork;
  setText(panel, ".cd-resolution", item.resolution ? item.resolution : item.status === "resolved" ? "" : canWork ? "" : "Claim the case to work on it.");
  if (item.resolved_by) setText(panel, ".cd-resolution", `${item.resolution} — ${item.resolved_by.name}`);
  renderFollowup(panel, item, canWork || (item.status === "resolved"));
  const notes = panel.querySelector(".cd-notes");
  notes.replaceChildren(
    ...item.notes.map((note) => {
      const li = document.createElement("li");
      const head = document.createElement("span");
      head.className = "note-head";
      head.textContent = `${note.author ? note.author.name : "Someone"} · ${at(note.created_at, item)}`;
      const body = document.createElement("span");
      body.className = "note-text";
      body.textContent = note.text;
      li.append(head, body);
      return li;
    }),
  );
  if (!item.notes.length) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = "No notes yet.";
    notes.append(li);
  }
}

function renderFollowup(panel, item, allowed) {
  const follow = item.followup;
  const linkBox = panel.querySelector(".cd-followup-link");
  const url = follow && follow.url ? follow.url : panel.dataset.followupUrl || "";
  linkBox.hidden = !url;
  panel.querySelector(".cd-followup-url").value = url;
  panel.querySelector(".cd-followup").hidden = !allowed || Boolean(follow);
  let state = "";
  if (follow && follow.answered && item.after_rating !== null) {
    state = `Customer answered: ${item.before_rating} \u2192 ${item.after_rating} stars`;
  } else if (follow) {
    state = "Waiting for the customer's answer.";
  }
  setText(panel, ".cd-followup-state", state);
  panel.querySelector(".cd-followup-hint").hidden = Boolean(follow);
}

function wireDetail(panel, id) {
  panel.querySelector(".cd-back").addEventListener("click", () => select(null));
  panel.querySelector(".cd-claim").addEventListener("click", () => act(id, "claim"));
  panel.querySelector(".cd-release").addEventListener("click", () => act(id, "release"));
  panel.querySelector(".cd-followup").addEventListener("click", async () => {
    const body = await act(id, "followup");
    if (body && body.url) {
      panel.dataset.followupUrl = body.url;
      renderDetail();
    }
  });
  panel.querySelector(".cd-copy").addEventListener("click", () => {
    const input = panel.querySelector(".cd-followup-url");
    input.select();
    if (navigator.clipboard) navigator.clipboard.writeText(input.value).catch(() => {});
  });
  formHandler(panel.querySelector(".cd-note-form"), id, "notes", (data) => ({ text: data.get("text") }));
  formHandler(panel.querySelector(".cd-contact-form"), id, "contact", (data) => {
    const note = String(data.get("note") || "").trim();
    return note ? { outcome: data.get("outcome"), note } : { outcome: data.get("outcome") };
  });
  formHandler(panel.querySelector(".cd-resolve-form"), id, "resolve", (data) => ({ resolution: data.get("resolution") }));
}

function formHandler(form, id, action, bodyOf) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = await act(id, action, bodyOf(new FormData(form)));
    if (result) form.reset();
  });
}

function showError(message) {
  const panel = detail.querySelector(".cd");
  if (!panel) return;
  const box = panel.querySelector(".cd-error");
  box.textContent = message || "";
  box.hidden = !message;
}

async function act(id, action, body) {
  showError("");
  const res = await fetch(`/api/v1/recovery/cases/${Number(id)}/${action}`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
    body: body ? JSON.stringify(body) : null,
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const error = data.error || {};
    if (error.code === "already_claimed") {
      // Someone was faster: fetch the case so the card shows who has it, even before the event.
      await refreshCase(id);
    }
    if (selected !== id) select(id);
    showError(error.message || `Could not ${action} this case.`);
    return null;
  }
  if (data.case) upsert(data.case);
  return data;
}

async function refreshCase(id) {
  const res = await fetch(`/api/v1/recovery/cases/${Number(id)}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (res.ok) upsert((await res.json()).case);
}

function upsert(item) {
  const known = cases.get(item.id);
  // Events and API answers can cross; the version only ever grows.
  if (known && known.version > item.version) return;
  if (known && known.followup && known.followup.url && item.followup && !item.followup.url) {
    item.followup.url = known.followup.url;
  }
  cases.set(item.id, item);
  renderQueue();
  if (selected === item.id) renderDetail();
  scheduleMetrics();
}

function select(id) {
  selected = id;
  for (const [caseId, card] of cards) card.classList.toggle("selected", caseId === id);
  renderDetail();
  if (id !== null) refreshCase(id);
}

async function loadCases() {
  const params = new URLSearchParams({ status: view, limit: "200" });
  if (account()) params.set("account_id", account());
  const res = await fetch(`/api/v1/recovery/cases?${params}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!res.ok) return;
  const body = await res.json();
  for (const item of body.items) cases.set(item.id, item);
  renderQueue();
  if (selected !== null) renderDetail();
}

async function loadMetrics() {
  const params = new URLSearchParams();
  if (account()) params.set("account_id", account());
  const res = await fetch(`/api/v1/recovery/metrics?${params}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!res.ok) return;
  const m = await res.json();
  document.getElementById("m-open").textContent = String(m.open_count);
  document.getElementById("m-claimed").textContent = String(m.claimed_count);
  document.getElementById("m-claim").textContent = seconds(m.time_to_claim.median_seconds);
  document.getElementById("m-resolve").textContent = seconds(m.time_to_resolve.median_seconds);
  document.getElementById("m-sla").textContent = m.within_sla_share === null ? "–" : `${Math.round(m.within_sla_share * 100)}%`;
  const uplift = document.getElementById("m-uplift");
  uplift.textContent = m.rating_uplift === null ? "–" : `${m.rating_uplift > 0 ? "+" : ""}${m.rating_uplift.toFixed(1)}★`;
  uplift.classList.toggle("good", m.rating_uplift !== null && m.rating_uplift > 0);
}

function scheduleMetrics() {
  if (metricsTimer !== null) return;
  metricsTimer = setTimeout(() => {
    metricsTimer = null;
    loadMetrics();
  }, 1000);
}

function onEvent(event) {
  if (event.type && event.type.startsWith("case.")) {
    const fresh = !cases.has(event.data.id);
    upsert(event.data);
    const card = cards.get(event.data.id);
    if (fresh && card) card.classList.add("arrived");
  }
}

function tick() {
  for (const [id, card] of cards) {
    const item = cases.get(id);
    if (item && card.isConnected) paintSla(card.querySelector(".sla-chip"), item);
  }
  const panel = detail.querySelector(".cd");
  if (panel && selected !== null && cases.get(selected)) paintSla(panel.querySelector(".sla-chip"), cases.get(selected));
}

for (const tab of document.querySelectorAll(".rq-tab")) {
  tab.addEventListener("click", () => {
    view = tab.dataset.status;
    for (const other of document.querySelectorAll(".rq-tab")) other.setAttribute("aria-selected", String(other === tab));
    renderQueue();
    loadCases();
  });
}
if (accountSelect) {
  accountSelect.addEventListener("change", () => {
    renderQueue();
    loadCases();
    loadMetrics();
  });
}

await Promise.all([loadCases(), loadMetrics()]);
// Slack and Teams messages link to a case as /recovery#case-<id>: open it.
const linked = /^#case-(\d+)$/.exec(location.hash);
if (linked) select(Number(linked[1]));
setInterval(tick, 1000);
if (streams.length) {
  const conn = new StreamConnection({
    streams,
    storageKey: "recovery-queue",
    onEvent,
    onResync: () => {
      loadCases();
      loadMetrics();
    },
    onState: connectionIndicator(document.getElementById("conn")),
  });
  conn.start();
}
