// After every htmx swap: say what happened, and put focus where the change is.
// - The swapped content's message ([role=alert] first, else [role=status]) is copied
//   into the page's one live region (#announce, in the layout), so it is announced.
// - After a submit or click, an error summary (.alert[role=alert]) takes focus: after a
//   422 the user lands on what to fix, not on a Submit button below the fold.
// - When the swap took the focused element away, or a submit or click elsewhere changed
//   this content, focus goes to its message, else to the swapped element itself
//   (tabindex=-1 is added when missing). Focus htmx put back by id stays where it is.
// - Other swaps (a select's change, a widget refreshing itself) leave focus alone.
// - A page that loads with a message in <main> (the error summary first, else a status)
//   announces and focuses it: what a plain post's answer or redirect came to say.
// - Plain form posts (no hx-post) look busy like htmx requests and are not sent twice.
(() => {
  const live = () => document.getElementById("announce");
  let timer;

  function announce(text) {
    const region = live();
    if (!region || !text) return;
    region.textContent = "";
    clearTimeout(timer); // a repeated message is announced again
    timer = setTimeout(() => { region.textContent = text; }, 100);
  }

  window.portal = { announce }; // for scripts that swap without htmx (upload.js)

  const text = (el) => el.textContent.replace(/\s+/g, " ").trim();

  function focusOn(el) {
    if (!el.hasAttribute("tabindex") && !el.matches("a[href],button,input,select,textarea,summary")) {
      el.setAttribute("tabindex", "-1");
    }
    el.focus();
  }

  document.addEventListener("htmx:after:swap", (ev) => {
    const ctx = ev.detail && ev.detail.ctx;
    let root = ctx && ctx.target;
    if (root && !root.isConnected) root = root.id && document.getElementById(root.id);
    if (!root || !root.isConnected) root = ev.target;
    if (!(root instanceof Element) || root === document.body) return;
    const sel = "[role=alert], [role=status]";
    const message = root.querySelector("[role=alert]") || root.querySelector(sel) || (root.matches(sel) ? root : null);
    if (message) announce(text(message));
    const type = ctx && ctx.sourceEvent && ctx.sourceEvent.type;
    const acted = type === "submit" || type === "click";
    const active = document.activeElement;
    const lost = !active || active === document.body || !active.isConnected;
    const summary = message && message.matches(".alert[role=alert]") ? message : null;
    if (summary && acted) focusOn(summary);
    else if (lost || (acted && !root.contains(active))) {
      focusOn(message && !message.closest("[hidden]") ? message : root);
    }
  });

  // A page's own message (after a plain post: a refusal, or what was done), as after a swap.
  const main = document.getElementById("main");
  const said = main && (main.querySelector(".alert[role=alert]") || main.querySelector("[role=status]"));
  if (said && !said.closest("[hidden]")) { announce(text(said)); focusOn(said); }

  // A plain post: busy until the next page comes, a second press ignored. After 10 s (a
  // download that left the page as it was, a stopped load) it may be sent again.
  const idle = (form) => form.removeAttribute("aria-busy");
  document.addEventListener("submit", (ev) => {
    const form = ev.target;
    if (ev.defaultPrevented || form.hasAttribute("hx-post") || form.method === "get") return;
    if (form.hasAttribute("aria-busy")) { ev.preventDefault(); return; }
    form.setAttribute("aria-busy", "true");
    setTimeout(() => idle(form), 10000);
  });

  // Print buttons: hidden in the markup, shown here (without this script the browser's own
  // Print command is the way, and the page says so).
  for (const button of document.querySelectorAll("button[data-print]")) {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }

  // Back to a page kept in the back/forward cache: not busy any more.
  window.addEventListener("pageshow", () => {
    for (const form of document.querySelectorAll("form[aria-busy]")) idle(form);
  });
})();
