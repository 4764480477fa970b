/* The workspace's bulk bar (templates/home/_bulk.html): "select all on this page" and the selected count.
   Without it the checkboxes and the form still work; this only saves clicks. */
(function () {
  "use strict";
  var form = document.getElementById("lz-bulk");
  if (!form) return;
  var boxes = Array.prototype.slice.call(document.querySelectorAll('input[name="tickets"][form="lz-bulk"]'));
  var all = document.querySelector(".lz-select-all");
  var count = form.querySelector(".lz-bulk-count");
  function update() {
    var n = boxes.filter(function (box) { return box.checked; }).length;
    if (count) count.textContent = n ? count.getAttribute("data-lz-template").replace("{n}", n) : "";
    if (all) {
      all.checked = n > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
  }
  if (all) {
    all.closest("label").hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
      update();
    });
  }
  boxes.forEach(function (box) { box.addEventListener("change", update); });
  update();
})();
