/* A 1-5 star rating over five radio buttons (templates/forms/fields/rating.html): the arrows and a
 * click pick natively; this paints the stars up to the pick, rings the focused star and lets the
 * keys 1-5 pick directly. Its value is the number of stars. */
(function () {
  "use strict";

  function picked(box) {
    var input = box.querySelector("input[type=radio]:checked");
    return input ? Number(input.value) : undefined;
  }

  function paint(box) {
    var count = picked(box) || 0;
    box.querySelectorAll("input[type=radio]").forEach(function (input) {
      var star = box.querySelector("label[for='" + input.id + "']");
      var lit = Number(input.value) <= count;
      star.classList.toggle("text-warning", lit);
      star.classList.toggle("text-muted", !lit);
      star.classList.toggle("focus", input === document.activeElement);
    });
  }

  function pickByKey(box, event) {
    var input = box.querySelector("input[type=radio][value='" + event.key + "']");
    if (!input || input.disabled || event.target.type !== "radio") return;
    event.preventDefault();
    input.checked = true;
    input.focus();
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  window.LiuzhuanLiveForm.register("rating", {
    value: picked,
    init: function (box) {
      box.addEventListener("change", function () { paint(box); });
      box.addEventListener("focusin", function () { paint(box); });
      box.addEventListener("focusout", function () { setTimeout(function () { paint(box); }, 0); });
      box.addEventListener("keydown", function (event) { pickByKey(box, event); });
      paint(box);
    }
  });
}());
