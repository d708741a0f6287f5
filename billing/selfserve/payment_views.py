"""Payment methods: add one through Stripe.js and a SetupIntent (card, US bank account, SEPA or Bacs
Direct Debit, as the organisation's country and currency allow), verify a bank account by
micro-deposits, make one the default, remove one no subscription uses.

Stripe.js is Stripe's own (`js.stripe.com/v3`) with real keys and the sandbox's stand-in offline:
`settings.STRIPE_JS_URL` chooses, the templates never do."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from djstripe.models import Customer

from accounts.access import billing_admin_required
from accounts.models import Membership
from billing.customers import payment_methods as services
from billing.customers.requests import CustomerRequestError
from billing.selfserve import selectors
from billing.selfserve.forms import VerifyForm
from billing.selfserve.views import request_id

MANDATE_TEXT = {
    "sepa_debit": (
        "By providing your payment information and confirming, you authorise {company} and Stripe, our payment "
        "service provider, to send instructions to your bank to debit your account, and your bank to debit your "
        "account in accordance with those instructions. You are entitled to a refund from your bank under the "
        "terms and conditions of your agreement with your bank; a refund must be claimed within 8 weeks starting "
        "from the date on which your account was debited."
    ),
    "bacs_debit": (
        "By confirming, you set up a Direct Debit Instruction with {company} and confirm that you are the account "
        "holder and the only person required to authorise debits from this account. Payments are protected by "
        "the Direct Debit Guarantee; Stripe emails you the mandate."
    ),
    "us_bank_account": (
        "By confirming, you authorise {company} to debit the bank account for any amount owed for charges arising "
        "from your use of our services, until this authorisation is revoked. You can change or cancel it at any "
        "time by removing the account here, or by contacting us."
    ),
}
COMPANY = "Billing Portal Inc."
# Shown on the sandbox only: Stripe's test values the stand-in accepts.
TEST_VALUES = {
    "card": "Sandbox: 4242 4242 4242 4242 is accepted, 4000 0000 0000 0002 is declined; any future expiry and CVC.",
    "us_bank_account": "Sandbox: routing 110000000, account 000123456789; with micro-deposits the code is SM11AA.",
    "sepa_debit": "Sandbox: IBAN DE89 3704 0044 0532 0130 00 (DE62 3704 0044 0532 0130 01 accepts, then fails to pay).",
    "bacs_debit": "Sandbox: sort code 10-88-00, account 00012345 (90012345 accepts, then fails to pay).",
}


@billing_admin_required
def payment_methods(request: HttpRequest, membership: Membership) -> HttpResponse:
    context = selectors.payment_methods_page(organisation=membership.organisation)
    context.update(organisation=membership.organisation, membership=membership)
    return render(request, "selfserve/payment_methods.html", context)


@billing_admin_required
def payment_method_add(request: HttpRequest, membership: Membership) -> HttpResponse:
    """Choose the kind of method (GET), then start its SetupIntent (POST) and go to the Stripe.js page."""
    organisation = membership.organisation
    offered = services.methods_offered(organisation)
    if request.method == "POST":
        rid = request_id(request)
        try:
            if rid is None:
                raise CustomerRequestError("This form is out of date: try again.")
            setup = services.setup_start(
                organisation=organisation, method_type=request.POST.get("type", ""), request_id=rid, actor=request.user
            )
        except CustomerRequestError as error:
            messages.error(request, str(error))
            return redirect("selfserve:payment_method_add")
        return redirect("selfserve:payment_method_setup", setup_intent_id=setup["id"])
    context = {
        "organisation": organisation,
        "membership": membership,
        "offered": offered,
        "currency": services.billing_currency(organisation),
    }
    return render(request, "selfserve/payment_method_add.html", context)


def _setup_intent(membership: Membership, setup_intent_id: str) -> dict:
    try:
        return services.setup_intent_for(membership.organisation, setup_intent_id)
    except services.NotYours:
        raise Http404("No such setup intent") from None


@billing_admin_required
def payment_method_setup(request: HttpRequest, membership: Membership, setup_intent_id: str) -> HttpResponse:
    """Stripe.js mounts its Payment Element for the SetupIntent and confirms it in the browser."""
    try:
        setup = _setup_intent(membership, setup_intent_id)
    except CustomerRequestError as error:
        messages.error(request, str(error))
        return redirect("selfserve:payment_methods")
    if setup.get("status") == "succeeded":
        return redirect(f"{reverse('selfserve:payment_method_saved')}?setup_intent={setup['id']}")
    kind = (setup.get("payment_method_types") or ["card"])[0]
    organisation = membership.organisation
    context = {
        "organisation": organisation,
        "membership": membership,
        "setup": setup,
        "kind": kind,
        "label": next((m.label for m in services.methods_offered(organisation) if m.type == kind), kind),
        "test_values": TEST_VALUES.get(kind) if settings.STRIPE_USES_SANDBOX else None,
        "mandate_text": MANDATE_TEXT.get(kind, "").format(company=COMPANY),
        "STRIPE_JS_URL": settings.STRIPE_JS_URL,
        "STRIPE_PUBLISHABLE_KEY": settings.STRIPE_PUBLISHABLE_KEY,
        "return_url": request.build_absolute_uri(reverse("selfserve:payment_method_saved")),
        "billing_name": _billing_name(organisation),
        "billing_email": organisation.billing_email,
    }
    return render(request, "selfserve/payment_method_setup.html", context)


def _billing_name(organisation) -> str:
    customer = Customer.objects.filter(id=organisation.stripe_customer_id).values_list("stripe_data", flat=True).first()
    return (customer or {}).get("name") or organisation.name


@billing_admin_required
def payment_method_saved(request: HttpRequest, membership: Membership) -> HttpResponse:
    """Where Stripe.js sends the browser after confirming (POST from the page, or GET as a return_url)."""
    params = request.POST if request.method == "POST" else request.GET
    setup_intent_id = params.get("setup_intent", "")
    try:
        outcome = services.setup_finish(
            organisation=membership.organisation,
            setup_intent_id=setup_intent_id,
            make_default=request.method == "POST" and params.get("make_default") == "on",
            actor=request.user,
        )
    except services.NotYours:
        raise Http404("No such setup intent") from None
    except CustomerRequestError as error:
        messages.error(request, str(error))
        return redirect("selfserve:payment_methods")
    if outcome.status == "verify":
        return redirect("selfserve:payment_method_verify", setup_intent_id=setup_intent_id)
    if outcome.status == "failed":
        messages.error(request, outcome.message)
        return redirect("selfserve:payment_methods")
    messages.success(request, "Payment method saved.")
    return redirect("selfserve:payment_methods")


@billing_admin_required
def payment_method_verify(request: HttpRequest, membership: Membership, setup_intent_id: str) -> HttpResponse:
    """ACH by micro-deposits: the customer types the code (or the two amounts) from their statement."""
    try:
        setup = _setup_intent(membership, setup_intent_id)
    except CustomerRequestError as error:
        messages.error(request, str(error))
        return redirect("selfserve:payment_methods")
    if setup.get("status") == "succeeded":
        messages.info(request, "This bank account is already verified.")
        return redirect("selfserve:payment_methods")
    form = VerifyForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        rid = request_id(request)
        try:
            if rid is None:
                raise CustomerRequestError("This form is out of date: try again.")
            outcome = services.microdeposits_verify(
                organisation=membership.organisation,
                setup_intent_id=setup["id"],
                descriptor_code=form.cleaned_data["descriptor_code"],
                amounts=[form.cleaned_data["amount_1"], form.cleaned_data["amount_2"]],
                request_id=rid,
                actor=request.user,
            )
        except CustomerRequestError as error:
            form.add_error(None, str(error))
            status = 400
            try:
                setup = services.setup_intent_for(membership.organisation, setup["id"])
            except CustomerRequestError:
                pass
        else:
            if outcome.status == "saved":
                messages.success(request, "Bank account verified and saved.")
                return redirect("selfserve:payment_methods")
            form.add_error(None, outcome.message)
            status = 400
    if setup.get("status") == "requires_payment_method":
        messages.error(
            request,
            (setup.get("last_setup_error") or {}).get("message")
            or "This bank account could not be verified. Add it again, or use another method.",
        )
        return redirect("selfserve:payment_methods")
    action = (setup.get("next_action") or {}).get("verify_with_microdeposits") or {}
    context = {
        "organisation": membership.organisation,
        "membership": membership,
        "setup": setup,
        "form": form,
        "microdeposit_type": action.get("microdeposit_type") or "descriptor_code",
        "arrival_date": action.get("arrival_date"),
    }
    return render(request, "selfserve/payment_method_verify.html", context, status=status)


@require_POST
@billing_admin_required
def payment_method_default(request: HttpRequest, membership: Membership, payment_method_id: str) -> HttpResponse:
    return _method_action(
        request, membership, payment_method_id, services.payment_method_set_default, "Default payment method changed."
    )


@require_POST
@billing_admin_required
def payment_method_remove(request: HttpRequest, membership: Membership, payment_method_id: str) -> HttpResponse:
    return _method_action(
        request, membership, payment_method_id, services.payment_method_remove, "Payment method removed."
    )


def _method_action(request: HttpRequest, membership: Membership, payment_method_id: str, service, done: str):
    """One of the organisation's own payment methods, one request (its key goes to Stripe)."""
    rid = request_id(request)
    try:
        if rid is None:
            raise CustomerRequestError("This form is out of date: try again.")
        service(
            organisation=membership.organisation,
            payment_method_id=payment_method_id,
            request_id=rid,
            actor=request.user,
        )
    except services.NotYours:
        raise Http404("No such payment method") from None
    except CustomerRequestError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, done)
    return redirect("selfserve:payment_methods")
