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
    // The words come translated from the page; only the number is filled in here.
    var leftText = counter.getAttribute("data-left") || "{count}";
    var thresholds = [500, 100, 50, 10, 0];
    var lastSaid = null;
    var update = function () {
      var left = max - textarea.value.length;
      var said = leftText.replace("{count}", String(left));
      counter.textContent = said;
      counter.classList.toggle("near-limit", left <= 100);
      var step = null;
      thresholds.forEach(function (t) { if (left <= t) { step = t; } });
      if (announce && step !== lastSaid) {
        lastSaid = step;
        announce.textContent = step === null ? "" : said;
      }
    };
    textarea.addEventListener("input", update);
    update();
  }

  // One-click links: the star clicked in the email is recorded once a person's browser shows
  // the page. A GET never records (mail scanners open every link), and a scanner that does not
  // run scripts, or prerenders the page out of sight, never gets here.
  var quickRating = form.getAttribute("data-quick-rating");
  var quickUrl = form.getAttribute("data-quick-url");

  function cameBack() {
    // Back/forward shows an old page again: the customer may have changed that star since.
    var nav = window.performance && performance.getEntriesByType ? performance.getEntriesByType("navigation")[0] : null;
    return Boolean(nav && nav.type === "back_forward");
  }

  function showRecorded() {
    var notice = document.getElementById("quick-notice");
    var editNotice = document.getElementById("edit-notice");
    if (editNotice) { editNotice.hidden = true; }
    if (notice) { notice.hidden = false; }
    form.classList.add("rating-recorded");
  }

  function recordQuick() {
    var body = new URLSearchParams();
    body.set("rating", quickRating);
    body.set("csrf_token", form.querySelector("input[name=csrf_token]").value);
    fetch(quickUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      // On any failure the page simply stays a form: the customer presses Send as without JS.
      if (response.ok) { showRecorded(); }
    }).catch(function () {});
  }

  if (quickRating && quickUrl && !cameBack()) {
    if (document.visibilityState === "visible") {
      recordQuick();
    } else {
      var onVisible = function () {
        if (document.visibilityState !== "visible") { return; }
        document.removeEventListener("visibilitychange", onVisible);
        recordQuick();
      };
      document.addEventListener("visibilitychange", onVisible);
    }
  }

  // After a failed submit, move focus to the error summary so it is read first.
  var errors = document.getElementById("form-errors");
  if (errors && !errors.hidden) { errors.focus(); }
})();
