/* Small behaviours every page shares, kept out of the markup so the Content-Security-Policy
   can refuse inline scripts and style attributes. */
(function () {
  "use strict";
  // Tag badges carry their checked #rrggbb colours as data; CSSOM styles are not inline styles.
  document.querySelectorAll("[data-lz-color]").forEach(function (el) {
    el.style.backgroundColor = el.getAttribute("data-lz-color");
    el.style.color = el.getAttribute("data-lz-text") || "";
  });
  // Read-only link boxes select their whole text when focused, ready to copy.
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("input[data-lz-select-on-focus]")) event.target.select();
  });
})();
