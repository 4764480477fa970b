/* Formula editing in the admin's process editor: the field picker inserts {"var": KEY} at the cursor, and the
   preview asks the server for the formula's value on the sample data (POST, with the page's CSRF token).
   The server evaluates and checks; this only carries the text there and shows the answer. */
(function () {
  "use strict";
  function init() {
  var form = document.getElementById("lz-preview-form");
  var box = document.querySelector(".lz-formula");
  if (!form || !box) return;
  var text = box.querySelector(".lz-formula-text");
  var output = box.querySelector(".lz-preview-value");
  var problems = box.querySelector(".lz-preview-problems");
  var samples = box.querySelector(".lz-samples");
  var timer = null, asked = 0;

  function insertVar(name) {
    var snippet = JSON.stringify({"var": name});
    var start = text.selectionStart, end = text.selectionEnd;
    if (typeof start !== "number" || document.activeElement !== text && !text.dataset.lzTouched) {
      start = end = text.value.length;
    }
    text.value = text.value.slice(0, start) + snippet + text.value.slice(end);
    text.focus();
    text.setSelectionRange(start + snippet.length, start + snippet.length);
    schedule();
  }

  function sampleRow(variable) {
    var row = document.createElement("div");
    row.className = "form-group mb-1 lz-sample-row";
    row.setAttribute("data-lz-var", variable.name);
    var label = document.createElement("label");
    label.className = "small mb-0";
    label.htmlFor = "lz-sample-" + variable.name;
    label.textContent = variable.title + " ";
    var code = document.createElement("code");
    code.textContent = variable.name;
    label.appendChild(code);
    var input = document.createElement("input");
    input.id = "lz-sample-" + variable.name;
    input.name = "sample-" + variable.name;
    input.className = "form-control form-control-sm lz-sample";
    input.autocomplete = "off";
    input.setAttribute("form", "lz-preview-form");
    row.appendChild(label);
    row.appendChild(input);
    return row;
  }

  function keepSamples(variables) {
    var wanted = {};
    variables.forEach(function (v) { wanted[v.name] = true; });
    Array.prototype.forEach.call(samples.querySelectorAll(".lz-sample-row"), function (row) {
      if (!wanted[row.getAttribute("data-lz-var")]) row.parentNode.removeChild(row);
      else delete wanted[row.getAttribute("data-lz-var")];
    });
    variables.forEach(function (v) { if (wanted[v.name]) samples.appendChild(sampleRow(v)); });
  }

  function show(answer) {
    output.textContent = answer.problems.length ? "" : (answer.text || "null");
    problems.textContent = "";
    answer.problems.forEach(function (problem) {
      var item = document.createElement("li");
      item.textContent = problem;
      problems.appendChild(item);
    });
    keepSamples(answer.variables);
  }

  function ask() {
    var number = ++asked;
    var body = new FormData(form);
    body.set("formula", text.value);
    fetch(form.action, {method: "POST", body: body, credentials: "same-origin",
                        headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) { if (answer && number === asked) show(answer); })
      .catch(function () { /* the next change asks again */ });
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, 250);
  }

  box.addEventListener("change", function (event) {
    var picker = event.target;
    if (!picker.classList.contains("lz-var-picker") || !picker.value) return;
    insertVar(picker.value);
    picker.value = "";
  });
  text.addEventListener("input", function () { text.dataset.lzTouched = "1"; schedule(); });
  text.addEventListener("click", function () { text.dataset.lzTouched = "1"; });
  text.addEventListener("keyup", function () { text.dataset.lzTouched = "1"; });
  samples.addEventListener("input", schedule);
  form.addEventListener("submit", function (event) { event.preventDefault(); ask(); });
  if (text.value.trim()) ask();
  }
  init();
  // The designer swaps its panel in place (htmx): the new panel's formula box starts again.
  document.addEventListener("htmx:afterSettle", init);
})();
