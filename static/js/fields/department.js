/* A department picker (templates/forms/fields/department.html): the same searchable combobox as the
 * member picker, over department names; it lives in user.js, loaded here when the page has no member
 * field (liveform.js loads one script per field type). Without script the <select> works as it is. */
(function () {
  "use strict";

  var here = document.currentScript.src;
  var ready = new Promise(function (resolve) {
    if (window.LiuzhuanCombobox) { resolve(); return; }
    var script = document.createElement("script");
    script.src = here.slice(0, here.lastIndexOf("/") + 1) + "user.js";
    script.onload = script.onerror = resolve;
    document.head.appendChild(script);
  });

  function value(box) {
    var select = box.querySelector("select");
    return select && select.value ? select.value : undefined;
  }

  window.LiuzhuanLiveForm.register("department", {
    value: value,
    init: function (box) {
      ready.then(function () { if (window.LiuzhuanCombobox) window.LiuzhuanCombobox.enhance(box); });
    }
  });
}());
