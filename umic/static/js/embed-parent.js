/* For a town's web page that embeds the booking of the Diputació de Barcelona's consumer
   service. Sizes each booking iframe to its content and brings it into view after each step.
   A message counts only if it comes from the booking's origin (the origin of this script) AND
   from that iframe's own window: no other frame or script of the page can resize it. Without
   this script the iframe keeps the height written in its tag. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var origin = new URL(script.src).origin;
  var prefix = origin + "/incrustat/";

  function frames() {
    return Array.prototype.filter.call(document.getElementsByTagName("iframe"), function (frame) {
      return frame.src.indexOf(prefix) === 0;
    });
  }

  function hello(frame) {
    // Only once the booking is in the frame: until then its document is ours to read.
    var ours = false;
    try { ours = frame.contentDocument !== null; } catch (e) { ours = false; }
    if (!ours && frame.contentWindow) {
      frame.contentWindow.postMessage({ type: "diba-cita:hello" }, origin);
    }
  }

  frames().forEach(function (frame) {
    frame.addEventListener("load", function () { hello(frame); });
    hello(frame);
  });

  window.addEventListener("message", function (event) {
    if (event.origin !== origin || !event.data) return;
    var frame = frames().filter(function (f) { return f.contentWindow === event.source; })[0];
    if (!frame) return;
    if (event.data.type === "diba-cita:resize") {
      var height = Number(event.data.height);
      if (height > 0 && height < 100000) frame.style.height = Math.ceil(height) + "px";
    } else if (event.data.type === "diba-cita:top") {
      if (frame.getBoundingClientRect().top < 0) frame.scrollIntoView();
    }
  });
})();
