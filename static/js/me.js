// The agent's personal stream (/me): a snapshot from GET /api/v1/me, then live events on
// agent:{id}. Customer text (comments) and coach text are only ever set with textContent.
import { formatWhen } from "./dates.js";
import { areaLabels, channelLabel, money as formatMoney, rewardLabel } from "./labels.js";
import { StreamConnection, connectionIndicator } from "./stream.js";

const MAX_CARDS = 60;
const root = document.querySelector("[data-stream]");
const stream = root.dataset.stream;
const feed = document.getElementById("feed");
const cardTemplate = document.getElementById("card");
const sideTemplate = document.getElementById("side-item");
const soundToggle = document.getElementById("sound");
const newCount = document.getElementById("new-count");
const baseTitle = document.title;
const shown = new Map(); // response id -> card
const seenSide = new Set(); // "shoutout:1", "note:4"
let rewards = new Map(); // reward code -> {label, emoji}
let unseen = 0;

let zone = "UTC"; // the account's time zone: its days are the stats' days, its clock the times shown
let rollover = null;

const stars = (n) => "\u2605".repeat(n) + "\u2606".repeat(5 - n);
const fmtTime = (iso) => formatWhen(iso, zone);

function showZone(name) {
  zone = name || "UTC";
  const note = document.getElementById("zone-note");
  const own = Intl.DateTimeFormat().resolvedOptions().timeZone;
  // Only worth saying when this device's clock would suggest other days.
  note.hidden = own === zone;
  note.textContent = `Days start at midnight ${zone} time; times are shown in it.`;
}

// At the end of the account's day the tiles belong to a new day: reload them then.
function scheduleRollover(bounds) {
  const end = bounds && bounds.today ? new Date(bounds.today.end).getTime() : NaN;
  if (Number.isNaN(end)) return;
  clearTimeout(rollover);
  rollover = setTimeout(loadSnapshot, Math.max(0, end - Date.now()) + 500);
}

function setEmpty(id, list) {
  document.getElementById(id).hidden = list.children.length > 0;
}

function renderStats(periods) {
  for (const [period, s] of Object.entries(periods || {})) {
    const tile = document.querySelector(`.stat[data-period="${period}"]`);
    if (!tile) continue;
    tile.querySelector(".value").textContent = s.average == null ? "\u2013" : s.average.toFixed(2);
    tile.querySelector(".count").textContent = String(s.count);
    tile.querySelector(".rewards").textContent = String(s.rewards);
  }
}

const PERIOD_WORDS = { today: "today", week: "this week", month: "this month" };

// The rank on the team's board, only sent when the board is open to this agent.
function renderRank(ranks) {
  for (const [period, word] of Object.entries(PERIOD_WORDS)) {
    const el = document.querySelector(`.stat[data-period="${period}"] .stat-rank`);
    if (!el) continue;
    const r = ranks ? ranks[period] : null;
    el.hidden = !r;
    if (!r) continue;
    el.textContent = r.rank == null ? `Not ranked yet ${word}` : `Rank ${r.rank} of ${r.of} in your team`;
  }
}

function money(value, currency) {
  if (value == null) return "";
  const amount = Number.isInteger(value) ? String(value) : value.toFixed(2);
  return currency ? `${amount} ${currency}` : amount;
}

function renderMonthRewards(month) {
  const list = document.getElementById("month-rewards-list");
  list.replaceChildren(
    ...((month && month.items) || []).map((r) => {
      const li = document.createElement("li");
      li.className = "month-reward";
      li.dataset.code = r.code;
      const what = document.createElement("span");
      what.className = "reward-label";
      what.textContent = `${r.emoji ? `${r.emoji} ` : ""}${r.label} × ${r.count}`;
      const worth = document.createElement("span");
      worth.className = "reward-value";
      worth.textContent = r.value == null ? "" : `${money(r.value, r.currency)} each · ${money(r.total, r.currency)}`;
      li.append(what, worth);
      return li;
    }),
  );
  setEmpty("month-rewards-empty", list);
}

function renderScores(scores) {
  const box = document.getElementById("scores");
  const csat = scores && scores.csat;
  const nps = scores && scores.nps;
  box.hidden = !csat && !nps;
  const show = (id, data, text) => {
    const el = document.getElementById(id);
    el.hidden = !data;
    if (data) el.querySelector(".score-value").textContent = text;
  };
  show("score-csat", csat, csat && csat.percent != null ? `${csat.percent}% (${csat.answers} answers)` : "no answers yet");
  show("score-nps", nps, nps && nps.score != null ? `${nps.score} (${nps.answers} answers)` : "no answers yet");
}

// Answers to recovery follow-ups rate the recovery, not the agent: /me leaves them out.
const FOLLOWUP_SOURCE = "recovery_followup";

function rewardText(response) {
  const item = response.reward_item || rewards.get(response.reward);
  if (!response.reward) return "";
  return `${item?.emoji || "\uD83C\uDF81"} Suggested reward: ${rewardLabel(response)}`;
}

function renderCard(response, fresh) {
  const existing = shown.get(response.id);
  const card = existing || cardTemplate.content.firstElementChild.cloneNode(true);
  const starEl = card.querySelector(".stars");
  starEl.textContent = stars(response.rating);
  starEl.setAttribute("aria-label", `${response.rating} out of 5 stars`);
  card.classList.toggle("negative", response.rating <= 2);
  card.classList.toggle("positive", response.rating >= 4);
  card.querySelector(".channel").textContent = channelLabel(response);
  const when = card.querySelector(".when");
  when.dateTime = response.created_at;
  when.textContent = fmtTime(response.created_at);
  const comment = card.querySelector(".comment");
  comment.textContent = response.comment || "";
  comment.hidden = !response.comment;
  const reward = card.querySelector(".reward");
  reward.textContent = rewardText(response);
  reward.hidden = !response.reward;
  const areas = card.querySelector(".areas");
  const list = response.improvement_areas || [];
  areas.textContent = list.length ? `Could be better: ${areaLabels(response).join(", ")}` : "";
  areas.hidden = !list.length;
  card.dataset.responseId = String(response.id);
  if (!existing) {
    shown.set(response.id, card);
    if (fresh) feed.prepend(card);
    else feed.append(card);
    while (feed.children.length > MAX_CARDS) {
      shown.delete(Number(feed.lastElementChild.dataset.responseId));
      feed.lastElementChild.remove();
    }
  }
  if (fresh) notify(card);
  setEmpty("feed-empty", feed);
}

function renderSide(listId, key, text, meta, fresh) {
  if (seenSide.has(key)) return;
  seenSide.add(key);
  const list = document.getElementById(listId);
  const item = sideTemplate.content.firstElementChild.cloneNode(true);
  item.querySelector(".side-text").textContent = text;
  item.querySelector(".side-meta").textContent = meta;
  if (fresh) {
    list.prepend(item);
    item.classList.add("arrived");
  } else {
    list.append(item);
  }
  setEmpty(`${listId}-empty`, list);
}

function renderShoutout(s, fresh) {
  const meta = [s.author || s.author_name, s.created_at ? fmtTime(s.created_at) : ""].filter(Boolean).join(" \u00b7 ");
  renderSide("shoutouts", `shoutout:${s.id}`, s.message || "", meta, fresh);
}

function renderNote(n, fresh) {
  const meta = [n.author || n.author_name, n.created_at ? fmtTime(n.created_at) : ""].filter(Boolean).join(" \u00b7 ");
  renderSide("notes", `note:${n.id}`, n.text || "", meta, fresh);
}

// A gentle nudge: brief highlight, a count in the tab title while the tab is hidden, and an
// optional soft chime (off by default; the choice is remembered on this device).
function notify(card) {
  card.classList.remove("arrived");
  void card.offsetWidth; // restart the highlight animation on an edited card
  card.classList.add("arrived");
  if (document.hidden) {
    unseen += 1;
    document.title = `(${unseen}) ${baseTitle}`;
    newCount.textContent = `${unseen} new`;
    newCount.hidden = false;
  }
  if (soundToggle.checked) chime();
}

let audio = null;
function chime() {
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.08, audio.currentTime + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.5);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.5);
  } catch {
    // No audio on this device: the visual highlight is enough.
  }
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) {
    unseen = 0;
    document.title = baseTitle;
    newCount.hidden = true;
  }
});
soundToggle.checked = localStorage.getItem("me-sound") === "on";
soundToggle.addEventListener("change", () => localStorage.setItem("me-sound", soundToggle.checked ? "on" : "off"));

async function loadSnapshot() {
  const res = await fetch("/api/v1/me", { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!res.ok) return;
  const body = await res.json();
  document.getElementById("me-title").textContent = body.agent.name;
  const photo = document.getElementById("me-photo");
  if (body.agent.photo) {
    photo.src = body.agent.photo;
    photo.hidden = false;
  }
  rewards = new Map((body.rewards || []).filter(Boolean).map((r) => [r.code, r]));
  showZone(body.time_zone);
  renderStats(body.stats);
  renderRank(body.rank);
  renderMonthRewards(body.rewards_this_month);
  renderScores(body.scores);
  scheduleRollover(body.period_bounds);
  for (const item of body.feedback) renderCard(item, false);
  for (const s of body.shoutouts) renderShoutout(s, false);
  for (const n of body.notes) renderNote(n, false);
  setEmpty("feed-empty", feed);
  setEmpty("shoutouts-empty", document.getElementById("shoutouts"));
  setEmpty("notes-empty", document.getElementById("notes"));
}

// The running total of the month, as the statement will pay it (cap and adjustments applied).
const earningsBox = document.getElementById("earnings");
async function loadEarnings() {
  const res = await fetch(`/api/v1/agents/${earningsBox.dataset.agentId}/earnings`, {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  });
  if (!res.ok) return;
  const e = await res.json();
  document.getElementById("earnings-total").textContent = formatMoney(e.total, e.currency);
  const parts = [];
  if (e.capped) parts.push(`${formatMoney(e.capped, e.currency)} above the monthly cap of ${formatMoney(e.cap, e.currency)}`);
  if (e.adjustments) parts.push(`adjustments ${formatMoney(e.adjustments, e.currency)}`);
  const detail = document.getElementById("earnings-detail");
  detail.textContent = parts.length ? `Rewards ${formatMoney(e.reward_value, e.currency)}; ${parts.join("; ")}.` : "";
  detail.hidden = parts.length === 0;
  const others = Object.entries(e.other_currencies || {}).map(([code, o]) => formatMoney(o.total, code));
  const other = document.getElementById("earnings-other");
  other.textContent = others.length ? `Also ${others.join(", ")} from rewards in another currency.` : "";
  other.hidden = others.length === 0;
}

function onEvent(event) {
  const data = event.data || {};
  switch (event.type) {
    case "feedback.received":
    case "feedback.updated":
      if (data.source !== FOLLOWUP_SOURCE) renderCard(data, true);
      break;
    case "stats.updated":
      renderStats(data.periods);
      scheduleRollover(data.period_bounds);
      break;
    case "shoutout.posted":
      renderShoutout({ created_at: event.at, ...(data.shoutout || data) }, true);
      break;
    case "coaching.note": {
      const note = data.note || data;
      if (note.shared) renderNote({ created_at: event.at, ...note }, true);
      break;
    }
    case "ledger.updated":
      loadEarnings();
      break;
    default:
      break;
  }
}

await loadSnapshot();
await loadEarnings();
const conn = new StreamConnection({
  streams: [stream],
  storageKey: "me-stream",
  onEvent,
  onResync: () => {
    loadSnapshot();
    loadEarnings();
  },
  onState: connectionIndicator(document.getElementById("conn")),
});
conn.start();
