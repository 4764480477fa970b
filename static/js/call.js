/* The call page (templates/calls/register.html): the focus on the first field that needs typing, the possible
 * duplicates fetched as the agent types, and the keyboard shortcuts listed in its dialog (docs/calls.md).
 * Everything here is a shortcut: without this script the page still registers calls and adds notes. */
(function () {
  "use strict";

  var form = document.querySelector("form[data-lz-call]");
  var dialog = document.getElementById("lz-call-keys");
  var box = document.getElementById("lz-suggestions");
  var TYPING = "input:not([type=radio]):not([type=checkbox]):not([type=button]):not([type=submit])" +
    ":not([type=file]), textarea, select, [contenteditable]";

  function usable(el) {
    return !el.disabled && !el.closest("[hidden], fieldset[disabled]") && el.getClientRects().length > 0;
  }

  function controls(root) {
    return Array.prototype.filter.call(
      root.querySelectorAll("input:not([type=hidden]), select, textarea, button"), usable);
  }

  function first(root) {
    // In a group of radios the chosen one takes the focus, as Tab would give it.
    var all = root ? controls(root) : [];
    var checked = all.filter(function (el) { return el.type === "radio" && el.checked; })[0];
    return checked || all[0] || null;
  }

  function emptyOf(ids) {
    return ids.map(function (id) { return document.getElementById(id); })
      .filter(function (el) { return el && usable(el) && !el.value.trim(); })[0] || null;
  }

  function focusStart() {
    // A refused submission: its first wrong field. A known caller: the first ticket field. Else what is empty.
    if (!form) return;
    var wrong = form.querySelector(".lz-invalid, .is-invalid");
    var fields = form.querySelector("[data-lz-group=fields]");
    var target = wrong ? first(wrong.closest(".lz-invalid") || wrong) || wrong : null;
    if (!target && !form.hasAttribute("data-lz-caller-known")) target = emptyOf(["phone", "customer_name"]);
    target = target || first(fields);
    if (target) target.focus();
  }

  // ---- possible duplicates: asked of the server (web/calls.suggest) 350 ms after the last keystroke
  var asked = 0, timer = null;

  function typedText() {
    var parts = [];
    form.querySelectorAll("[data-lz-form] input[type=text], [data-lz-form] input:not([type]), [data-lz-form] textarea")
      .forEach(function (el) { if (usable(el) && el.value.trim()) parts.push(el.value.trim()); });
    return parts.join(" ").slice(0, 200);
  }

  function suggest() {
    if (!box || !form) return;
    var phone = document.getElementById("phone");
    var url = box.getAttribute("data-lz-suggest");
    url += (url.indexOf("?") < 0 ? "?" : "&") + "phone=" + encodeURIComponent(phone ? phone.value.trim() : "") +
      "&q=" + encodeURIComponent(typedText());
    var mine = ++asked;
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        // A newer answer is on its way, or the agent is on a suggestion: leave the list as it is.
        if (html === null || mine !== asked || box.contains(document.activeElement)) return;
        box.innerHTML = html;
        box.setAttribute("data-lz-asked", String(mine));
        count();
      })
      .catch(function () { /* the list keeps what it shows; registering works without it */ });
  }

  function count() {
    // The bar's link to the list (shown on narrow screens, where the list sits below the form).
    var link = document.querySelector("[data-lz-dup-count]"), found = box.querySelectorAll("[data-lz-note-key]").length;
    if (!link) return;
    link.hidden = found === 0;
    link.querySelector("span").textContent = String(found);
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(suggest, 350);
  }

  // ---- shortcuts
  function typing(el) { return !!(el && el.matches && el.matches(TYPING)); }

  function submitCall() {
    if (!form || form.lzSent) return;
    form.lzSent = true;
    var button = form.querySelector(".lz-sticky-submit button[type=submit]");
    if (form.requestSubmit) form.requestSubmit(button); else button.click();
  }

  function moveGroup(step) {
    if (!form) return;
    var groups = Array.prototype.filter.call(form.querySelectorAll("[data-lz-group]"), function (g) { return first(g); });
    if (!groups.length) return;
    var at = groups.findIndex(function (g) { return g.contains(document.activeElement); });
    var next = groups[((at < 0 ? (step > 0 ? -1 : 0) : at) + step + groups.length) % groups.length];
    first(next).focus();
  }

  function noteTo(index) {
    var button = document.querySelector("[data-lz-note-key='" + index + "']");
    if (button && usable(button)) button.click();
  }

  function lookup() {
    var input = document.getElementById("lookup-phone");
    if (input) { input.focus(); input.select(); }
  }

  function openKeys() {
    if (dialog && !dialog.open) dialog.showModal();
  }

  var ALT = {
    KeyN: function (event) { moveGroup(event.shiftKey ? -1 : 1); },
    KeyL: lookup,
    KeyI: function () { if (dialog) window.location.assign(dialog.getAttribute("data-lz-inbox")); }
  };

  function onKey(event) {
    if (event.defaultPrevented || event.isComposing) return;
    var digit = /^(?:Digit|Numpad)([1-5])$/.exec(event.code || "");
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && !(dialog && dialog.open)) {
      event.preventDefault();
      submitCall();
    } else if (event.altKey && !event.ctrlKey && !event.metaKey && digit) {
      event.preventDefault();
      noteTo(digit[1]);
    } else if (event.altKey && !event.ctrlKey && !event.metaKey && ALT[event.code]) {
      event.preventDefault();
      ALT[event.code](event);
    } else if (!event.altKey && !event.ctrlKey && !event.metaKey && !typing(event.target)) {
      if (event.key === "?") { event.preventDefault(); openKeys(); }
      else if (event.key === "/") { event.preventDefault(); lookup(); }
    }
  }

  document.addEventListener("keydown", onKey);
  document.querySelectorAll("[data-lz-keys-open]").forEach(function (button) {
    button.addEventListener("click", openKeys);
  });
  if (form) {
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    form.addEventListener("submit", function () { form.lzSent = true; });
  }
  focusStart();
  if (box && box.hasAttribute("data-lz-suggest-now")) suggest();  // the caller's open tickets, with their excerpts
}());
