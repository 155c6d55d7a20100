// The live feed page: a snapshot over HTTP, then live events over the stream protocol.
// Customer text is only ever set with textContent.
import { formatWhen } from "./dates.js";
import { areaLabels, channelLabel, rewardLabel } from "./labels.js";
import { StreamConnection, connectionIndicator } from "./stream.js";

const MAX_CARDS = 100;
const root = document.querySelector("[data-streams]");
const feed = document.getElementById("feed");
const template = document.getElementById("card");
const streams = (root.dataset.streams || "").split(" ").filter(Boolean);
const shown = new Map(); // response id -> card element
// Each account's time zone: a response's time is read in its own account's zone.
const zones = JSON.parse(root.dataset.zones || "{}");

function stars(rating) {
  return "\u2605".repeat(rating) + "\u2606".repeat(5 - rating);
}

function render(response, fresh) {
  const existing = shown.get(response.id);
  const card = existing || template.content.firstElementChild.cloneNode(true);
  const starEl = card.querySelector(".stars");
  starEl.textContent = stars(response.rating);
  starEl.setAttribute("aria-label", `${response.rating} out of 5 stars`);
  card.classList.toggle("negative", response.rating <= 2);
  card.classList.toggle("positive", response.rating >= 4);
  card.querySelector(".agent").textContent = response.agent ? response.agent.name : `Agent ${response.agent_id}`;
  card.querySelector(".channel").textContent = channelLabel(response);
  const when = card.querySelector(".when");
  when.dateTime = response.updated_at || response.created_at;
  when.textContent = formatWhen(response.created_at, zones[response.account_id]);
  card.querySelector(".comment").textContent = response.comment || "";
  const extras = [];
  if (response.reward) extras.push(`Suggested reward: ${rewardLabel(response)}`);
  if (response.improvement_areas && response.improvement_areas.length) extras.push(`To improve: ${areaLabels(response).join(", ")}`);
  card.querySelector(".extras").textContent = extras.join(" \u00b7 ");
  card.dataset.responseId = String(response.id);
  if (!existing) {
    shown.set(response.id, card);
    if (fresh) {
      feed.prepend(card);
      card.classList.add("arrived");
    } else {
      feed.append(card);
    }
    while (feed.children.length > MAX_CARDS) {
      const last = feed.lastElementChild;
      shown.delete(Number(last.dataset.responseId));
      last.remove();
    }
  }
}

async function loadSnapshot() {
  const params = new URLSearchParams({ limit: "30" });
  // The account chosen in the header, if any.
  if (root.dataset.account) params.set("account_id", root.dataset.account);
  const res = await fetch(`/api/v1/feedback?${params}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!res.ok) return;
  const body = await res.json();
  for (const item of body.items) render(item, false);
}

function onEvent(event) {
  if (event.type === "feedback.received" || event.type === "feedback.updated") render(event.data, true);
}

await loadSnapshot();
if (streams.length) {
  const conn = new StreamConnection({
    streams,
    storageKey: "live-feed",
    onEvent,
    onResync: () => loadSnapshot(),
    onState: connectionIndicator(document.getElementById("conn")),
  });
  conn.start();
}
