// The web form's help suggestions (web/help.py, GET /help/suggest?text=): while the customer types a
// description (any textarea of the form), up to five public articles like it are shown above the submit
// button, so an answer can be found before a ticket is opened. Debounced; a slower older answer never
// replaces a newer one. No inline script: the page's CSP forbids it.
(function () {
  "use strict";
  var box = document.querySelector("[data-lz-help-suggest]");
  var form = box && box.closest("form");
  if (!form) { return; }
  var url = box.getAttribute("data-lz-help-suggest");
  var WAIT_MS = 350, MOST = 1000;
  var timer = null, asked = null, controller = null;

  function described() {
    var parts = [];
    form.querySelectorAll("textarea").forEach(function (area) { parts.push(area.value); });
    return parts.join("\n").trim().slice(0, MOST);
  }

  function show(html) {
    box.innerHTML = html;
    box.hidden = !html.trim();
  }

  function ask() {
    var text = described();
    if (text === asked) { return; }
    asked = text;
    if (controller) { controller.abort(); }
    if (text.length < 2) { show(""); return; }
    controller = new AbortController();
    fetch(url + "?text=" + encodeURIComponent(text), {
      credentials: "same-origin", headers: { "Accept": "text/html" }, signal: controller.signal
    }).then(function (response) {
      return response.ok ? response.text() : "";
    }).then(show).catch(function () { /* aborted by a newer question, or offline: keep what is shown */ });
  }

  form.addEventListener("input", function (event) {
    if (event.target.tagName !== "TEXTAREA") { return; }
    clearTimeout(timer);
    timer = setTimeout(ask, WAIT_MS);
  });
  if (described()) { ask(); }  // a form shown again with its errors keeps its text
})();
