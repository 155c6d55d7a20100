// Links to helpdesk tickets: the URL comes from outside, so only http(s) becomes a link, and the
// anchor in the page's template already carries rel="noopener noreferrer" and target="_blank".

export function showTicketLink(anchor, url) {
  if (!anchor) return;
  const safe = typeof url === "string" && /^https?:\/\/[^\s]+$/i.test(url);
  if (safe) anchor.href = url;
  else anchor.removeAttribute("href");
  anchor.hidden = !safe;
}
