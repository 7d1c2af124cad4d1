// Quiz attempt page: every answer is saved on change (text while typing, at least every few seconds) with a
// sequence number, kept on this device until the server confirms it, and re-sent when the connection
// returns. The clock counts down to the server's deadline; at zero the attempt is submitted.
// Without this script the page is a plain form: "Save answers" and "Finish and submit…" post every answer.
(function () {
  "use strict";
  var root = document.querySelector("[data-quiz]");
  if (!root) return;
  var form = root.querySelector("form.quiz-form");
  var storeKey = "bangkom-quiz-" + root.dataset.attempt;
  var banner = root.querySelector("[data-connection]");
  var bar = root.querySelector(".quiz-bar");
  var questions = Array.prototype.slice.call(root.querySelectorAll("fieldset.question"));
  var lastSeq = {};      // position -> highest sequence number used for it
  var shown = {};        // position -> the answer on the page as last saved or queued (JSON)
  var pending = stored(); // position -> {seq, response} not yet confirmed by the server
  var inFlight = {};
  var retryTimer = null;
  var offline = false;   // the last request did not reach the server
  var closed = false;    // the server takes no more answers
  var timeUp = false;
  var leaving = false;   // "Finish" was pressed: go on once everything is saved

  function label(name) {
    return root.dataset["label" + name.replace(/(^|-)([a-z])/g, function (m, dash, c) { return c.toUpperCase(); })] || "";
  }

  // The device's copy is shared by every tab of this attempt: each change reads it first, so one tab never
  // drops an answer another tab is still keeping.
  function stored() {
    try { return JSON.parse(localStorage.getItem(storeKey)) || {}; } catch (e) { return {}; }
  }
  function write(all) {
    try {
      if (Object.keys(all).length) localStorage.setItem(storeKey, JSON.stringify(all));
      else localStorage.removeItem(storeKey);
    } catch (e) { /* private mode or full: the server's copy is what counts */ }
  }
  function keep(position, entry) {
    var all = stored();
    if (!all[position] || all[position].seq < entry.seq) { all[position] = entry; write(all); }
  }
  function forget(position, seq) {
    var all = stored();
    if (all[position] && all[position].seq <= seq) { delete all[position]; write(all); }
  }

  function fieldset(position) { return root.querySelector('fieldset.question[data-position="' + position + '"]'); }
  function status(position, text, state) {
    var fs = fieldset(position);
    if (!fs) return;
    var el = fs.querySelector(".save-state");
    el.textContent = text;
    el.dataset.state = state || "";
  }
  function flushed() { return !Object.keys(pending).length && !Object.keys(inFlight).length; }
  function updateBanner() {
    var text = "";
    if (closed) text = label("closed");
    else if (offline && !flushed()) text = label("offline");
    else if (timeUp) text = label("time-up");
    else if (leaving && !flushed()) text = label("saving");
    if (banner.textContent !== text) { banner.textContent = text; fitScrollPadding(); }
  }
  // Focus and "#soal-N" links must land below the sticky bar, however tall the banner makes it.
  function fitScrollPadding() {
    document.documentElement.style.scrollPaddingTop = (bar.offsetHeight + 12) + "px";
  }
  fitScrollPadding();
  window.addEventListener("resize", fitScrollPadding);

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

  // The answer on the page changed (or may have): queue it, keep it on the device, send it.
  function changed(fs) {
    if (closed || timeUp) return;
    var position = fs.dataset.position;
    var response = responseOf(fs);
    var json = JSON.stringify(response);
    if (json === shown[position]) return;
    shown[position] = json;
    var entry = {seq: nextSeq(position), response: response};
    pending[position] = entry;
    keep(position, entry);
    mapMark(position, response);
    send(position);
  }

  function send(position) {
    var entry = pending[position];
    if (!entry || inFlight[position] || closed) return;
    inFlight[position] = entry.seq;
    status(position, label("saving"), "saving");
    fetch(root.dataset.save, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": root.dataset.csrf},
      body: JSON.stringify({position: parseInt(position, 10), seq: entry.seq, response: entry.response})
    }).then(function (resp) {
      return resp.json().then(function (body) { return {status: resp.status, body: body}; },
                              function () { return {status: resp.status, body: null}; });
    }, function () {
      return {status: 0, body: null}; // no connection
    }).then(function (r) {
      delete inFlight[position];
      if (r.status === 0) {
        offline = true;
        status(position, label("kept"), "offline");
        scheduleRetry();
      } else if (r.status === 409 && r.body) {
        closedByServer(position);
        return;
      } else if (r.status === 200 && r.body && typeof r.body.seq === "number") {
        offline = false;
        confirmed(position, entry, r.body);
      } else if (r.status === 400 && r.body && r.body.error) {
        // The answer does not fit the question: sending it again cannot help.
        offline = false;
        if (pending[position] && pending[position].seq === entry.seq) delete pending[position];
        forget(position, entry.seq);
        status(position, label("error"), "error");
      } else {
        // A server error, a sign-in page, a proxy's error page: keep the answer and try again.
        offline = false;
        status(position, label("error"), "error");
        scheduleRetry();
      }
      updateBanner();
    });
  }

  function confirmed(position, entry, body) {
    // The plain form's record of the answer it shows: what the server holds now.
    var shownSeq = form.querySelector('input[name="seq' + position + '"]');
    if (shownSeq && body.accepted) shownSeq.value = body.seq;
    var current = pending[position];
    if (current && current.seq <= body.seq) delete pending[position];
    forget(position, body.seq);
    if (pending[position]) { send(position); return; } // a newer change arrived while this one travelled
    // A retried save that had already arrived comes back "stale" with its own sequence number: it is saved.
    var saved = body.accepted || body.seq === entry.seq;
    status(position, saved ? label("saved") : label("stale"), saved ? "saved" : "stale");
  }

  function closedByServer(position) {
    closed = true;
    pending = {};
    write({});
    status(position, label("closed"), "error");
    updateBanner();
    window.setTimeout(function () { window.location.reload(); }, 1500);
  }

  function scheduleRetry() {
    if (retryTimer) return;
    retryTimer = window.setTimeout(function () { retryTimer = null; flush(); }, 3000);
  }
  function flush() {
    Object.keys(pending).forEach(send);
  }

  // Wire the questions.
  questions.forEach(function (fs) {
    var position = fs.dataset.position;
    lastSeq[position] = parseInt(fs.dataset.seq, 10) || 0;
    var typing = null;
    var typingSince = 0;
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
        event.target.focus();
      }
      window.clearTimeout(typing);
      typingSince = 0;
      changed(fs);
    });
    // Text is saved after a pause in typing, and at least every five seconds of steady typing.
    fs.addEventListener("input", function (event) {
      if (!event.target.matches("input[type=text], textarea")) return;
      window.clearTimeout(typing);
      typingSince = typingSince || Date.now();
      if (Date.now() - typingSince >= 5000) { typingSince = 0; changed(fs); return; }
      typing = window.setTimeout(function () { typingSince = 0; changed(fs); }, 1500);
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
      status(position, label("saving"), "saving");
    } else if (kept) {
      delete pending[position];
      forget(position, lastSeq[position]);
    }
    shown[position] = JSON.stringify(responseOf(fs));
  });
  flush();
  window.addEventListener("online", flush);
  window.addEventListener("beforeunload", function (event) {
    if (!flushed() && !closed) { event.preventDefault(); event.returnValue = ""; }
  });

  // "Save answers" needs no page load when this script runs (Enter in a text field saves, too); "Finish"
  // goes on once every answer is saved — offline, it waits for the connection.
  root.querySelector("[data-plain-save]").hidden = true;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    questions.forEach(changed);
  });
  root.querySelector("[data-finish-button]").addEventListener("click", function (event) {
    event.preventDefault();
    questions.forEach(changed);
    if (leaving || timeUp) return;
    leaving = true;
    goFinish();
  });
  function goFinish() {
    if (closed || !leaving) return;
    if (flushed()) { window.location.href = root.dataset.finish; return; }
    updateBanner();
    window.setTimeout(goFinish, 250);
  }
  // Back from the finish page (the browser may keep this page as it was): "Finish" works again.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { leaving = false; updateBanner(); }
  });

  // The clock: the server's deadline, corrected for this device's clock.
  var deadline = root.dataset.deadline ? Date.parse(root.dataset.deadline) : null;
  var timer = root.querySelector("[data-timer]");
  if (deadline && timer) {
    var offset = Date.parse(root.dataset.now) - Date.now();
    var clock = null;
    var tick = function () {
      var left = Math.max(0, Math.ceil((deadline - (Date.now() + offset)) / 1000));
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      timer.textContent = (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(s).padStart(2, "0");
      timer.parentNode.classList.toggle("urgent", left <= 60);
      if (left === 0 && !timeUp) {
        window.clearInterval(clock);
        questions.forEach(changed); // text typed a moment ago
        timeUp = true;
        questions.forEach(function (fs) { fs.disabled = true; });
        form.querySelectorAll("button").forEach(function (button) { button.disabled = true; });
        updateBanner();
        submitWhenSaved(Date.now());
      }
    };
    tick();
    clock = window.setInterval(tick, 1000);
  }
  // Answers still travelling are taken for the server's grace period. Offline the page waits for the
  // connection: the server closes the attempt with what it holds once the grace has passed, and the
  // answers kept here are then refused, and the page reloads to the result.
  function submitWhenSaved(started) {
    if (closed) return;
    var waiting = !flushed() && Date.now() - started < 20000;
    if (waiting || offline || navigator.onLine === false) {
      window.setTimeout(function () { submitWhenSaved(started); }, 500);
      return;
    }
    var data = new FormData();
    data.append("csrf_token", root.dataset.csrf);
    fetch(root.dataset.finish, {method: "POST", body: data, credentials: "same-origin"}).then(function (resp) {
      closed = true;
      if (resp.ok) { window.location.replace(resp.url); return; }
      // The server refused (an expired session, say): let it show why, as a plain form would.
      var post = document.createElement("form");
      post.method = "post";
      post.action = root.dataset.finish;
      var token = document.createElement("input");
      token.type = "hidden"; token.name = "csrf_token"; token.value = root.dataset.csrf;
      post.appendChild(token);
      document.body.appendChild(post);
      post.submit();
    }, function () {
      window.setTimeout(function () { submitWhenSaved(started); }, 3000); // no connection: submitting is idempotent
    });
  }
})();
