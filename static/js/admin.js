// Admin pages: move focus to the error summary when a form comes back with mistakes, and copy
// a secret shown once (a new API key, a display's address) with a spoken confirmation.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      var status = document.getElementById(button.getAttribute("aria-describedby"));
      if (!source || !status) {
        return;
      }
      var value = source.textContent.trim();
      var done = function (message) {
        status.textContent = message;
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(value).then(
          function () { done("Copied to the clipboard."); },
          function () { done("Copying failed: select the text and copy it yourself."); }
        );
      } else {
        done("Copying is not available here: select the text and copy it yourself.");
      }
    });
  });
})();
