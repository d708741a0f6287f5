/* stripe_sandbox: a stand-in for Stripe.js v3, served by the local sandbox.
 * It mounts plain inputs for card, US bank account and IBAN, and confirms SetupIntents against the
 * sandbox's API with the publishable key, returning what Stripe.js returns: {setupIntent} or {error}.
 * Never load this against real Stripe: it sends raw card numbers (test numbers only) to the sandbox.
 */
(function () {
  "use strict";
  var scriptSrc = (document.currentScript && document.currentScript.src) || "";
  var API = scriptSrc ? scriptSrc.replace(/\/v3\/.*$/, "") : "http://127.0.0.1:12111";

  function encode(obj, prefix, out) {
    out = out || [];
    Object.keys(obj).forEach(function (key) {
      var value = obj[key];
      var name = prefix ? prefix + "[" + key + "]" : key;
      if (value === undefined || value === null || value === "") return;
      if (typeof value === "object") encode(value, name, out);
      else out.push(encodeURIComponent(name) + "=" + encodeURIComponent(value));
    });
    return out.join("&");
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }

  function field(label, name, placeholder, autocomplete) {
    var input = el("input", {name: name, placeholder: placeholder || "", autocomplete: autocomplete || "off",
                             "data-sandbox-field": name, "aria-label": label, type: "text"});
    return {wrap: el("label", {class: "sandbox-field"}, [el("span", {}, [label]), input]), input: input};
  }

  function choice(label, name, options) {
    var select = el("select", {name: name, "data-sandbox-field": name, "aria-label": label});
    options.forEach(function (o) { select.appendChild(el("option", {value: o[0]}, [o[1]])); });
    return {wrap: el("label", {class: "sandbox-field"}, [el("span", {}, [label]), select]), input: select};
  }

  var LABELS = {card: "Card", us_bank_account: "US bank account", sepa_debit: "SEPA Direct Debit", bacs_debit: "Bacs Direct Debit"};

  function Element(type, options, stripe) {
    this.type = type;
    this.options = options || {};
    this.stripe = stripe;
    this.inputs = {};
    this.tab = type === "payment" ? "card" : type;
    this.listeners = {};
  }
  Element.prototype.on = function (event, handler) { (this.listeners[event] = this.listeners[event] || []).push(handler); return this; };
  Element.prototype.emit = function (event, payload) { (this.listeners[event] || []).forEach(function (h) { h(payload); }); };
  Element.prototype.mount = function (target) {
    var root = typeof target === "string" ? document.querySelector(target) : target;
    if (!root) throw new Error("stripe_sandbox: mount target not found: " + target);
    root.innerHTML = "";
    root.classList.add("sandbox-element");
    var self = this;
    var panels = {
      card: [field("Card number", "number", "4242 4242 4242 4242", "cc-number"),
             field("Expiry (MM/YY)", "exp", "12/34", "cc-exp"), field("CVC", "cvc", "123", "cc-csc")],
      us_bank_account: [field("Account holder", "holder", "Jenny Rosen", "name"),
                        field("Routing number", "routing", "110000000"),
                        field("Account number", "account", "000123456789"),
                        choice("Verify the account", "verification", [["instant", "Instantly, by signing in to the bank (test bank)"],
                                                                       ["microdeposits", "With micro-deposits (1–2 business days)"]])],
      sepa_debit: [field("IBAN", "iban", "DE89 3704 0044 0532 0130 00")],
      bacs_debit: [field("Sort code", "sort_code", "10-88-00"), field("Account number", "account", "00012345")],
      iban: [field("IBAN", "iban", "DE89 3704 0044 0532 0130 00")]
    };
    var body = el("div", {class: "sandbox-panel"});
    function start(kinds) {
      self.tab = kinds[0];
      if (kinds.length > 1) {
        var tabs = el("div", {class: "sandbox-tabs", role: "tablist"});
        kinds.forEach(function (kind) {
          var button = el("button", {type: "button", role: "tab", "data-kind": kind}, [LABELS[kind] || kind]);
          button.addEventListener("click", function () { self.tab = kind; render(); self.emit("change", {value: {type: kind}}); });
          tabs.appendChild(button);
        });
        root.appendChild(tabs);
      }
      root.appendChild(body);
      render();
      self.emit("ready", {});
    }
    function render() {
      body.innerHTML = "";
      self.inputs = {};
      (panels[self.tab] || []).forEach(function (f) { body.appendChild(f.wrap); self.inputs[f.input.name] = f.input; });
      Array.prototype.forEach.call(root.querySelectorAll("[role=tab]"), function (b) {
        b.setAttribute("aria-selected", b.getAttribute("data-kind") === self.tab ? "true" : "false");
      });
    }
    var secret = this.type === "payment" && !this.options.paymentMethodTypes && this.stripe && this.stripe._clientSecret;
    if (secret) {
      // As Stripe's Payment Element does with `elements({clientSecret})`: the intent says what to show.
      this.stripe._retrieve(secret).then(function (intent) { start(intent.payment_method_types || ["card"]); },
                                         function () { start(["card"]); });
    } else {
      start(this.type === "payment" ? (this.options.paymentMethodTypes || ["card", "us_bank_account", "sepa_debit"]) : [this.type]);
    }
    return this;
  };
  Element.prototype.value = function (name) { return (this.inputs[name] && this.inputs[name].value || "").trim(); };
  Element.prototype.paymentMethodData = function (billing) {
    var kind = this.tab === "iban" ? "sepa_debit" : this.tab;
    if (kind === "card") {
      var exp = this.value("exp").split("/");
      return {type: "card", card: {number: this.value("number").replace(/\s+/g, ""), exp_month: exp[0], exp_year: exp[1] ? "20" + exp[1].slice(-2) : "",
              cvc: this.value("cvc")}, billing_details: billing || {}};
    }
    if (kind === "us_bank_account") {
      return {type: "us_bank_account", us_bank_account: {routing_number: this.value("routing"), account_number: this.value("account"),
              account_holder_type: "company"}, billing_details: Object.assign({name: this.value("holder")}, billing || {})};
    }
    if (kind === "bacs_debit") {
      return {type: "bacs_debit", bacs_debit: {sort_code: this.value("sort_code").replace(/[\s-]+/g, ""), account_number: this.value("account")},
              billing_details: billing || {}};
    }
    return {type: "sepa_debit", sepa_debit: {iban: this.value("iban").replace(/\s+/g, "")}, billing_details: billing || {}};
  };
  Element.prototype.clear = function () { Object.keys(this.inputs).forEach(function (k) { this.inputs[k].value = ""; }, this); };
  Element.prototype.destroy = function () {};
  Element.prototype.unmount = function () {};

  function Stripe(key) {
    if (!(this instanceof Stripe)) return new Stripe(key);
    if (!/^pk_test_/.test(key || "")) throw new Error("stripe_sandbox accepts test publishable keys (pk_test_…) only");
    this.key = key;
    this._elements = [];
  }
  Stripe.prototype.elements = function (options) {
    var stripe = this;
    if (options && options.clientSecret) stripe._clientSecret = options.clientSecret;
    return {
      create: function (type, opts) { var e = new Element(type, Object.assign({}, options || {}, opts || {}), stripe); stripe._elements.push(e); return e; },
      getElement: function (type) { return stripe._elements.filter(function (e) { return e.type === type; })[0] || null; },
      submit: function () { return Promise.resolve({}); }
    };
  };
  Stripe.prototype._confirm = function (clientSecret, data) {
    var id = (clientSecret || "").split("_secret_")[0];
    var body = encode(Object.assign({client_secret: clientSecret}, data));
    return fetch(API + "/v1/setup_intents/" + id + "/confirm", {
      method: "POST", body: body,
      headers: {"Authorization": "Bearer " + this.key, "Content-Type": "application/x-www-form-urlencoded"}
    }).then(function (response) {
      return response.json().then(function (json) {
        if (!response.ok) return {error: json.error || {message: "The payment method could not be saved."}};
        return {setupIntent: json};
      });
    }).catch(function () { return {error: {type: "api_connection_error", message: "Could not reach the payment service."}}; });
  };
  Stripe.prototype._retrieve = function (clientSecret) {
    var id = (clientSecret || "").split("_secret_")[0];
    return fetch(API + "/v1/setup_intents/" + id + "?client_secret=" + encodeURIComponent(clientSecret), {
      headers: {"Authorization": "Bearer " + this.key}
    }).then(function (response) { return response.json(); });
  };
  function dataFrom(element, pm, fallbackBilling) {
    if (typeof pm === "string") return {payment_method: pm};
    return {payment_method_data: element.paymentMethodData((pm && pm.billing_details) || fallbackBilling)};
  }
  Stripe.prototype.confirmCardSetup = function (clientSecret, data) {
    var pm = (data || {}).payment_method || {};
    var element = pm.card || this._elements.filter(function (e) { return e.type === "card" || e.type === "payment"; })[0];
    return this._confirm(clientSecret, dataFrom(element, typeof pm === "string" ? pm : pm));
  };
  Stripe.prototype.confirmUsBankAccountSetup = function (clientSecret, data) {
    var pm = (data || {}).payment_method || {};
    if (typeof pm === "string") return this._confirm(clientSecret, {payment_method: pm, mandate_data: {customer_acceptance: {type: "online"}}});
    var bank = pm.us_bank_account || {};
    return this._confirm(clientSecret, {payment_method_data: {type: "us_bank_account", billing_details: pm.billing_details || {},
      us_bank_account: {routing_number: bank.routing_number, account_number: bank.account_number,
                        account_holder_type: bank.account_holder_type || "company"}},
      mandate_data: {customer_acceptance: {type: "online", online: {ip_address: "127.0.0.1", user_agent: navigator.userAgent}}}});
  };
  Stripe.prototype.confirmSepaDebitSetup = function (clientSecret, data) {
    var pm = (data || {}).payment_method || {};
    if (typeof pm === "string") return this._confirm(clientSecret, {payment_method: pm});
    var source = pm.sepa_debit;
    var iban = source && source.paymentMethodData ? source.paymentMethodData().sepa_debit.iban : (source || {}).iban;
    return this._confirm(clientSecret, {payment_method_data: {type: "sepa_debit", sepa_debit: {iban: iban}, billing_details: pm.billing_details || {}},
      mandate_data: {customer_acceptance: {type: "online", online: {ip_address: "127.0.0.1", user_agent: navigator.userAgent}}}});
  };
  Stripe.prototype.confirmSetup = function (args) {
    args = args || {};
    var element = this._elements.filter(function (e) { return e.type === "payment"; })[0] || this._elements[0];
    var billing = ((args.confirmParams || {}).payment_method_data || {}).billing_details;
    var data = {payment_method_data: element.paymentMethodData(billing)};
    if (data.payment_method_data.type !== "card") data.mandate_data = {customer_acceptance: {type: "online", online: {ip_address: "127.0.0.1", user_agent: navigator.userAgent}}};
    if (data.payment_method_data.type === "us_bank_account") {
      data.payment_method_options = {us_bank_account: {verification_method: element.value("verification") || "instant"}};
    }
    var result = this._confirm(args.clientSecret || this._clientSecret, data);
    var returnUrl = (args.confirmParams || {}).return_url;
    if (args.redirect === "if_required" || !returnUrl) return result;
    return result.then(function (r) { if (r.setupIntent) window.location.assign(returnUrl + (returnUrl.indexOf("?") < 0 ? "?" : "&") + "setup_intent=" + r.setupIntent.id); return r; });
  };
  // Local methods (stripe_sandbox/engine/local_methods.py): the account details as plain values in
  // `payment_method`; iDEAL and Bancontact "redirect" at once and save a SEPA Direct Debit method.
  function localSetup(kind) {
    return function (clientSecret, data) {
      var pm = (data || {}).payment_method || {};
      if (typeof pm === "string") return this._confirm(clientSecret, {payment_method: pm, mandate_data: {customer_acceptance: {type: "online", online: {ip_address: "127.0.0.1", user_agent: navigator.userAgent}}}});
      var pmData = {type: kind, billing_details: pm.billing_details || {}};
      pmData[kind] = pm[kind] || {};
      return this._confirm(clientSecret, {payment_method_data: pmData,
        mandate_data: {customer_acceptance: {type: "online", online: {ip_address: "127.0.0.1", user_agent: navigator.userAgent}}}});
    };
  }
  Stripe.prototype.confirmAuBecsDebitSetup = localSetup("au_becs_debit");
  Stripe.prototype.confirmAcssDebitSetup = localSetup("acss_debit");
  Stripe.prototype.confirmIdealSetup = localSetup("ideal");
  Stripe.prototype.confirmBancontactSetup = localSetup("bancontact");
  window.Stripe = Stripe;
})();
