/* A detail table (templates/forms/fields/table.html): add, remove and move rows with buttons, so
 * keyboard and pointer work alike (Alt+ArrowUp / Alt+ArrowDown also move the row holding the focus).
 * After each change the rows are renumbered: names and ids parts-0-qty, parts-1-qty... follow the
 * order on the page, which is the order the server stores. Its value (for conditions and the live
 * preview of formulas) is the list of rows, each an object of the cells that hold something. */
(function () {
  "use strict";

  var ROW = /^(.*?-)(\d+|__row__)(-.*)$/;

  function rows(box) { return Array.prototype.slice.call(box.querySelectorAll("tbody tr[data-lz-row]")); }

  function renumber(box) {
    rows(box).forEach(function (tr, i) {
      tr.querySelector(".lz-rownum").textContent = String(i + 1);
      tr.querySelectorAll("[name], [id], label[for]").forEach(function (el) {
        ["name", "id", "for"].forEach(function (attr) {
          var value = el.getAttribute(attr), m = value && value.match(ROW);
          if (m) el.setAttribute(attr, m[1] + i + m[3]);
        });
      });
    });
  }

  function changed(box) {
    renumber(box);
    box.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function addRow(box) {
    var template = box.querySelector("template[data-lz-row-template]");
    var tr = template.content.querySelector("tr[data-lz-row]").cloneNode(true);
    box.querySelector("tbody").appendChild(tr);
    changed(box);
    var first = tr.querySelector("input:not([type=hidden]), select, textarea");
    if (first) first.focus();
  }

  function move(box, tr, step) {
    var list = rows(box), to = list.indexOf(tr) + step;
    if (to < 0 || to >= list.length) return;
    var focused = document.activeElement;
    if (step < 0) tr.parentNode.insertBefore(tr, list[to]);
    else tr.parentNode.insertBefore(list[to], tr);
    changed(box);
    if (focused && tr.contains(focused)) focused.focus();
  }

  function remove(box, tr) {
    var list = rows(box), at = list.indexOf(tr);
    var next = list[at + 1] || list[at - 1];
    tr.remove();
    changed(box);
    var target = next ? next.querySelector("[data-lz-remove]") : box.querySelector("[data-lz-add-row]");
    if (target) target.focus();
  }

  function onClick(box, event) {
    var button = event.target.closest("button");
    if (!button || !box.contains(button)) return;
    var tr = button.closest("tr[data-lz-row]");
    if (button.hasAttribute("data-lz-add-row")) addRow(box);
    else if (button.hasAttribute("data-lz-remove")) remove(box, tr);
    else if (button.hasAttribute("data-lz-move")) move(box, tr, Number(button.getAttribute("data-lz-move")));
  }

  function onKey(box, event) {
    if (!event.altKey || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
    var tr = event.target.closest && event.target.closest("tr[data-lz-row]");
    if (!tr || box.disabled) return;
    event.preventDefault();
    move(box, tr, event.key === "ArrowUp" ? -1 : 1);
  }

  function cellValue(td) {
    var box = td.querySelector("input[type=checkbox]");
    if (box) return box.checked ? true : undefined;
    var radio = td.querySelector("input[type=radio]");
    var input = radio ? td.querySelector("input:checked") : td.querySelector("input:not([type=hidden]), select, textarea");
    var raw = input ? input.value.trim() : "";
    if (raw === "") return undefined;
    var numeric = input.type === "number" || td.classList.contains("lz-type-rating");
    return numeric && !isNaN(Number(raw)) ? Number(raw) : raw;
  }

  function value(box) {
    var list = rows(box).map(function (tr) {
      var row = {};
      tr.querySelectorAll("td.lz-cell").forEach(function (td, i) {
        var v = cellValue(td), name = td.querySelector("[name]");
        var key = name ? name.getAttribute("name").replace(ROW, "$3").slice(1) : String(i);
        if (v !== undefined) row[key] = v;
      });
      return row;
    }).filter(function (row) { return Object.keys(row).length; });
    return list.length ? list : undefined;
  }

  window.LiuzhuanLiveForm.register("table", {
    value: value,
    init: function (box) {
      box.addEventListener("click", function (event) { onClick(box, event); });
      box.addEventListener("keydown", function (event) { onKey(box, event); });
    }
  });
}());
