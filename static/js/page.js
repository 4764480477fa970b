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
  // The navigation's menu button (base.html, data-lz-toggle) folds and unfolds the menu it controls on
  // narrow screens; Escape folds it again and gives the focus back to the button.
  function fold(button, open) {
    var menu = document.getElementById(button.getAttribute("aria-controls"));
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (menu) menu.classList.toggle("show", open);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-lz-toggle]");
    if (button) fold(button, button.getAttribute("aria-expanded") !== "true");
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("[data-lz-toggle][aria-expanded=true]").forEach(function (button) {
      fold(button, false);
      button.focus();
    });
  });
})();
