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
