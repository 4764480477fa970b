/* Keyboard navigation of the workspace list (docs/workspace.md): j or ↓ next row, k or ↑ previous row,
   Enter opens the ticket (its number link holds the focus), x selects the row for the bulk bar.
   Keys typed into a field, or with Ctrl/Alt/Meta, are left alone. Delegated on the document, so a list
   that live updates redraw keeps working; the current row is marked with aria-current and .lz-row-current. */
(function () {
  "use strict";
  function table() { return document.querySelector("table[data-lz-keys]"); }
  function rows() {
    var found = table();
    return found ? Array.prototype.slice.call(found.querySelectorAll("tbody > tr")) : [];
  }
  function current(list) {
    var active = document.activeElement;
    var row = active && active.closest ? active.closest("table[data-lz-keys] tbody > tr") : null;
    var index = row ? list.indexOf(row) : -1;
    if (index < 0) index = list.findIndex(function (r) { return r.classList.contains("lz-row-current"); });
    return index;
  }
  function go(list, index) {
    list.forEach(function (r) { r.classList.remove("lz-row-current"); r.removeAttribute("aria-current"); });
    var row = list[Math.max(0, Math.min(list.length - 1, index))];
    row.classList.add("lz-row-current");
    row.setAttribute("aria-current", "true");
    var link = row.querySelector("th[scope=row] a");
    if (link) link.focus();
  }
  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName));
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || typing(event.target)) return;
    var list = rows();
    if (!list.length) return;
    var index = current(list), key = event.key;
    var inList = document.activeElement && document.activeElement.closest && document.activeElement.closest("table[data-lz-keys] tbody > tr");
    if ((key === "ArrowDown" || key === "ArrowUp") && !inList) return;  /* arrows scroll the page until a row is chosen */
    if (key === "j" || key === "ArrowDown") {
      go(list, index + 1);
    } else if (key === "k" || key === "ArrowUp") {
      go(list, index < 0 ? 0 : index - 1);
    } else if (key === "x" && index >= 0) {
      var box = list[index].querySelector('input[name="tickets"]');
      if (!box) return;
      box.click();  /* a click, so bulk.js counts it */
      go(list, index);
    } else {
      return;
    }
    event.preventDefault();
  });
})();
