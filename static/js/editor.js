/* Visual process editor: value suggestions follow the chosen condition field, confirmations, matrix colours.
   The server does every check; this only makes the pages easier to use. */
(function () {
  "use strict";
  function container(el) { return el.closest(".lz-transition, .lz-cell") || el.parentNode; }

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.classList.contains("lz-cond-field")) {
      var value = container(el).querySelector(".lz-cond-value");
      if (value) {
        if (el.value && document.getElementById("lz-options-" + el.value)) value.setAttribute("list", "lz-options-" + el.value);
        else value.removeAttribute("list");
      }
    }
    if (el.classList.contains("lz-cell-mode")) {
      var cell = el.closest(".lz-cell");
      cell.className = cell.className.replace(/lz-mode-\w+/, "lz-mode-" + el.value);
    }
  });

  document.addEventListener("submit", function (event) {
    var button = event.submitter || event.target.querySelector("[data-lz-confirm]");
    var text = button && button.getAttribute("data-lz-confirm");
    if (text && !window.confirm(text)) event.preventDefault();
  });
})();
