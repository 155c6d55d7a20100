// The 1:1 sheet works without scripts; this only offers a Print button (the print stylesheet in
// static/css/one_on_one.css leaves out the navigation and the controls).
const button = document.getElementById("print-sheet");
if (button) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
