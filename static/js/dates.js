// Dates as the server counts them: in an account's time zone, never the browser's own.

// "YYYY-MM-DD": the date a moment falls on in `zone` (an IANA name).
export function dateIn(zone, moment = new Date()) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(moment)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}`;
}

// The one way a moment is written on every page, as the server writes it (streamsrv.labels
// format_datetime, the `when` filter): the language's medium date and short time in the
// account's zone, then the zone's offset, "Nov 27, 2026, 1:30 PM (GMT+01:00)".
export function formatWhen(iso, zone = "UTC", lang = document.documentElement.lang || "en") {
  if (!iso) return "";
  const moment = new Date(iso);
  let tz = zone || "UTC";
  try {
    new Intl.DateTimeFormat(lang, { timeZone: tz });
  } catch {
    tz = "UTC";
  }
  const text = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short", timeZone: tz }).format(moment);
  const offset = new Intl.DateTimeFormat(lang, { timeZone: tz, timeZoneName: "longOffset" })
    .formatToParts(moment)
    .find((p) => p.type === "timeZoneName");
  // Babel writes UTC's offset "GMT+00:00" where Intl writes "GMT".
  return offset ? `${text} (${offset.value === "GMT" ? "GMT+00:00" : offset.value})` : text;
}

// A day as the language writes it (the date part of formatWhen), in `zone`.
export function formatDay(moment, zone = "UTC", lang = document.documentElement.lang || "en") {
  return new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeZone: zone || "UTC" }).format(moment);
}
