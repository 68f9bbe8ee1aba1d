// vemeter review: reveal, copy the original address, and keys for every decision
// (1 2 3 label, N save and next, S skip, R reveal, B back to the item labelled before).
// Served from the app itself (the Content-Security-Policy allows no inline script).
(function () {
  "use strict";

  function typing(target) {
    if (!target || !target.tagName) return false;
    if (target.tagName === "TEXTAREA" || target.isContentEditable) return true;
    return target.tagName === "INPUT" && !["radio", "checkbox", "button", "submit"].includes(target.type);
  }

  // Tell the app once that the text was shown (the audit trail); the page does not wait for it.
  function reportReveal() {
    var button = document.getElementById("reveal");
    var token = document.querySelector('input[name="csrf"]');
    if (!button || !token || button.getAttribute("data-reported") === "true") return;
    var url = button.getAttribute("data-audit");
    if (!url) return;
    button.setAttribute("data-reported", "true");
    var body = new URLSearchParams();
    body.set("csrf", token.value);
    body.set("page", button.getAttribute("data-page") || "item");
    fetch(url, { method: "POST", body: body, credentials: "same-origin" }).catch(function () {});
  }

  function reveal() {
    var box = document.getElementById("concealed");
    if (!box) return;
    if (box.classList.contains("concealed")) reportReveal();
    box.classList.remove("concealed");
    box.setAttribute("data-concealed", "false");
    var warning = document.getElementById("warning");
    if (warning) warning.classList.add("revealed");
  }

  function copyUrl() {
    var field = document.getElementById("post-url");
    var button = document.getElementById("copy-url");
    if (!field) return;
    field.select();
    var done = function () { if (button) button.textContent = "Copied"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {});
    }
  }

  function submit(id) {
    var form = document.getElementById(id);
    if (!form) return false;
    form.requestSubmit();
    return true;
  }

  var revealButton = document.getElementById("reveal");
  if (revealButton) revealButton.addEventListener("click", reveal);
  var copyButton = document.getElementById("copy-url");
  if (copyButton) copyButton.addEventListener("click", copyUrl);

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape" && typing(event.target)) { event.target.blur(); return; }
    if (typing(event.target)) return;
    var key = event.key.toLowerCase();
    if (key === "1" || key === "2" || key === "3") {
      var choice = document.querySelector('input[data-key="' + key + '"]');
      if (choice) { choice.checked = true; choice.focus(); event.preventDefault(); }
    } else if (key === "n") {
      if (submit("label-form") || submit("adjudicate-form") || submit("next-form")) {
        event.preventDefault();
      }
    } else if (key === "s") {
      if (submit("skip-form")) event.preventDefault();
    } else if (key === "b") {
      // Back to the item labelled before, to change its labels.
      var back = document.getElementById("back-link");
      if (back) { event.preventDefault(); window.location.assign(back.href); }
    } else if (key === "r") {
      reveal();
      event.preventDefault();
    }
  });
})();
