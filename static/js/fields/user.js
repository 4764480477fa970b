/* A member picker (templates/forms/fields/user.html): the server renders a <select> of the people the
 * field allows (names shown, usernames sent), which works without script. This turns it into an ARIA
 * combobox (https://www.w3.org/WAI/ARIA/apg/patterns/combobox/) that searches as one types: by name,
 * by username, or by the pinyin initials the server put on each option (data-lz-initials: 小张 -> "xz").
 * ArrowDown/ArrowUp move through the matches, Enter picks, Escape closes and restores the pick.
 * The <select> stays in the form, hidden, and holds the value: it is what is submitted.
 * department.js uses the same combobox (window.LiuzhuanCombobox). */
(function () {
  "use strict";

  var SHOWN = 12;  // matches listed at once: type more to narrow
  var counter = 0;

  function choices(select) {
    return Array.prototype.filter.call(select.options, function (o) { return o.value !== ""; });
  }

  function matches(option, query) {
    if (!query) return true;
    var text = (option.text + " " + option.value).toLowerCase();
    var initials = (option.getAttribute("data-lz-initials") || "").toLowerCase();
    return text.indexOf(query) !== -1 || initials.indexOf(query) === 0;
  }

  function labelOf(select) {
    var picked = select.options[select.selectedIndex];
    return picked && picked.value ? picked.text : "";
  }

  function Combobox(select) {
    var id = select.id + "-combo-" + (++counter);
    this.select = select;
    this.input = document.createElement("input");
    this.list = document.createElement("ul");
    this.active = -1;
    this.found = [];
    this.build(id);
    this.wire();
  }

  Combobox.prototype.build = function (id) {
    var input = this.input, list = this.list, select = this.select;
    var label = select.closest("fieldset").querySelector("label[for='" + select.id + "']");
    input.type = "text";
    input.id = id;
    input.className = select.className.replace("lz-people", "") + " lz-combo-input";
    input.setAttribute("role", "combobox");
    input.setAttribute("autocomplete", "off");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", id + "-list");
    input.value = labelOf(select);
    list.id = id + "-list";
    list.className = "dropdown-menu w-100 lz-combo-list";
    list.setAttribute("role", "listbox");
    if (label) {
      label.id = label.id || id + "-label";
      label.htmlFor = id;
      list.setAttribute("aria-labelledby", label.id);
    }
    var wrap = document.createElement("div");
    wrap.className = "position-relative lz-combo";
    select.parentNode.insertBefore(wrap, select);
    wrap.appendChild(input);
    wrap.appendChild(list);
    wrap.appendChild(select);
    select.hidden = true;
    select.tabIndex = -1;
    select.setAttribute("aria-hidden", "true");
  };

  Combobox.prototype.wire = function () {
    var self = this;
    this.input.addEventListener("input", function (event) {
      event.stopPropagation();  // the live form reacts to the pick (the select's change), not to typing
      self.open(self.input.value.trim().toLowerCase());
    });
    this.input.addEventListener("keydown", function (event) { self.key(event); });
    this.input.addEventListener("blur", function () { self.settle(); });
    this.input.addEventListener("focus", function () { self.input.select(); });
    this.list.addEventListener("mousedown", function (event) {
      var item = event.target.closest("[role=option]");
      event.preventDefault();  // keep the focus in the input
      if (item) self.pick(Number(item.getAttribute("data-index")));
    });
  };

  Combobox.prototype.open = function (query) {
    var list = this.list, input = this.input;
    this.found = choices(this.select).filter(function (o) { return matches(o, query); });
    while (list.firstChild) list.removeChild(list.firstChild);
    this.found.slice(0, SHOWN).forEach(function (option, index) {
      var item = document.createElement("li");
      item.id = list.id + "-" + index;
      item.className = "dropdown-item";
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", "false");
      item.setAttribute("data-index", String(index));
      item.textContent = option.text;
      list.appendChild(item);
    });
    var shown = this.found.length > 0;
    list.classList.toggle("show", shown);
    input.setAttribute("aria-expanded", shown ? "true" : "false");
    this.highlight(shown ? 0 : -1);
  };

  Combobox.prototype.close = function () {
    this.list.classList.remove("show");
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
    this.active = -1;
  };

  Combobox.prototype.highlight = function (index) {
    var items = this.list.querySelectorAll("[role=option]");
    this.active = index;
    items.forEach(function (item, i) {
      item.classList.toggle("active", i === index);
      item.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    if (index >= 0 && items[index]) {
      this.input.setAttribute("aria-activedescendant", items[index].id);
      items[index].scrollIntoView({ block: "nearest" });
    } else {
      this.input.removeAttribute("aria-activedescendant");
    }
  };

  Combobox.prototype.key = function (event) {
    var openNow = this.list.classList.contains("show");
    var count = Math.min(this.found.length, SHOWN);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!openNow) { this.open(""); return; }
      var step = event.key === "ArrowDown" ? 1 : -1;
      this.highlight((this.active + step + count) % count);
    } else if (event.key === "Enter" && openNow) {
      event.preventDefault();  // picks; it does not submit the form
      if (this.active >= 0) this.pick(this.active);
    } else if (event.key === "Escape" && openNow) {
      event.preventDefault();
      this.close();
      this.input.value = labelOf(this.select);
    }
  };

  Combobox.prototype.pick = function (index) {
    var option = this.found[index];
    if (!option) return;
    this.select.value = option.value;
    this.input.value = option.text;
    this.close();
    this.select.dispatchEvent(new Event("change", { bubbles: true }));
  };

  Combobox.prototype.settle = function () {
    // Leaving the field: an emptied input clears the pick, anything else shows the pick again.
    this.close();
    if (this.input.value.trim() === "" && this.select.value !== "") {
      this.select.value = "";
      this.select.dispatchEvent(new Event("change", { bubbles: true }));
    }
    this.input.value = labelOf(this.select);
  };

  function enhance(box) {
    var select = box.querySelector("select.lz-people:not([multiple])");
    if (select && !select.hidden) new Combobox(select);
  }

  function picked(box) {
    var select = box.querySelector("select");
    return select && select.value ? select.value : undefined;
  }

  window.LiuzhuanCombobox = { enhance: enhance, value: picked };
  window.LiuzhuanLiveForm.register("user", { value: picked, init: enhance });
}());
