// Portal embed script for staff's own pages (plain JavaScript, no build). The host page:
//   <script src="https://portal.example/embed/embed.js" defer></script>
//   <div data-portal-widget="balance appointments" data-session="es_..."></div>
// The script builds an iframe per element, opens it by posting the embed session's secret
// (never in a URL), resizes it to its content, and raises DOM events on the element:
// portal:ready, portal:resize, portal:confirmed, portal:cancelled, portal:paid, portal:refused.
// It listens only to messages from the portal's origin and from its own frames.
(function () {
  "use strict";
  var script = document.currentScript;
  var portal = new URL(script.src).origin;
  var frames = [];
  function message(el, text) {
    el.textContent = "";
    var p = document.createElement("p");
    p.setAttribute("role", "alert");
    p.textContent = "This view cannot open here. " + text + " ";
    var a = document.createElement("a");
    a.href = portal + "/staff";
    a.target = "_blank";
    a.rel = "noopener";
    a.textContent = "Open in the portal (new tab)";
    p.appendChild(a);
    el.appendChild(p);
  }
  function start(el, n) {
    var secret = el.getAttribute("data-session") || "";
    if (!secret) { message(el, "It has no embed session."); return; }
    el.removeAttribute("data-session");
    var name = "portal-embed-" + n + "-" + Math.random().toString(36).slice(2);
    var frame = document.createElement("iframe");
    frame.name = name;
    frame.title = el.getAttribute("data-title") || "Client portal: " + (el.getAttribute("data-portal-widget") || "widget");
    frame.style.cssText = "display:block;width:100%;border:0;height:" + (el.getAttribute("data-height") || "160") + "px";
    frame.setAttribute("referrerpolicy", "no-referrer");
    el.textContent = "";
    el.appendChild(frame);
    var form = document.createElement("form");
    form.method = "post";
    form.action = portal + "/embed/start";
    form.target = name;
    form.hidden = true;
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = "secret";
    input.value = secret;
    form.appendChild(input);
    el.appendChild(form);
    var entry = { el: el, frame: frame, ready: false };
    frames.push(entry);
    form.submit();
    form.remove();
    // A frame the browser refused to show (an origin not allowed) never says it is ready.
    setTimeout(function () {
      if (!entry.ready) {
        message(el, "This site may not show the portal, or the portal did not answer.");
        el.dispatchEvent(new CustomEvent("portal:refused", { bubbles: true }));
      }
    }, Number(el.getAttribute("data-timeout") || 10000));
  }
  window.addEventListener("message", function (e) {
    if (e.origin !== portal || !e.data || e.data.portal !== 1) return;
    var entry = frames.find(function (f) { return f.frame.contentWindow === e.source; });
    if (!entry || typeof e.data.type !== "string" || e.data.type.indexOf("portal:") !== 0) return;
    var detail = e.data.detail && typeof e.data.detail === "object" ? e.data.detail : {};
    if (e.data.type === "portal:ready" || e.data.type === "portal:refused") entry.ready = true;
    if (e.data.type === "portal:resize") {
      var h = Number(detail.height);
      if (h > 0 && h < 10000) entry.frame.style.height = h + "px";
    }
    entry.el.dispatchEvent(new CustomEvent(e.data.type, { bubbles: true, detail: detail }));
  });
  function init() {
    document.querySelectorAll("[data-portal-widget][data-session]").forEach(start);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
