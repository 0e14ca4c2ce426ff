// Inside an embedded portal frame (/embed/start): tell the host page (and only the origin
// the embed session names) the frame's height, that it is ready, and what was done.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="portal-host-origin"]');
  var host = meta && meta.content;
  if (!host || window.parent === window) return;
  function tell(type, detail) { window.parent.postMessage({ portal: 1, type: type, detail: detail || {} }, host); }
  var last = 0;
  function size() {
    var h = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (h !== last) { last = h; tell("portal:resize", { height: h }); }
  }
  new ResizeObserver(size).observe(document.documentElement);
  ["portal:confirmed", "portal:cancelled", "portal:paid"].forEach(function (name) {
    document.addEventListener(name, function (e) {
      var detail = {};
      for (var k in e.detail || {}) if (k !== "target") detail[k] = e.detail[k];
      tell(name, detail);
    });
  });
  // After a swap, focus what the widget says (its notice or alert), never the page's body.
  document.addEventListener("htmx:after:swap", function () {
    var said = document.querySelector(".pe-card [data-pe-focus]");
    if (said) said.focus();
  });
  tell(document.querySelector("[data-portal-refused]") ? "portal:refused" : "portal:ready");
  size();
})();
