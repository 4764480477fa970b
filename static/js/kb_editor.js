/* The article editor (templates/kb/edit.html; docs/kb.md): a file pasted or dropped into the body is posted
 * (CSRF token as X-CSRFToken) to the form's data-lz-kb-files URL, and the Markdown the server answers (an image
 * or a link, /kb/KB.../attachments/<key>) is put at the caret; a placeholder marks the place meanwhile. */
(function () {
  "use strict";
  var form = document.querySelector("form.lz-kb-form[data-lz-kb-files]");
  if (!form) return;
  var box = form.querySelector("textarea[name=body]");
  var status = form.querySelector(".lz-kb-status-line");
  var token = form.querySelector("input[name=csrf_token]").value;

  function say(text) { status.textContent = text; }

  function replaceOnce(from, to) {
    var at = box.value.indexOf(from);
    if (at >= 0) box.value = box.value.slice(0, at) + to + box.value.slice(at + from.length);
  }

  function upload(file) {
    var mark = "[" + form.getAttribute("data-lz-uploading") + " #" + Math.random().toString(36).slice(2, 8) + "]";
    box.setRangeText(mark, box.selectionStart, box.selectionEnd, "end");
    var body = new FormData();
    body.append("file", file, file.name || "pasted.png");
    fetch(form.getAttribute("data-lz-kb-files"), {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": token, Accept: "application/json" }
    }).then(function (response) {
      return response.json().catch(function () { return { message: response.status + " " + response.statusText }; })
        .then(function (answer) { return { ok: response.ok, answer: answer }; });
    }).then(function (result) {
      replaceOnce(mark, result.ok ? result.answer.markdown : "");
      say(result.ok ? form.getAttribute("data-lz-uploaded").replace("{name}", result.answer.filename)
        : form.getAttribute("data-lz-failed") + ": " + (result.answer.message || file.name));
    }, function () {
      replaceOnce(mark, "");
      say(form.getAttribute("data-lz-failed") + ": " + file.name);
    });
  }

  function uploadAll(files) {
    for (var i = 0; i < files.length; i++) upload(files[i]);
  }

  box.addEventListener("paste", function (event) {
    var files = event.clipboardData && event.clipboardData.files;
    if (files && files.length) {
      event.preventDefault();
      uploadAll(files);
    }
  });
  box.addEventListener("dragover", function (event) {
    if (event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0) {
      event.preventDefault();
    }
  });
  box.addEventListener("drop", function (event) {
    if (event.dataTransfer && event.dataTransfer.files.length) {
      event.preventDefault();
      uploadAll(event.dataTransfer.files);
    }
  });
})();
