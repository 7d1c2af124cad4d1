// Quiz attempt page: every answer is saved on change (text while typing, every few seconds) with a
// sequence number, kept on this device until the server confirms it, and re-sent when the connection
// returns. The clock counts down to the server's deadline; at zero the attempt is submitted.
(function () {
  "use strict";
  var root = document.querySelector("[data-quiz]");
  if (!root) return;
  var form = root.querySelector("form.quiz-form");
  var storeKey = "bangkom-quiz-" + root.dataset.attempt;
  var banner = root.querySelector("[data-connection]");
  var label = function (name) { return root.dataset["label" + name.charAt(0).toUpperCase() + name.slice(1)]; };
  var lastSeq = {};     // position -> highest sequence number used for it
  var pending = load(); // position -> {seq, response} not yet confirmed by the server
  var inFlight = {};
  var retryTimer = null;
  var closed = false;

  function load() {
    try { return JSON.parse(localStorage.getItem(storeKey)) || {}; } catch (e) { return {}; }
  }
  function persist() {
    try {
      if (Object.keys(pending).length) localStorage.setItem(storeKey, JSON.stringify(pending));
      else localStorage.removeItem(storeKey);
    } catch (e) { /* private mode: the server copy is what counts */ }
  }
  function fieldset(position) { return root.querySelector('fieldset.question[data-position="' + position + '"]'); }
  function status(position, text, state) {
    var fs = fieldset(position);
    if (!fs) return;
    var el = fs.querySelector(".save-state");
    el.textContent = text;
    el.dataset.state = state || "";
  }
  function showBanner(text) {
    banner.textContent = text || "";
    banner.hidden = !text;
  }

  function responseOf(fs) {
    var name = "q" + fs.dataset.position;
    switch (fs.dataset.type) {
      case "single": case "truefalse":
        var checked = fs.querySelector('input[name="' + name + '"]:checked');
        return checked ? {choice: parseInt(checked.value, 10)} : null;
      case "multi":
        var values = [];
        fs.querySelectorAll('input[name="' + name + '"]:checked').forEach(function (el) { values.push(parseInt(el.value, 10)); });
        return values.length ? {choices: values} : null;
      case "shortanswer": case "numerical": case "essay":
        var text = fs.querySelector("[name='" + name + "']").value;
        return text.trim() ? {text: text} : null;
      case "ordering":
        var order = [];
        fs.querySelectorAll(".ordering-item").forEach(function (li) { order.push(parseInt(li.dataset.pos, 10)); });
        return {order: order};
      case "matching":
        var pairs = {};
        fs.querySelectorAll("select[data-item]").forEach(function (sel) { if (sel.value) pairs[sel.dataset.item] = sel.value; });
        return Object.keys(pairs).length ? {pairs: pairs} : null;
    }
    return null;
  }

  function apply(fs, response) {
    var name = "q" + fs.dataset.position;
    response = response || {};
    switch (fs.dataset.type) {
      case "single": case "truefalse":
        fs.querySelectorAll('input[name="' + name + '"]').forEach(function (el) { el.checked = parseInt(el.value, 10) === response.choice; });
        break;
      case "multi":
        fs.querySelectorAll('input[name="' + name + '"]').forEach(function (el) { el.checked = (response.choices || []).indexOf(parseInt(el.value, 10)) >= 0; });
        break;
      case "shortanswer": case "numerical": case "essay":
        fs.querySelector("[name='" + name + "']").value = response.text || "";
        break;
      case "ordering":
        var list = fs.querySelector("[data-ordering]");
        (response.order || []).forEach(function (pos) {
          var li = list.querySelector('[data-pos="' + pos + '"]');
          if (li) list.appendChild(li);
        });
        renumber(list);
        break;
      case "matching":
        fs.querySelectorAll("select[data-item]").forEach(function (sel) { sel.value = (response.pairs || {})[sel.dataset.item] || ""; });
        break;
    }
  }

  function renumber(list) {
    list.querySelectorAll(".ordering-item").forEach(function (li, i) { li.querySelector(".rank").value = i + 1; });
  }

  function mapMark(position, answered) {
    var link = root.querySelector('[data-map="' + position + '"]');
    if (link) link.classList.toggle("answered", !!answered);
  }

  function nextSeq(position) {
    var seq = Math.max((lastSeq[position] || 0) + 1, Date.now());
    lastSeq[position] = seq;
    return seq;
  }

  function changed(fs) {
    if (closed) return;
    var position = fs.dataset.position;
    var response = responseOf(fs);
    pending[position] = {seq: nextSeq(position), response: response};
    persist();
    mapMark(position, response);
    send(position);
  }

  function send(position) {
    var entry = pending[position];
    if (!entry || inFlight[position]) return;
    inFlight[position] = entry.seq;
    status(position, label("saving"), "saving");
    fetch(root.dataset.save, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf},
      body: JSON.stringify({position: parseInt(position, 10), seq: entry.seq, response: entry.response})
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) { return {resp: resp, body: body}; });
    }).then(function (r) {
      delete inFlight[position];
      if (r.resp.status === 409) {
        closed = true;
        pending = {}; persist();
        status(position, label("closed"), "error");
        showBanner(label("closed"));
        window.setTimeout(function () { window.location.reload(); }, 1500);
        return;
      }
      if (!r.resp.ok && r.resp.status !== 200) {
        if (r.resp.status >= 500 || r.resp.status === 429) throw new Error("retry");
        if (pending[position] && pending[position].seq === entry.seq) delete pending[position];
        persist();
        status(position, label("error"), "error");
        return;
      }
      var current = pending[position];
      if (current && current.seq <= r.body.seq) delete pending[position];
      persist();
      if (r.body.accepted || (current && current.seq <= r.body.seq)) {
        status(position, r.body.accepted ? label("saved") : label("stale"), r.body.accepted ? "saved" : "stale");
      }
      if (!Object.keys(inFlight).length && !Object.keys(pending).length) showBanner("");
      if (pending[position]) send(position); // a newer change arrived while this one travelled
    }).catch(function () {
      delete inFlight[position];
      status(position, label("offline"), "offline");
      showBanner(label("offline"));
      scheduleRetry();
    });
  }

  function scheduleRetry() {
    if (retryTimer) return;
    retryTimer = window.setTimeout(function () { retryTimer = null; flush(); }, 3000);
  }
  function flush() {
    Object.keys(pending).forEach(send);
  }
  function flushed() {
    return !Object.keys(pending).length && !Object.keys(inFlight).length;
  }

  // Wire the questions.
  root.querySelectorAll("fieldset.question").forEach(function (fs) {
    var position = fs.dataset.position;
    lastSeq[position] = parseInt(fs.dataset.seq, 10) || 0;
    var typing = null;
    fs.addEventListener("change", function (event) {
      if (event.target.matches(".rank")) { // a typed place: move the item there
        var list = fs.querySelector("[data-ordering]");
        var items = Array.prototype.slice.call(list.querySelectorAll(".ordering-item"));
        var moved = event.target.closest(".ordering-item");
        var place = Math.min(Math.max(parseInt(event.target.value, 10) || 1, 1), items.length) - 1;
        items.splice(items.indexOf(moved), 1);
        items.splice(place, 0, moved);
        items.forEach(function (li) { list.appendChild(li); });
        renumber(list);
      }
      changed(fs);
    });
    fs.addEventListener("input", function (event) {
      if (event.target.matches("input[type=text], textarea")) {
        window.clearTimeout(typing);
        typing = window.setTimeout(function () { changed(fs); }, 2000);
      }
    });
    fs.querySelectorAll("[data-move]").forEach(function (button) {
      button.addEventListener("click", function () {
        var li = button.closest(".ordering-item");
        var list = li.parentNode;
        if (button.dataset.move === "-1" && li.previousElementSibling) list.insertBefore(li, li.previousElementSibling);
        else if (button.dataset.move === "1" && li.nextElementSibling) list.insertBefore(li.nextElementSibling, li);
        renumber(list);
        button.focus();
        changed(fs);
      });
    });
    // An answer kept on this device that the server never confirmed (closed tab, no connection): restore it.
    var kept = pending[position];
    if (kept && kept.seq > lastSeq[position]) {
      apply(fs, kept.response);
      lastSeq[position] = kept.seq;
      mapMark(position, kept.response);
    } else if (kept) {
      delete pending[position];
    }
  });
  persist();
  flush();
  window.addEventListener("online", flush);
  window.addEventListener("beforeunload", function (event) {
    if (!flushed() && !closed) { event.preventDefault(); event.returnValue = ""; }
  });

  // "Save answers" needs no page load when JavaScript runs; "Finish" waits until everything is saved.
  var plainSave = root.querySelector("[data-plain-save]");
  plainSave.hidden = true;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    goFinish();
  });
  function goFinish() {
    if (flushed()) { window.location.href = root.dataset.finish; return; }
    flush();
    showBanner(label("saving"));
    window.setTimeout(goFinish, 500);
  }

  // The clock: the server's deadline, corrected for this device's clock.
  var deadline = root.dataset.deadline ? Date.parse(root.dataset.deadline) : null;
  var timer = root.querySelector("[data-timer]");
  if (deadline && timer) {
    var offset = Date.parse(root.dataset.now) - Date.now();
    var submitting = false;
    var tick = function () {
      var left = Math.max(0, Math.round((deadline - (Date.now() + offset)) / 1000));
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      timer.textContent = (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(s).padStart(2, "0");
      timer.parentNode.classList.toggle("urgent", left <= 60);
      if (left === 0 && !submitting) {
        submitting = true;
        submitWhenSaved(Date.now());
      }
    };
    tick();
    window.setInterval(tick, 1000);
  }
  function submitWhenSaved(started) {
    // Answers in flight are still taken for a short grace; then the server closes the attempt itself.
    if (!flushed() && Date.now() - started < 20000) { flush(); window.setTimeout(function () { submitWhenSaved(started); }, 500); return; }
    closed = true;
    var post = document.createElement("form");
    post.method = "post";
    post.action = root.dataset.finish;
    var token = document.createElement("input");
    token.type = "hidden"; token.name = "csrf_token"; token.value = root.dataset.csrf;
    post.appendChild(token);
    document.body.appendChild(post);
    post.submit();
  }
})();
