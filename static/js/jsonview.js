// Line numbers beside the JSON document's textarea, kept in step while typing and scrolling.
(function () {
  "use strict";
  document.querySelectorAll(".lz-jsonview").forEach(function (box) {
    var gutter = box.querySelector(".lz-gutter");
    var area = box.querySelector("textarea");
    if (!gutter || !area) return;
    var style = window.getComputedStyle(area);
    gutter.style.font = style.font;
    gutter.style.lineHeight = style.lineHeight;
    gutter.style.paddingTop = style.paddingTop;
    gutter.style.overflow = "hidden";
    gutter.style.height = area.offsetHeight + "px";
    function draw() {
      var count = area.value.split("\n").length;
      var lines = [];
      for (var i = 1; i <= count; i++) lines.push(i);
      gutter.textContent = lines.join("\n");
      gutter.scrollTop = area.scrollTop;
    }
    area.addEventListener("input", draw);
    area.addEventListener("scroll", function () { gutter.scrollTop = area.scrollTop; });
    draw();
  });
})();
