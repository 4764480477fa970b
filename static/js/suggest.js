/* The suggestions panel (templates/kb/_suggest_panel.html, docs/kb.md): matching articles and similar closed
 * tickets asked of the server (web/suggest.suggestions) 400 ms after the last keystroke in the call form, the
 * ticket's step form or the note box; Alt+K inserts the focused (else the first) article's Markdown link into the
 * note box (on the call page: the text box last typed in). On the ticket page ? opens its shortcuts list.
 * Everything here is a shortcut: without this script the page works, the solution forms included. */
(function () {
  "use strict";

  var box = document.getElementById("lz-kb-suggestions");
  if (!box) return;
  var status = document.querySelector(".lz-kb-status");
  var dialog = document.getElementById("lz-kb-keys");
  var SOURCES = "form[data-lz-call], #lz-step-form, .lz-note-form";
  var TEXT = "textarea, input[type=text], input:not([type])";
  var asked = 0, timer = null, lastBox = null;

  function usable(el) {
    return !el.disabled && !el.readOnly && !el.closest("[hidden]") && el.getClientRects().length > 0;
  }

  function typedText() {
    // The text boxes of the page's forms, the note box last: what the agent is writing about the ticket.
    var parts = [];
    document.querySelectorAll(SOURCES).forEach(function (form) {
      form.querySelectorAll(TEXT).forEach(function (el) {
        if (el.id !== "phone" && el.id !== "lz-kb-article" && usable(el) && el.value.trim()) parts.push(el.value.trim());
      });
    });
    return parts.join(" ").slice(0, 200);
  }

  function ask() {
    var url = box.getAttribute("data-lz-kb-suggest");
    var ticket = box.getAttribute("data-lz-kb-ticket");
    url += "?text=" + encodeURIComponent(typedText()) + (ticket ? "&ticket=" + encodeURIComponent(ticket) : "");
    var mine = ++asked;
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        // A newer answer is on its way, or the agent is in the list: leave it as it is.
        if (html === null || mine !== asked || box.contains(document.activeElement)) return;
        box.innerHTML = html;
        box.setAttribute("data-lz-asked", String(mine));
      })
      .catch(function () { /* the list keeps what it shows */ });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(ask, 400);
  }

  function target() {
    // The note box on the ticket page; else the text box last typed in (the call form's description).
    var note = document.getElementById("note");
    if (note && usable(note)) return note;
    return lastBox && document.contains(lastBox) && usable(lastBox) ? lastBox : null;
  }

  function insert(button) {
    var into = target(), text = button.getAttribute("data-lz-kb-link");
    if (!into || !text) return;
    var start = into.selectionStart == null ? into.value.length : into.selectionStart;
    var end = into.selectionEnd == null ? start : into.selectionEnd;
    var before = into.value.slice(0, start), after = into.value.slice(end);
    var pad = before && !/\s$/.test(before) ? " " : "";
    into.value = before + pad + text + (after && !/^\s/.test(after) ? " " : "") + after;
    var at = (before + pad + text).length;
    into.focus();
    into.setSelectionRange(at, at);
    into.dispatchEvent(new Event("input", { bubbles: true }));
    if (status) {
      status.textContent = (box.getAttribute("data-lz-kb-inserted") || "{number}")
        .replace("{number}", button.getAttribute("data-lz-kb-number") || "");
    }
  }

  function chosenArticle() {
    var focused = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("[data-lz-kb-article]") : null;
    return (focused || box).querySelector("[data-lz-kb-link]");
  }

  function typing(el) {
    return !!(el && el.matches && el.matches("input, textarea, select, [contenteditable]"));
  }

  function onKey(event) {
    if (event.defaultPrevented || event.isComposing) return;
    if (event.altKey && !event.ctrlKey && !event.metaKey && event.code === "KeyK") {
      var button = chosenArticle();
      if (button) { event.preventDefault(); insert(button); }
    } else if (dialog && event.key === "?" && !event.altKey && !event.ctrlKey && !event.metaKey &&
               !typing(event.target) && !dialog.open) {
      event.preventDefault();
      dialog.showModal();
    }
  }

  box.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-lz-kb-link]");
    if (button) { event.preventDefault(); insert(button); }
  });
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches(TEXT) && event.target.closest(SOURCES)) lastBox = event.target;
  });
  document.querySelectorAll(SOURCES).forEach(function (form) {
    form.addEventListener("input", function (event) { if (event.isTrusted) later(); });
    form.addEventListener("change", later);
  });
  document.addEventListener("keydown", onKey);
  if (box.getAttribute("data-lz-kb-ticket") || typedText()) ask();  // the ticket's own text, or what was kept
}());
