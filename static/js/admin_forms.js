// Admin forms: a form that comes back with errors moves the focus to its error summary, so
// keyboard and screen-reader users land on the list of what to correct.
const summary = document.getElementById("error-summary");
if (summary) {
  summary.focus();
}
