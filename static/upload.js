/* Upload progress for forms marked `data-upload` (My Messages).
 *
 * Without this file the form is a plain multipart POST and works as it is. With it, the
 * form is sent with XMLHttpRequest (fetch, which htmx 4 uses, reports no upload progress),
 * a <progress> shows how far the upload got, and the server's answer (it sees HX-Request)
 * replaces the element named by `data-target`; an HX-Redirect answer is followed.
 * Files over the size limit, or too many, are refused here before a byte is sent.
 */
(function () {
  "use strict";
  if (!window.XMLHttpRequest || !window.FormData || !document.querySelector) return;

  function mb(bytes) { return Math.round(bytes / 1048576) + " MB"; }

  function fileInput(form) { return form.querySelector("input[type=file][data-max-bytes]"); }

  function say(form, text) {
    var out = form.querySelector("[data-upload-check]");
    if (out) out.textContent = text;
  }

  // The size and count limits, checked before anything is sent; "" when all is well.
  function problem(input) {
    if (!input || !input.files) return "";
    var maxBytes = parseInt(input.getAttribute("data-max-bytes"), 10);
    var maxFiles = parseInt(input.getAttribute("data-max-files"), 10);
    if (input.files.length > maxFiles) return "Attach at most " + maxFiles + " files to one message.";
    for (var i = 0; i < input.files.length; i++) {
      var f = input.files[i];
      if (f.size > maxBytes) return "\u201c" + f.name + "\u201d is larger than " + mb(maxBytes) + ". Attach a smaller file.";
    }
    return "";
  }

  function check(form) {
    var input = fileInput(form);
    var text = problem(input);
    say(form, text);
    if (input) {
      if (text) input.setAttribute("aria-invalid", "true");
      else if (!form.querySelector("#" + input.id + "-error")) input.removeAttribute("aria-invalid");
    }
    return !text;
  }

  function busy(form, on) {
    var status = form.querySelector(".upload-status");
    var button = form.querySelector("button[type=submit]");
    if (status) status.hidden = !on;
    if (button) button.disabled = on;
    if (on) form.setAttribute("data-sending", "");
    else form.removeAttribute("data-sending");
  }

  function progress(form, fraction) {
    var bar = form.querySelector(".upload-status progress");
    var pct = form.querySelector("[data-upload-percent]");
    var value = Math.round(fraction * 100);
    if (bar) bar.value = value;
    // Announce in steps of 25 %, not every event.
    if (pct && (value === 100 || value - (pct.getAttribute("data-last") | 0) >= 25)) {
      pct.setAttribute("data-last", value);
      pct.textContent = value + "%";
    }
  }

  function focusFirst(root) {
    var el = root.querySelector("[role=alert], [role=status]");
    if (!el) return;
    el.setAttribute("tabindex", "-1");
    el.focus();
  }

  function swap(target, html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    var fresh = template.content.firstElementChild;
    target.replaceWith(template.content);
    if (!fresh) return;
    if (window.htmx && window.htmx.process) window.htmx.process(fresh);
    focusFirst(fresh);
    // The page's live region (portal.js) says what happened, as after an htmx swap.
    var message = fresh.querySelector("[role=alert], [role=status]");
    if (message && window.portal && window.portal.announce) window.portal.announce(message.textContent);
  }

  function sameSite(url) { return url.charAt(0) === "/" && url.charAt(1) !== "/" && url.charAt(1) !== "\\"; }

  function send(form) {
    var target = document.querySelector(form.getAttribute("data-target"));
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("HX-Request", "true");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) progress(form, e.loaded / e.total);
    });
    xhr.addEventListener("load", function () {
      var redirect = xhr.getResponseHeader("HX-Redirect");
      if (redirect && sameSite(redirect)) {
        window.location.assign(redirect);
        return;
      }
      // 200: done; 422: the form again with its errors and the typed text.
      if ((xhr.status === 200 || xhr.status === 422) && target && xhr.responseText) {
        swap(target, xhr.responseText);
        return;
      }
      busy(form, false);
      say(form, "Your message was not sent (the server answered " + xhr.status + "). Your text is still here: try again.");
    });
    function failed() {
      busy(form, false);
      say(form, "Your message was not sent: the connection failed. Your text is still here: try again.");
    }
    xhr.addEventListener("error", failed);
    xhr.addEventListener("timeout", failed);
    progress(form, 0);
    busy(form, true);
    xhr.send(new FormData(form));
  }

  document.addEventListener("change", function (e) {
    var input = e.target;
    if (input && input.form && input.form.hasAttribute("data-upload") && input.type === "file") check(input.form);
  });

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-upload")) return;
    e.preventDefault();
    if (form.hasAttribute("data-sending")) return;
    if (!check(form)) {
      var input = fileInput(form);
      if (input) input.focus();
      return;
    }
    send(form);
  });
})();
