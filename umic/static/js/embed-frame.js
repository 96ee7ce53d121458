/* The booking inside a town's iframe (docs/accessibility.md, "Resizing the frame" and
   "Focus in the frame"). Tells the town's page, through embed-parent.js, how tall this page
   is, and after each step asks it to bring the frame into view. Messages go only to the
   parent's origin, once it is known to be one of the town's allowed origins (data-origins):
   never to "*". Nothing is focused or scrolled on the first load. */
(function () {
  "use strict";
  var script = document.currentScript;
  // Reached from one of our own pages (a step of the booking), not the town's first load.
  var nextStep = false;
  try { nextStep = new URL(document.referrer).origin === window.location.origin; } catch (e) {}
  // Browsers ignore autofocus in a cross-site frame: after the user's own step, focus what
  // the page would have focused (the error summary); never on the first load, which would
  // scroll the town's page.
  var focusTarget = document.querySelector("[data-embed-focus]");
  if (focusTarget && nextStep) focusTarget.focus();

  if (window.parent === window) return;
  var allowed = ((script && script.getAttribute("data-origins")) || "").split(" ");
  var parentOrigin = null;
  var lastHeight = 0;

  function send(message) { window.parent.postMessage(message, parentOrigin); }

  function report() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (parentOrigin && height !== lastHeight) {
      lastHeight = height;
      send({ type: "diba-cita:resize", height: height });
    }
  }

  function connect(origin) {
    if (parentOrigin || !origin || allowed.indexOf(origin) < 0) return;
    parentOrigin = origin;
    report();
    if (nextStep) send({ type: "diba-cita:top" });
  }

  // Chromium and Safari name the parent's origin; Firefox waits for the parent's hello.
  var ancestors = window.location.ancestorOrigins;
  if (ancestors && ancestors.length) connect(ancestors[0]);
  window.addEventListener("message", function (event) {
    if (event.source === window.parent && event.data && event.data.type === "diba-cita:hello") {
      connect(event.origin);
    }
  });
  if (window.ResizeObserver) new ResizeObserver(report).observe(document.documentElement);
  window.addEventListener("load", report);
})();
