/* Liuzhuan live step forms: re-evaluates conditional field modes ("when")
 * and reloads cascading dropdowns as the user types. The server repeats every
 * check; this script only keeps the page in step with what it will accept.
 * It evaluates the subset of JSON Schema that conditions use. */
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

  function fieldValue(box) {
    var type = box.getAttribute("data-lz-type");
    var inputs = box.querySelectorAll("input:not([type=hidden]), select, textarea");
    if (type === "checkbox") return inputs[0] && inputs[0].checked ? true : undefined;
    if (type === "radio") {
      var picked = box.querySelector("input[type=radio]:checked");
      return picked ? picked.value : undefined;
    }
    if (type === "checkboxes" || type === "multiselect") {
      var values = [];
      box.querySelectorAll("input[type=checkbox]:checked, option:checked").forEach(function (el) {
        if (el.value) values.push(el.value);
      });
      return values.length ? values : undefined;
    }
    if (type === "attachment" || !inputs[0]) return undefined;
    var raw = inputs[0].value.trim();
    if (raw === "") return undefined;
    if (type === "number" || type === "integer") return isNaN(Number(raw)) ? raw : Number(raw);
    return raw;
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

  function dictionary(code) {
    var node = document.getElementById("lz-dict-" + code);
    return node ? JSON.parse(node.textContent) : null;
  }

  function reloadCascade(form, select) {
    var tree = dictionary(select.getAttribute("data-lz-dict"));
    var parent = form.querySelector("[name='" + select.getAttribute("data-lz-cascade") + "']");
    if (!tree || !parent) return;
    var current = select.value, item = tree[parent.value || ""] , keep = false;
    var children = parent.value && item ? item.children : [];
    while (select.options.length) select.remove(0);
    select.add(new Option("—", ""));
    children.forEach(function (value) {
      var child = tree[value];
      if (child && (child.enabled || value === current)) {
        select.add(new Option(child.label, value));
        if (value === current) keep = true;
      }
    });
    select.value = keep ? current : "";
    select.dispatchEvent(new Event("change", { bubbles: true }));
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

  function init(box) {
    var form = box.closest("form") || box;
    var cascades = form.querySelectorAll("select[data-lz-cascade]");
    form.addEventListener("change", function (event) {
      cascades.forEach(function (select) {
        if (event.target.name === select.getAttribute("data-lz-cascade")) reloadCascade(form, select);
      });
      refresh(form);
    });
    form.addEventListener("input", function () { refresh(form); });
    refresh(form);
  }

  document.querySelectorAll("[data-lz-form]").forEach(init);
  window.LiuzhuanLiveForm = { matches: matches };
}());
