// The words people read for the codes in API answers and stream events. The server sends each
// code with its label (streamsrv/labels.py; docs/streams.md); a code without one is humanised,
// never shown raw.

// "night_shift" -> "Night shift".
export function humanise(code) {
  const text = String(code ?? "").replace(/[_-]+/g, " ").replace(/\s+/g, " ").trim();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function channelLabel(response) {
  return response.channel_label || humanise(response.channel);
}

export function rewardLabel(response) {
  if (!response.reward) return "";
  return response.reward_label || response.reward_item?.label || humanise(response.reward);
}

export function areaLabels(response) {
  const codes = response.improvement_areas || [];
  const labels = response.improvement_area_labels || [];
  return codes.map((code, i) => labels[i] || humanise(code));
}

// An amount with its currency as staff pages write it: "$1,234.50", "€4.00" (the server's
// streamsrv.labels.format_money writes the same).
export function money(value, currency) {
  if (value == null) return "";
  if (!currency) return Number(value).toFixed(2);
  return new Intl.NumberFormat("en", { style: "currency", currency }).format(Number(value));
}
