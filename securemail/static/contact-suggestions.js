// Contacts suggested in To and Cc as you type: the ARIA combobox pattern with a list box.
// htmx fetches the options (the list box's hx-post, as the field changes); this file only
// shows them and lets the keyboard and the mouse choose one: Arrow Down and Up move, Enter
// takes the highlighted contact's address, Escape closes. Without JavaScript the fields are
// plain text fields.
(function () {
  "use strict";

  function setup(input) {
    var list = document.getElementById(input.dataset.suggestions);
    if (!list) return;
    var active = -1;

    function options() {
      return Array.prototype.slice.call(list.querySelectorAll("[role=option]"));
    }

    function highlight(index) {
      var all = options();
      active = index;
      all.forEach(function (option, i) {
        option.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      if (index >= 0 && all[index]) {
        input.setAttribute("aria-activedescendant", all[index].id);
        all[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function open() {
      if (!options().length) { close(); return; }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      highlight(-1);
    }

    function choose(option) {
      var value = input.value;
      var cut = Math.max(value.lastIndexOf(","), value.lastIndexOf(";"));
      var before = cut >= 0 ? value.slice(0, cut + 1).replace(/\s*$/, " ") : "";
      input.value = before + option.dataset.email + ", ";
      close();
      // Saves the draft as typing does (the look-up runs when the field is left).
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.focus();
    }

    list.addEventListener("htmx:afterSwap", function () {
      active = -1;
      if (document.activeElement === input) open(); else close();
    });

    input.addEventListener("keydown", function (event) {
      var all = options();
      var shown = !list.hidden && all.length > 0;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (!all.length) return;
        event.preventDefault();
        if (!shown) { open(); highlight(event.key === "ArrowDown" ? 0 : all.length - 1); return; }
        var step = event.key === "ArrowDown" ? 1 : -1;
        highlight((active + step + all.length) % all.length);
      } else if (event.key === "Enter") {
        if (shown && active >= 0) {
          // Take the contact; don't send the form.
          event.preventDefault();
          choose(all[active]);
        }
      } else if (event.key === "Escape") {
        if (shown) { event.preventDefault(); close(); }
      } else if (event.key === "Tab") {
        close();
      }
    });

    input.addEventListener("blur", function () { window.setTimeout(close, 150); });

    // mousedown keeps the focus in the field; the click takes the contact.
    list.addEventListener("mousedown", function (event) { event.preventDefault(); });
    list.addEventListener("click", function (event) {
      var option = event.target.closest("[role=option]");
      if (option) choose(option);
    });
  }

  document.querySelectorAll("input[data-suggestions]").forEach(setup);
})();
