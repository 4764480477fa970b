/* The note box (templates/tickets/_notes.html; docs/notes.md).
 *
 * Files pasted, dropped or chosen are posted one by one (CSRF token as X-CSRFToken) to the form's
 * data-lz-note-files URL; a placeholder marks the caret meanwhile and becomes the Markdown the server
 * answers (an image or a link). "@" and part of a name, pinyin initials or username asks
 * data-lz-note-mentions?q= for the people the author may mention; arrow keys choose, Enter or Tab
 * inserts "@username ", Escape closes. Ctrl+Enter sends the note. */
(function () {
  "use strict";
  var form = document.querySelector("form.lz-note-form");
  if (!form) return;
  var box = form.querySelector("textarea[name=note]");
  var list = document.getElementById("note-mentions");
  var status = form.querySelector(".lz-note-status");
  var token = form.querySelector("input[name=csrf_token]").value;
  var MENTION = /(^|[^A-Za-z0-9_.@])@([^\s@]{0,30})$/;
  var state = { people: [], active: -1, start: -1, asked: 0, timer: null };

  function say(text) { status.textContent = text; }

  function insertAtCaret(text) {
    box.focus();
    box.setRangeText(text, box.selectionStart, box.selectionEnd, "end");
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function replaceOnce(from, to) {
    var at = box.value.indexOf(from);
    if (at < 0) return;
    var caret = box.selectionStart;
    box.value = box.value.slice(0, at) + to + box.value.slice(at + from.length);
    var moved = caret > at ? caret + to.length - from.length : caret;
    box.setSelectionRange(moved, moved);
  }

  function upload(file) {
    var mark = "[" + form.getAttribute("data-lz-uploading") + " " + file.name.replace(/[\[\]]/g, "") + " #" +
      Math.random().toString(36).slice(2, 8) + "]";
    insertAtCaret(mark);
    var body = new FormData();
    body.append("file", file, file.name || "pasted.png");
    fetch(form.getAttribute("data-lz-note-files"), {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": token, Accept: "application/json" }
    }).then(function (response) {
      return response.json().catch(function () { return { message: response.status + " " + response.statusText }; })
        .then(function (answer) { return { ok: response.ok, answer: answer }; });
    }).then(function (result) {
      if (result.ok) {
        replaceOnce(mark, result.answer.markdown);
        say(form.getAttribute("data-lz-uploaded").replace("{name}", result.answer.filename));
      } else {
        replaceOnce(mark, "");
        say(form.getAttribute("data-lz-failed") + ": " + (result.answer.message || file.name));
      }
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
      box.parentNode.classList.add("lz-dropping");
    }
  });
  box.addEventListener("dragleave", function () { box.parentNode.classList.remove("lz-dropping"); });
  box.addEventListener("drop", function (event) {
    box.parentNode.classList.remove("lz-dropping");
    if (event.dataTransfer && event.dataTransfer.files.length) {
      event.preventDefault();
      uploadAll(event.dataTransfer.files);
    }
  });
  var picker = form.querySelector("input[type=file]");
  picker.addEventListener("change", function () {
    uploadAll(picker.files);
    picker.value = "";
  });

  /* @mentions */
  function close() {
    list.hidden = true;
    list.textContent = "";
    state.people = [];
    state.active = -1;
    box.removeAttribute("aria-activedescendant");
  }

  function highlight(index) {
    state.active = index;
    Array.prototype.forEach.call(list.children, function (item, i) {
      item.setAttribute("aria-selected", i === index ? "true" : "false");
      if (i === index) item.scrollIntoView({ block: "nearest" });
    });
    box.setAttribute("aria-activedescendant", "note-mention-" + index);
  }

  function show(people) {
    close();
    state.people = people;
    if (!people.length) return;
    people.forEach(function (person, i) {
      var item = document.createElement("li");
      var who = document.createElement("span");
      item.id = "note-mention-" + i;
      item.setAttribute("role", "option");
      item.setAttribute("data-username", person.username);
      item.textContent = person.name;
      who.className = "lz-mention-user";
      who.textContent = "@" + person.username;
      item.appendChild(who);
      list.appendChild(item);
    });
    list.hidden = false;
    highlight(0);
    say(form.getAttribute("data-lz-suggested").replace("{count}", people.length));
  }

  function choose(index) {
    var person = state.people[index];
    if (!person || state.start < 0) return;
    box.setRangeText("@" + person.username + " ", state.start, box.selectionStart, "end");
    close();
    box.focus();
  }

  function ask() {
    var before = box.value.slice(0, box.selectionStart);
    var found = box.selectionStart === box.selectionEnd && MENTION.exec(before);
    if (!found) { close(); return; }
    state.start = before.length - found[2].length - 1;
    var asked = ++state.asked;
    fetch(form.getAttribute("data-lz-note-mentions") + "?q=" + encodeURIComponent(found[2]), {
      credentials: "same-origin", headers: { Accept: "application/json" }
    }).then(function (response) { return response.ok ? response.json() : []; })
      .then(function (people) { if (asked === state.asked) show(people); }, close);
  }

  box.addEventListener("input", function (event) {
    if (event.isComposing) return;
    clearTimeout(state.timer);
    state.timer = setTimeout(ask, 120);
  });
  box.addEventListener("compositionend", function () { clearTimeout(state.timer); state.timer = setTimeout(ask, 120); });
  box.addEventListener("blur", function () { setTimeout(close, 150); });
  list.addEventListener("mousedown", function (event) {
    var item = event.target.closest("[role=option]");
    if (!item) return;
    event.preventDefault();
    choose(Array.prototype.indexOf.call(list.children, item));
  });
  box.addEventListener("keydown", function (event) {
    if (event.isComposing) return;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.submit();
      return;
    }
    if (list.hidden || !state.people.length) return;
    var count = state.people.length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      highlight((state.active + (event.key === "ArrowDown" ? 1 : count - 1)) % count);
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      choose(state.active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
})();
