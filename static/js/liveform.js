/* Liuzhuan live step forms: re-evaluates conditional field modes ("when") and
 * offered transitions as the user types. The server repeats every check; this
 * script only keeps the page in step with what it will accept. It evaluates
 * the subset of JSON Schema that conditions use. What a field type does on the
 * page beyond a text input (read its value, reload a cascade, paint stars)
 * lives in static/js/fields/<type>.js, loaded for the types a form names in
 * data-lz-scripts. */
(function () {
  "use strict";

  function typeOf(v) {
    if (v === null) return "null";
    if (Array.isArray(v)) return "array";
    if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
    return typeof v;
  }

  function equal(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

  function isType(v, t) {
    var actual = typeOf(v);
    return t === actual || (t === "number" && actual === "integer");
  }

  var KEYWORDS = {
    type: function (s, v) { return [].concat(s).some(function (t) { return isType(v, t); }); },
    const: function (s, v) { return equal(s, v); },
    enum: function (s, v) { return s.some(function (e) { return equal(e, v); }); },
    required: function (s, v) { return typeOf(v) !== "object" || s.every(function (k) { return k in v; }); },
    properties: function (s, v) {
      return typeOf(v) !== "object" || Object.keys(s).every(function (k) { return !(k in v) || matches(s[k], v[k]); });
    },
    not: function (s, v) { return !matches(s, v); },
    allOf: function (s, v) { return s.every(function (x) { return matches(x, v); }); },
    anyOf: function (s, v) { return s.some(function (x) { return matches(x, v); }); },
    oneOf: function (s, v) { return s.filter(function (x) { return matches(x, v); }).length === 1; },
    minimum: function (s, v) { return typeof v !== "number" || v >= s; },
    maximum: function (s, v) { return typeof v !== "number" || v <= s; },
    exclusiveMinimum: function (s, v) { return typeof v !== "number" || v > s; },
    exclusiveMaximum: function (s, v) { return typeof v !== "number" || v < s; },
    minLength: function (s, v) { return typeof v !== "string" || v.length >= s; },
    maxLength: function (s, v) { return typeof v !== "string" || v.length <= s; },
    pattern: function (s, v) { return typeof v !== "string" || new RegExp(s, "u").test(v); },
    minItems: function (s, v) { return !Array.isArray(v) || v.length >= s; },
    maxItems: function (s, v) { return !Array.isArray(v) || v.length <= s; },
    items: function (s, v) { return !Array.isArray(v) || v.every(function (x) { return matches(s, x); }); },
    contains: function (s, v) { return !Array.isArray(v) || v.some(function (x) { return matches(s, x); }); }
  };

  function matches(schema, value) {
    if (schema === true || schema === undefined) return true;
    if (schema === false) return false;
    if ("if" in schema) {
      var branch = matches(schema["if"], value) ? schema.then : schema["else"];
      if (branch !== undefined && !matches(branch, value)) return false;
    }
    return Object.keys(KEYWORDS).every(function (k) { return !(k in schema) || KEYWORDS[k](schema[k], value); });
  }

  // Field types with page behaviour of their own register here (static/js/fields/<type>.js):
  // value(box) reads the field as its JSON value, init(box, form) wires its inputs once.
  var FIELDS = {};
  var requested = {};

  function register(name, behaviour) { FIELDS[name] = behaviour; }

  function textValue(box) {
    var input = box.querySelector("input:not([type=hidden]), select, textarea");
    var raw = input ? input.value.trim() : "";
    return raw === "" ? undefined : raw;
  }

  // Readers several field types share (a field script names one as its value).
  function numberValue(box) {
    var raw = textValue(box);  // conditions compare numbers; text that is no number stays text
    return raw === undefined || isNaN(Number(raw)) ? raw : Number(raw);
  }

  function listValue(box) {
    var values = [];
    box.querySelectorAll("input[type=checkbox]:checked, option:checked").forEach(function (el) {
      if (el.value) values.push(el.value);
    });
    return values.length ? values : undefined;
  }

  function fieldValue(box) {
    var own = FIELDS[box.getAttribute("data-lz-type")];
    return (own && own.value ? own.value : textValue)(box);
  }

  function collect(form) {
    var data = {};
    form.querySelectorAll("[data-lz-field]").forEach(function (box) {
      if (box.hidden) return;
      var v = fieldValue(box);
      if (v !== undefined) data[box.getAttribute("data-lz-field")] = v;
    });
    return data;
  }

  function setMode(box, mode) {
    box.setAttribute("data-lz-mode", mode);
    box.hidden = mode === "hidden";
    box.disabled = mode === "hidden" || mode === "readonly";
    var star = box.querySelector(".lz-required");
    if (star) star.hidden = mode !== "required";
    var badge = box.querySelector(".lz-readonly-badge");
    if (badge) badge.hidden = mode !== "readonly";
  }

  function refreshModes(form) {
    // A mode may depend on a field whose own mode just changed: settle in a few passes.
    for (var pass = 0; pass < 3; pass++) {
      var data = collect(form), changed = false;
      form.querySelectorAll("[data-lz-cond]").forEach(function (box) {
        var cond = JSON.parse(box.getAttribute("data-lz-cond"));
        var mode = matches(cond.when, data) ? cond.mode : (cond["else"] || "hidden");
        if (box.getAttribute("data-lz-mode") !== mode) { setMode(box, mode); changed = true; }
      });
      if (!changed) return;
    }
  }

  function refreshChoices(form) {
    // Transitions (radios or buttons) whose "when" fails are not offered.
    var data = collect(form);
    form.querySelectorAll("[data-lz-when]").forEach(function (el) {
      var ok = matches(JSON.parse(el.getAttribute("data-lz-when")), data);
      el.hidden = !ok;
      (el.matches("button, input") ? [el] : el.querySelectorAll("input")).forEach(function (input) {
        input.disabled = !ok;
        if (!ok && input.checked) input.checked = false;
      });
    });
    var radios = form.querySelectorAll("input[type=radio][name=transition]");
    if (radios.length && !form.querySelector("input[name=transition]:checked")) {
      var first = Array.prototype.find.call(radios, function (r) { return !r.disabled; });
      if (first) first.checked = true;
    }
    // The next-handler picker belongs to one transition: shown while it is chosen or offered.
    form.querySelectorAll("[data-lz-transition]").forEach(function (group) {
      var to = group.getAttribute("data-lz-transition");
      var radio = form.querySelector("input[type=radio][name=transition][value='" + to + "']");
      var button = form.querySelector("button[name=transition][value='" + to + "']");
      var shown = radio ? radio.checked : !!(button && !button.hidden);
      group.hidden = !shown;
      group.querySelectorAll("select").forEach(function (select) { select.disabled = !shown; });
    });
  }

  function refresh(form) {
    refreshModes(form);
    refreshChoices(form);
  }

  // Computed fields (x-formula): the server computes them, as it will when the form is sent, from
  // the form as typed so far (data-lz-preview: where to ask). Files are not sent along.
  function askServer(form, box) {
    var url = box.getAttribute("data-lz-preview");
    if (!url) return;
    clearTimeout(box.lzPreviewTimer);
    box.lzPreviewTimer = setTimeout(function () {
      var body = new FormData(form), files = [];
      body.forEach(function (value, key) { if (value instanceof File) files.push(key); });
      files.forEach(function (key) { body["delete"](key); });
      var asked = box.lzPreviewAsked = (box.lzPreviewAsked || 0) + 1;
      fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (answer) { if (answer && asked === box.lzPreviewAsked) showComputed(box, answer.fields); })
        .catch(function () { /* the page keeps what it shows; the server computes on submit anyway */ });
    }, 200);
  }

  function showComputed(box, fields) {
    box.querySelectorAll("[data-lz-computed]").forEach(function (field) {
      var name = field.getAttribute("data-lz-field"), value = fields[name];
      var input = field.querySelector("input:not([type=hidden]), textarea");
      if (input && name in fields) input.value = value === null || value === undefined ? "" : String(value);
    });
    box.setAttribute("data-lz-previewed", String(box.lzPreviewAsked));
  }

  // The field scripts sit beside this file: .../js/liveform.js -> .../js/fields/<type>.js.
  var here = document.currentScript.src;
  var FOLDER = here.slice(0, here.lastIndexOf("/") + 1) + "fields/";

  function load(names, done) {
    // Each script once per page; ``done`` when every one has run (or failed: the page still works).
    var pending = names.length + 1;
    function settle() { if (--pending === 0) done(); }
    names.forEach(function (name) {
      if (!requested[name]) {
        var script = document.createElement("script");
        script.src = FOLDER + encodeURIComponent(name) + ".js";
        requested[name] = new Promise(function (resolve) { script.onload = script.onerror = resolve; });
        document.head.appendChild(script);
      }
      requested[name].then(settle);
    });
    settle();
  }

  function start(box) {
    var form = box.closest("form") || box;
    box.querySelectorAll("[data-lz-field]").forEach(function (field) {
      var own = FIELDS[field.getAttribute("data-lz-type")];
      if (own && own.init) own.init(field, form);
    });
    form.addEventListener("change", function () { refresh(form); askServer(form, box); });
    form.addEventListener("input", function () { refresh(form); askServer(form, box); });
    refresh(form);
  }

  function init(box) {
    // Until the field scripts have run, the page shows what the server rendered.
    var names = (box.getAttribute("data-lz-scripts") || "").split(" ").filter(Boolean);
    load(names, function () { start(box); });
  }

  document.querySelectorAll("[data-lz-form]").forEach(init);
  window.LiuzhuanLiveForm = {
    matches: matches, register: register, read: { text: textValue, number: numberValue, list: listValue }
  };
}());
