/* A cascading dropdown: when its parent field changes, its options become the parent item's
 * children in the dictionary tree the page carries (<script type="application/json" id="lz-dict-...">). */
(function () {
  "use strict";

  function dictionary(code) {
    var node = document.getElementById("lz-dict-" + code);
    return node ? JSON.parse(node.textContent) : null;
  }

  function reload(form, select) {
    var tree = dictionary(select.getAttribute("data-lz-dict"));
    var parent = form.querySelector("[name='" + select.getAttribute("data-lz-cascade") + "']");
    if (!tree || !parent) return;
    var current = select.value, item = tree[parent.value || ""], keep = false;
    var children = parent.value && item ? item.children : [];
    while (select.options.length) select.remove(0);
    select.add(new Option("—", ""));
    children.forEach(function (value) {
      var child = tree[value];
      if (child && (child.enabled || value === current)) {
        select.add(new Option(child.label, value));
        if (value === current) keep = true;
      }
    });
    select.value = keep ? current : "";
    select.dispatchEvent(new Event("change", { bubbles: true }));
  }

  window.LiuzhuanLiveForm.register("cascade", {
    init: function (box, form) {
      var select = box.querySelector("select[data-lz-cascade]");
      if (!select) return;
      form.addEventListener("change", function (event) {
        if (event.target.name === select.getAttribute("data-lz-cascade")) reload(form, select);
      });
    }
  });
}());
