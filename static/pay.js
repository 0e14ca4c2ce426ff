/* Stripe Elements for a new card. The card number goes from Stripe's field straight to
   Stripe; this server only ever sees the SetupIntent id. Without JavaScript the forms
   still work with saved cards; what needs a new card stays hidden (data-needs-stripe). */
(function () {
  "use strict";
  var stripe = null;
  var cards = new WeakMap();

  function stripeFor(form) {
    if (!stripe && window.Stripe && form.dataset.stripeKey) stripe = window.Stripe(form.dataset.stripeKey);
    return stripe;
  }

  function mount(form) {
    var slot = form.querySelector(".card-element");
    if (!slot || cards.has(form) || !stripeFor(form)) return;
    var card = stripe.elements().create("card");
    card.mount(slot);
    cards.set(form, card);
    showNewCard(form);
  }

  /* What needs Stripe's field stays hidden until it is mounted (without JavaScript, or
     without Stripe.js, a new card cannot be entered); the note saying so goes then. */
  function showNewCard(form) {
    var scope = form.closest("section") || form;
    [form].concat(Array.prototype.slice.call(scope.querySelectorAll("[data-needs-stripe]"))).forEach(function (el) {
      if (el.hasAttribute("data-needs-stripe")) el.hidden = false;
    });
    Array.prototype.forEach.call(scope.querySelectorAll("[data-without-stripe]"), function (el) {
      el.hidden = true;
    });
  }

  function say(form, text) {
    var box = form.querySelector(".js-error");
    if (!box) {
      box = document.createElement("div");
      box.className = "alert js-error";
      box.setAttribute("role", "alert");
      form.insertBefore(box, form.firstChild);
    }
    box.textContent = text;
  }

  function busy(form, on) {
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = on;
  }

  function wantsNewCard(form) {
    if (form.id === "add-card") return true;
    var chosen = form.querySelector("input[name=card]:checked");
    return chosen && chosen.value === "new";
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if ((form.id !== "pay" && form.id !== "add-card") || !wantsNewCard(form)) return;
    if (form.dataset.setupDone === "1") return; /* card set up: let the form post */
    event.preventDefault();
    event.stopImmediatePropagation();
    var card = cards.get(form);
    if (!card) { say(form, "The card form is still loading. Please try again."); return; }
    busy(form, true);
    var token = form.querySelector("input[name=_csrf_token]");
    fetch(form.dataset.setupUrl, {
      method: "POST",
      body: new FormData(form),
      headers: token ? {"x-csrftoken": token.value} : {},
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (data) { return {ok: response.ok, data: data}; });
    }).then(function (answer) {
      if (!answer.ok) throw new Error(answer.data.error || "Please check the form.");
      return stripe.confirmCardSetup(answer.data.client_secret, {payment_method: {card: card}});
    }).then(function (result) {
      if (result.error) throw new Error(result.error.message || "The card was not accepted.");
      form.querySelector("input[name=setup_intent]").value = result.setupIntent.id;
      form.dataset.setupDone = "1";
      busy(form, false);
      form.requestSubmit(); /* as the user would have: htmx takes it when it is there */
    }).catch(function (error) {
      busy(form, false);
      say(form, error.message);
    });
  }, true);

  function authenticate(note) {
    var secret = note.dataset.clientSecret;
    var form = document.getElementById("pay");
    if (!secret || !form || note.dataset.started || !stripeFor(form)) return;
    note.dataset.started = "1";
    stripe.confirmCardPayment(secret).then(function () {
      window.location.href = "/pay/return?payment_intent=" + encodeURIComponent(secret.split("_secret_")[0]);
    });
  }

  function init() {
    ["pay", "add-card"].forEach(function (id) {
      var form = document.getElementById(id);
      if (form) mount(form);
    });
    var note = document.getElementById("pay-action");
    if (note) authenticate(note);
  }

  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:after:swap", init);
  if (document.readyState !== "loading") init();
})();
