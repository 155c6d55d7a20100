// /statements: a form that comes back with mistakes moves the focus to its error summary, and a
// Print button prints the statement (the page's print styles leave out the forms and the header).
const summary = document.getElementById("error-summary");
if (summary) summary.focus();
const print = document.getElementById("print-statement");
if (print) {
  print.hidden = false;
  print.addEventListener("click", () => window.print());
}
const confirmBox = document.getElementById("confirm-close-button");
if (confirmBox) confirmBox.focus();
