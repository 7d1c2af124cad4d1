/* Bangkom SCORM player: runs scorm-again's runtime in the lesson page and relays the package's API calls,
   which arrive by postMessage from the package frame on the content origin. Commits go to the server. */
(function () {
  "use strict";
  var frame = document.getElementById("scorm-frame");
  if (!frame) { return; }
  var box = document.querySelector("[data-scorm]");
  var cmi = JSON.parse(document.getElementById("scorm-cmi").textContent);
  var status = document.querySelector(".scorm-status");
  var settings = {
    autocommit: true,
    autocommitSeconds: 3,
    lmsCommitUrl: box.dataset.commit || false,
    dataCommitFormat: "flattened",
    xhrHeaders: {"X-CSRFToken": box.dataset.csrf},
    xhrWithCredentials: true,
    fetchMode: "same-origin",
    logLevel: 5
  };
  var api = box.dataset.version === "1.2" ? new window.Scorm12API(settings) : new window.Scorm2004API(settings);
  api.loadFromFlattenedJSON(cmi, "");
  var saved = function () {
    if (status) { status.textContent = status.dataset.saved || ""; }
  };
  ["LMSCommit", "Commit", "LMSFinish", "Terminate"].forEach(function (name) { api.on(name, saved); });

  // Only the package frame (and frames inside it) may talk to the runtime.
  window.addEventListener("message", function (event) {
    var source = event.source;
    while (source && source !== frame.contentWindow && source !== source.parent) { source = source.parent; }
    if (source !== frame.contentWindow) { event.stopImmediatePropagation(); }
  });
  // Responses go back to the frame that asked; that frame's origin is the content origin.
  new window.CrossFrameLMS(api, "*");
  // Only now load the package: its first calls (LMSInitialize) would be lost if nothing listened yet.
  frame.src = frame.dataset.src;

  // Leaving the page: the package gets the chance to finish, then what it stored is sent.
  window.addEventListener("pagehide", function () {
    try {
      if (box.dataset.version === "1.2") { api.LMSCommit(""); } else { api.Commit(""); }
    } catch (e) { /* the next visit resumes from the last commit */ }
  });
})();
