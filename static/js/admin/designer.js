/* The designer's page behaviour: drag and drop (SortableJS), keyboard moves and shortcuts, focus after an
   edit. Every change is an htmx POST the server answers with the designer's new body; this file only
   turns pointer and keys into those posts. The server checks and saves everything. */
(function () {
  "use strict";
  var root = document.getElementById("lz-designer");
  if (!root || !window.htmx) return;

  function post(url, values) {
    return htmx.ajax("POST", url, {source: root, target: "#lz-designer", swap: "innerHTML", values: values});
  }

  // A stale page (409) and a refused edit (422) carry the designer's body with the reason: show it.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 409 || status === 422) { event.detail.shouldSwap = true; event.detail.isError = false; }
  });

  function canvas() { return root.querySelector("[data-lz-canvas]"); }

  function sortables() {
    root.querySelectorAll("[data-lz-palette]").forEach(function (list) {
      if (Sortable.get(list)) return;  // a partial swap left this list as it was
      Sortable.create(list, {group: {name: "lz-fields", pull: "clone", put: false}, sort: false, animation: 120});
    });
    var list = canvas();
    if (!list || Sortable.get(list)) return;
    Sortable.create(list, {
      group: {name: "lz-fields", pull: false, put: true}, animation: 120, filter: ".lz-d-empty",
      onAdd: function (event) {
        var kind = event.item.getAttribute("data-lz-kind");
        event.item.parentNode.removeChild(event.item);
        post(list.getAttribute("data-lz-add"), {kind: kind, index: String(fieldIndex(event.newIndex))});
      },
      onUpdate: function (event) {
        post(list.getAttribute("data-lz-move"), {key: event.item.getAttribute("data-lz-key"),
                                                  index: String(event.newIndex)});
      }
    });
  }

  function fieldIndex(index) {
    return Math.max(0, index);
  }

  // The palette is one stop in the Tab order (a toolbar): the arrow keys, Home and End move among its kinds.
  function kinds() { return Array.prototype.slice.call(root.querySelectorAll(".lz-d-kind")); }
  function rove(current) {
    kinds().forEach(function (button) { button.tabIndex = button === current ? 0 : -1; });
  }
  root.addEventListener("keydown", function (event) {
    if (!event.target.classList || !event.target.classList.contains("lz-d-kind")) return;
    var all = kinds(), at = all.indexOf(event.target), to = null;
    if (event.key === "ArrowDown" || event.key === "ArrowRight") to = Math.min(at + 1, all.length - 1);
    if (event.key === "ArrowUp" || event.key === "ArrowLeft") to = Math.max(at - 1, 0);
    if (event.key === "Home") to = 0;
    if (event.key === "End") to = all.length - 1;
    if (to === null) return;
    event.preventDefault();
    rove(all[to]);
    all[to].focus();
  });

  // Alt+Up / Alt+Down on a field moves it, as dragging does; Ctrl+Z / Ctrl+Y undo and redo.
  root.addEventListener("keydown", function (event) {
    var item = event.target.closest && event.target.closest("[data-lz-key]");
    if (item && event.altKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
      event.preventDefault();
      var items = Array.prototype.slice.call(canvas().querySelectorAll("[data-lz-key]"));
      var to = items.indexOf(item) + (event.key === "ArrowUp" ? -1 : 1);
      if (to < 0 || to >= items.length) return;
      root.setAttribute("data-lz-refocus", "pick:" + item.getAttribute("data-lz-key"));
      post(canvas().getAttribute("data-lz-move"), {key: item.getAttribute("data-lz-key"), index: String(to)});
    }
  });
  document.addEventListener("keydown", function (event) {
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName);
    if (typing || !(event.ctrlKey || event.metaKey)) return;
    var button = null;
    if (event.key === "z" && !event.shiftKey) button = root.querySelector(".lz-d-undo");
    if (event.key === "y" || (event.key === "z" && event.shiftKey)) button = root.querySelector(".lz-d-redo");
    if (button && !button.disabled) { event.preventDefault(); button.click(); }
  });

  // The diagram's steps and arrows (SVG, no buttons inside) select by click, Enter or Space.
  function choose(target) {
    var node = target.closest && target.closest("[data-lz-sel]");
    if (!node || node.hasAttribute("hx-post")) return false;
    root.setAttribute("data-lz-refocus", "sel:" + node.getAttribute("data-lz-sel"));
    var values = {sel: node.getAttribute("data-lz-sel")};
    if (node.getAttribute("data-lz-step")) values.show_step = node.getAttribute("data-lz-step");
    post(root.getAttribute("data-lz-view") || root.querySelector("[data-lz-view]").getAttribute("data-lz-view"), values);
    return true;
  }
  root.addEventListener("click", function (event) { if (choose(event.target)) event.preventDefault(); });
  root.addEventListener("keydown", function (event) {
    if ((event.key === "Enter" || event.key === " ") && choose(event.target)) event.preventDefault();
  });

  // Panel forms save on change; Enter in one of their inputs saves too, never a page load.
  root.addEventListener("submit", function (event) {
    var form = event.target;
    if ((form.getAttribute("hx-trigger") || "").indexOf("change") === 0) {
      event.preventDefault();
      htmx.trigger(form, "change");
    }
  });

  // After a swap the cursor goes back where it was: to the same input (by id) with what was typed in it
  // meanwhile, or to the field or diagram node a keyboard move or a selection named.
  var typed = null;
  root.addEventListener("htmx:beforeSwap", function () {
    var active = document.activeElement;
    typed = null;
    if (!active || !root.contains(active) || root.getAttribute("data-lz-refocus")) return;
    if (active.id) {
      root.setAttribute("data-lz-refocus", "id:" + active.id);
      if (/^(INPUT|TEXTAREA)$/.test(active.tagName) && active.value !== active.defaultValue) {
        typed = {id: active.id, value: active.value, was: active.defaultValue, start: active.selectionStart,
                 end: active.selectionEnd};
      }
    } else if (active.classList.contains("lz-d-mode") || active.classList.contains("lz-d-pick")) {
      var kind = active.classList.contains("lz-d-mode") ? "mode:" : "pick:";
      root.setAttribute("data-lz-refocus", kind + active.closest("[data-lz-key]").getAttribute("data-lz-key"));
    }
  });

  function restoreTyping(target) {
    if (!typed || !target || target.id !== typed.id || target.value !== typed.was) return;
    target.value = typed.value;
    try { target.setSelectionRange(typed.start, typed.end); } catch (e) { /* not a text input */ }
  }

  function refocus() {
    var wanted = root.querySelector("[data-lz-focus]");
    var target = null;
    if (wanted) {
      target = document.getElementById(wanted.getAttribute("data-lz-focus"));
    } else {
      var memo = root.getAttribute("data-lz-refocus") || "";
      var kind = memo.split(":")[0], rest = memo.slice(kind.length + 1);
      if (kind === "id") target = document.getElementById(rest);
      if (kind === "pick" || kind === "mode") {
        var item = root.querySelector('[data-lz-key="' + CSS.escape(rest) + '"]');
        target = item && item.querySelector(kind === "pick" ? ".lz-d-pick" : ".lz-d-mode");
      }
      if (kind === "sel") target = root.querySelector('[data-lz-sel="' + CSS.escape(rest) + '"]');
    }
    root.removeAttribute("data-lz-refocus");
    if (target) {
      target.focus();
      if (wanted && target.select) target.select();
      else restoreTyping(target);
    }
    typed = null;
  }

  // The publish dialog closes with its button or Escape; focus goes back to "Publish…".
  function closeDialog() {
    var dialog = document.getElementById("lz-d-dialog");
    if (!dialog || !dialog.firstElementChild) return;
    dialog.textContent = "";
    var opener = root.querySelector(".lz-d-publish-open");
    if (opener) opener.focus();
  }
  root.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-lz-close]")) closeDialog();
  });
  document.addEventListener("keydown", function (event) { if (event.key === "Escape") closeDialog(); });
  // A long select (dictionaries) gets a search box above it that hides the options not matching.
  function filters() {
    root.querySelectorAll("select[data-lz-filter]").forEach(function (select) {
      if (select.previousElementSibling && select.previousElementSibling.classList.contains("lz-d-filter")) return;
      if (select.options.length < 8) return;
      var box = document.createElement("input");
      box.type = "search";
      box.className = "form-control form-control-sm mb-1 lz-d-filter";
      box.setAttribute("aria-label", root.getAttribute("data-lz-search-label") || "Search");
      box.setAttribute("aria-controls", select.id);
      box.addEventListener("input", function () {
        var text = box.value.trim().toLowerCase();
        Array.prototype.forEach.call(select.options, function (option) {
          option.hidden = Boolean(text) && option.value !== "" && option.label.toLowerCase().indexOf(text) < 0;
        });
      });
      box.addEventListener("change", function (event) { event.stopPropagation(); });  // filtering saves nothing
      select.parentNode.insertBefore(box, select);
    });
  }

  function palette() {
    var all = kinds();
    if (all.length) rove(all.filter(function (b) { return b === document.activeElement; })[0] || all[0]);
  }

  root.addEventListener("htmx:afterSettle", function (event) {
    var dialog = document.getElementById("lz-d-dialog");
    if (event.target === dialog) {
      var first = dialog.querySelector("button, a");
      if (first) first.focus();
      return;
    }
    sortables(); palette(); filters(); refocus();
  });
  sortables();
  palette();
  filters();
})();
