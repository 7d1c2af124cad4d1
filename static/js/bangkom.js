/* Bangkom: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Mobile navigation toggle.
  var toggle = document.querySelector(".nav-toggle");
  var nav = document.getElementById("main-nav");
  if (toggle && nav) {
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", String(!open));
      nav.classList.toggle("open", !open);
    });
  }

  // Ask before destructive actions (deactivate, revoke).
  document.querySelectorAll("[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });

  // A form is sent once: the second click of a double click does nothing.
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sending === "1") {
        event.preventDefault();
        return;
      }
      form.dataset.sending = "1";
      var button = form.querySelector("[data-once]");
      if (button) {
        button.setAttribute("aria-disabled", "true");
        button.classList.add("busy");
        if (button.dataset.busy) { button.textContent = button.dataset.busy; }
      }
    });
  });
  // Coming back with the browser's back button must not leave forms locked.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form").forEach(function (form) { delete form.dataset.sending; });
  });

  function post(url, data) {
    return fetch(url, {method: "POST", body: data, credentials: "same-origin",
                       headers: {"Accept": "application/json"}});
  }

  // Time spent on a lesson: counted while the page is visible, sent every minute and on leaving.
  var lesson = document.querySelector("[data-heartbeat]");
  if (lesson) {
    var visibleSince = document.visibilityState === "visible" ? Date.now() : null;
    var pending = 0;
    var collect = function () {
      if (visibleSince !== null) { pending += (Date.now() - visibleSince) / 1000; visibleSince = Date.now(); }
    };
    var payload = function () {
      var data = new FormData();
      data.append("csrf_token", lesson.dataset.csrf);
      data.append("seconds", String(Math.round(pending)));
      pending = 0;
      return data;
    };
    var status = lesson.querySelector(".lesson-status");
    var send = function () {
      collect();
      if (pending < 5) { return; }
      post(lesson.dataset.heartbeat, payload()).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (answer) {
        if (answer && answer.state === "done" && status && !status.querySelector(".badge.ok")) {
          var badge = document.createElement("p");
          badge.innerHTML = '<span class="badge ok"></span>';
          badge.firstChild.textContent = lesson.dataset.doneLabel || "✓";
          status.prepend(badge);
        }
      }).catch(function () { /* offline: the time is sent with the next beat */ });
    };
    window.setInterval(send, 60000);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { visibleSince = Date.now(); return; }
      collect();
      visibleSince = null;
      if (pending >= 5 && navigator.sendBeacon) { navigator.sendBeacon(lesson.dataset.heartbeat, payload()); }
    });
  }

  // Uploads show their progress; the server's answer replaces the page as a normal submit would.
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    var bar = form.querySelector(".upload-progress");
    var note = form.querySelector(".upload-status");
    form.addEventListener("submit", function (event) {
      var hasFile = Array.prototype.some.call(form.querySelectorAll("input[type=file]"), function (input) {
        return input.files && input.files.length;
      });
      if (!hasFile || !window.FormData || !bar) { return; }
      event.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      bar.hidden = false;
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          bar.value = Math.round(100 * e.loaded / e.total);
          if (note) { note.textContent = bar.value + "%"; }
        }
      });
      xhr.addEventListener("load", function () {
        if (xhr.responseURL && xhr.responseURL !== (form.action || window.location.href)) {
          window.location.assign(xhr.responseURL);
        } else {
          document.open(); document.write(xhr.responseText); document.close();
        }
      });
      xhr.addEventListener("error", function () {
        delete form.dataset.sending;
        bar.hidden = true;
        if (note) { note.textContent = form.dataset.uploadError || "Upload failed; check the connection and try again."; }
      });
      xhr.send(new FormData(form));
    });
  });

  // Drag and drop to reorder modules and lessons; the ↑ ↓ buttons do the same without a mouse.
  document.querySelectorAll("[data-reorder]").forEach(function (root) {
    var dragged = null;
    root.addEventListener("dragstart", function (event) {
      dragged = event.target.closest("[draggable=true]");
      if (dragged) { event.dataTransfer.effectAllowed = "move"; dragged.classList.add("dragging"); }
      event.stopPropagation();
    });
    root.addEventListener("dragover", function (event) {
      var over = event.target.closest("[draggable=true]");
      if (!dragged || !over || over === dragged || over.parentNode !== dragged.parentNode) { return; }
      event.preventDefault();
      var box = over.getBoundingClientRect();
      over.parentNode.insertBefore(dragged, event.clientY > box.top + box.height / 2 ? over.nextSibling : over);
    });
    root.addEventListener("dragend", function () {
      if (!dragged) { return; }
      dragged.classList.remove("dragging");
      var list = dragged.parentNode;
      var data = new FormData();
      data.append("csrf_token", root.dataset.csrf);
      if (list.dataset.module) { data.append("module", list.dataset.module); }
      data.append("order", Array.prototype.map.call(list.querySelectorAll(":scope > [draggable=true]"),
        function (item) { return item.dataset.id; }).join(","));
      dragged = null;
      post(root.dataset.reorder, data).then(function () { window.location.reload(); });
    });
  });

  // Copy a token to the clipboard.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var target = document.querySelector(button.getAttribute("data-copy"));
      if (target && navigator.clipboard) {
        navigator.clipboard.writeText(target.textContent.trim()).then(function () {
          button.textContent = "✓";
        });
      }
    });
  });
})();
