/* The workspace's bulk bar (templates/home/_bulk.html): "select all on this page", the selected count, and only
   the inputs the chosen action reads (data-lz-for). Without it the checkboxes and the form still work, every
   input showing; this only saves clicks. Re-run by live.js when the list is redrawn: it binds to the new nodes. */
(function () {
  "use strict";
  var form = document.getElementById("lz-bulk");
  if (!form) return;
  var boxes = Array.prototype.slice.call(document.querySelectorAll('input[name="tickets"][form="lz-bulk"]'));
  var all = document.querySelector(".lz-select-all");
  var count = form.querySelector(".lz-bulk-count");
  var action = form.querySelector('select[name="action"]');
  function update() {
    var n = boxes.filter(function (box) { return box.checked; }).length;
    if (count) count.textContent = n ? count.getAttribute("data-lz-template").replace("{n}", n) : "";
    if (all) {
      all.checked = n > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
  }
  function showInputs() {
    Array.prototype.forEach.call(form.querySelectorAll("[data-lz-for]"), function (group) {
      group.hidden = group.getAttribute("data-lz-for").split(" ").indexOf(action.value) < 0;
    });
  }
  if (all) {
    all.closest("label").hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
      update();
    });
  }
  boxes.forEach(function (box) { box.addEventListener("change", update); });
  if (action) {
    action.addEventListener("change", showInputs);
    showInputs();
  }
  update();
})();
