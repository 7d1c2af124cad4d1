/* Question form: an "add a row" button for the answer table. Without it the form still offers empty rows. */
(function () {
  "use strict";
  document.querySelectorAll("[data-add-row]").forEach(function (button) {
    var table = document.getElementById(button.getAttribute("data-add-row"));
    if (!table || !table.tBodies.length) { return; }
    var body = table.tBodies[0];
    var max = parseInt(button.getAttribute("data-max-rows"), 10) || 100;
    var nextIndex = function () {
      // Rows are named answers-<index>-<column>; the server reads whatever indices arrive, in order.
      var highest = -1;
      body.querySelectorAll("[name^='answers-']").forEach(function (input) {
        var match = /^answers-(\d+)-/.exec(input.getAttribute("name"));
        if (match) { highest = Math.max(highest, parseInt(match[1], 10)); }
      });
      return highest + 1;
    };
    var update = function () { button.disabled = body.rows.length >= max; };
    button.parentElement.hidden = false;
    update();
    button.addEventListener("click", function () {
      var last = body.rows[body.rows.length - 1];
      if (!last || body.rows.length >= max) { return; }
      var index = nextIndex();
      var row = last.cloneNode(true);
      row.querySelectorAll("[name], [id], label[for]").forEach(function (element) {
        ["name", "id", "for"].forEach(function (attribute) {
          var value = element.getAttribute(attribute);
          if (value) { element.setAttribute(attribute, value.replace(/answers-\d+-/g, "answers-" + index + "-")); }
        });
        if (element.tagName === "INPUT" || element.tagName === "TEXTAREA") { element.value = ""; }
        element.removeAttribute("aria-invalid");
        element.removeAttribute("aria-describedby");
      });
      row.querySelectorAll(".error").forEach(function (error) { error.remove(); });
      row.querySelectorAll(".has-error").forEach(function (cell) { cell.classList.remove("has-error"); });
      row.querySelectorAll(".row-n").forEach(function (cell) { cell.textContent = String(body.rows.length + 1); });
      body.appendChild(row);
      update();
      var first = row.querySelector("input:not([type=hidden]), textarea");
      if (first) { first.focus(); }
    });
  });
})();
