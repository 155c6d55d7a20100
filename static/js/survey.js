// Progressive enhancement for the survey page: the form works fully without this file.
(function () {
  "use strict";
  var form = document.querySelector(".survey-form");
  if (!form) { return; }

  var reward = form.querySelector(".reward-section");
  var improve = form.querySelector(".improve-section");

  // Show only the section that applies to the chosen star; a hidden section is disabled so that
  // its leftover choices are not sent (the server would refuse them for this rating).
  function setSection(section, visible) {
    if (!section) { return; }
    section.disabled = !visible;
    section.classList.toggle("section-hidden", !visible);
  }

  function currentRating() {
    var checked = form.querySelector("input[name=rating]:checked");
    return checked ? parseInt(checked.value, 10) : null;
  }

  function updateSections() {
    var rating = currentRating();
    if (rating === null) {
      setSection(reward, true);
      setSection(improve, true);
      return;
    }
    setSection(reward, reward && rating >= parseInt(reward.getAttribute("data-min-rating"), 10));
    setSection(improve, improve && rating <= parseInt(improve.getAttribute("data-max-rating"), 10));
  }

  form.querySelectorAll("input[name=rating]").forEach(function (input) {
    input.addEventListener("change", updateSections);
  });
  updateSections();

  // Character counter for the comment. The visible count follows every keystroke; screen
  // readers hear it only at a few thresholds, not on every key.
  var counter = form.querySelector("[data-counter-for]");
  var textarea = counter && document.getElementById(counter.getAttribute("data-counter-for"));
  var announce = document.getElementById("comment-announce");
  if (counter && textarea) {
    var max = parseInt(counter.getAttribute("data-max"), 10);
    var thresholds = [500, 100, 50, 10, 0];
    var lastSaid = null;
    var update = function () {
      var left = max - textarea.value.length;
      counter.textContent = left + " characters left";
      counter.classList.toggle("near-limit", left <= 100);
      var step = null;
      thresholds.forEach(function (t) { if (left <= t) { step = t; } });
      if (announce && step !== lastSaid) {
        lastSaid = step;
        announce.textContent = step === null ? "" : left + " characters left";
      }
    };
    textarea.addEventListener("input", update);
    update();
  }

  // After a failed submit, move focus to the error summary so it is read first.
  var errors = document.getElementById("form-errors");
  if (errors && !errors.hidden) { errors.focus(); }
})();
