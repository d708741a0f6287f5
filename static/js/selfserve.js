/* Adding a payment method: Stripe.js (Stripe's own with real keys, the sandbox's stand-in offline)
 * mounts its Payment Element for the SetupIntent and confirms it in the browser; card and bank
 * details never pass through the portal. On success the page posts the SetupIntent's id back. */
(function () {
  "use strict";
  var form = document.querySelector("[data-stripe-setup]");
  if (!form || typeof Stripe === "undefined") return;
  var stripe = Stripe(form.dataset.key);
  var elements = stripe.elements({clientSecret: form.dataset.secret});
  var billing = {name: form.dataset.name, email: form.dataset.email};
  var payment = elements.create("payment", {defaultValues: {billingDetails: billing}});
  payment.mount("#payment-element");
  var error = document.getElementById("setup-error");
  var button = document.getElementById("setup-submit");

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    error.hidden = true;
    stripe.confirmSetup({
      elements: elements,
      confirmParams: {return_url: form.dataset.returnUrl, payment_method_data: {billing_details: billing}},
      redirect: "if_required"
    }).then(function (result) {
      if (result.error) {
        error.textContent = result.error.message || "The payment method was not saved.";
        error.hidden = false;
        button.disabled = false;
        return;
      }
      document.getElementById("setup-done-default").value = document.getElementById("make-default").checked ? "on" : "";
      document.getElementById("setup-done").submit();
    });
  });
})();
