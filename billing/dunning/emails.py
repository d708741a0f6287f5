"""Dunning emails: templates with `{{ placeholder }}` fields, rendered once per case and step, sent
through Django's email backend (the console under `make run`, SMTP where EMAIL_URL says so).

Templates are plain text with named fields only (no template language): what finance types is
what the customer reads, with the fields below filled in.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from billing.dunning.models import Case, DunningEmail, EmailTemplate
from billing.money import format_money
from billing.stripe import queue

PLACEHOLDERS = {
    "organisation": "The customer's name",
    "invoice_number": "The invoice's number",
    "amount": "The amount due, with its currency",
    "hosted_invoice_url": "Stripe's page where the invoice can be paid",
    "update_payment_method_url": "The self-serve page to change the payment method",
    "attempt": "How many attempts were made so far",
    "next_attempt_date": "The date of the next attempt",
    "final_action": "What happens when the last attempt fails",
}
_FIELD = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")

DEFAULT_TEMPLATES = {
    "payment-failed": (
        "Payment failed",
        "We could not collect payment for invoice {{ invoice_number }}",
        "Hello {{ organisation }},\n\nWe tried to collect {{ amount }} for invoice {{ invoice_number }} "
        "and the payment did not go through. We will try again on {{ next_attempt_date }}.\n\n"
        "You can pay the invoice now: {{ hosted_invoice_url }}\n"
        "Or update your payment method: {{ update_payment_method_url }}\n",
    ),
    "retry-failed": (
        "Retry failed",
        "Invoice {{ invoice_number }} is still unpaid",
        "Hello {{ organisation }},\n\nOur attempt number {{ attempt }} to collect {{ amount }} for invoice "
        "{{ invoice_number }} failed. The next attempt is on {{ next_attempt_date }}.\n\n"
        "Pay now: {{ hosted_invoice_url }}\nUpdate your payment method: {{ update_payment_method_url }}\n",
    ),
    "final-notice": (
        "Final notice",
        "Final notice: invoice {{ invoice_number }} is unpaid",
        "Hello {{ organisation }},\n\nWe could not collect {{ amount }} for invoice {{ invoice_number }} "
        "after {{ attempt }} attempts. {{ final_action }}\n\n"
        "Pay now to keep your account in good standing: {{ hosted_invoice_url }}\n"
        "Update your payment method: {{ update_payment_method_url }}\n",
    ),
    "payment-received": (
        "Payment received",
        "Thank you: invoice {{ invoice_number }} is paid",
        "Hello {{ organisation }},\n\nWe received {{ amount }} for invoice {{ invoice_number }}. Thank you.\n",
    ),
}

FINAL_ACTION_SENTENCES = {
    "mark_uncollectible": "The invoice has been closed as uncollectible and your account is restricted.",
    "cancel_subscription": "Your subscription has been cancelled.",
    "leave_open": "Your account manager will contact you.",
}


def template_errors(*texts: str) -> list[str]:
    """Unknown fields, or template-language syntax, in a subject or body finance typed."""
    errors = []
    for text in texts:
        for name in _FIELD.findall(text):
            if name not in PLACEHOLDERS:
                errors.append(f"“{{{{ {name} }}}}” is not a field; use one of: {', '.join(PLACEHOLDERS)}.")
        if "{%" in text:
            errors.append("Template tags ({% … %}) are not allowed; use {{ field }} only.")
    return errors


def render(text: str, context: dict[str, str]) -> str:
    return _FIELD.sub(lambda m: context.get(m.group(1), m.group(0)), text)


def ensure_default_templates() -> dict[str, EmailTemplate]:
    found = {}
    for key, (name, subject, body) in DEFAULT_TEMPLATES.items():
        found[key], _ = EmailTemplate.objects.get_or_create(
            key=key, defaults={"name": name, "subject": subject, "body": body}
        )
    return found


def payment_method_url() -> str:
    """The self-serve page to update a payment method (the billing page until that page exists)."""
    try:
        path = reverse("selfserve:payment_methods")
    except NoReverseMatch:
        path = "/billing/"
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def context_for(case: Case, *, next_attempt_at=None) -> dict[str, str]:
    organisation = case.organisation
    return {
        "organisation": organisation.name if organisation else case.customer_id,
        "invoice_number": case.invoice_number or case.invoice_id,
        "amount": format_money(case.amount_due, case.currency),
        "hosted_invoice_url": case.hosted_invoice_url or "",
        "update_payment_method_url": payment_method_url(),
        "attempt": str(case.attempts_made),
        "next_attempt_date": f"{next_attempt_at:%d %B %Y}" if next_attempt_at else "the next scheduled date",
        "final_action": FINAL_ACTION_SENTENCES.get(case.policy.final_action, ""),
    }


def recipient(case: Case) -> str:
    if case.organisation and case.organisation.billing_email:
        return case.organisation.billing_email
    from djstripe.models import Customer

    return Customer.objects.filter(id=case.customer_id).values_list("email", flat=True).first() or ""


def email_queue(
    case: Case, *, kind: str, template: EmailTemplate | None, at, step: int = -1, next_attempt_at=None
) -> DunningEmail | None:
    """Write the email of this case, kind and step once (a repeat finds it) and send it after commit."""
    if template is None:
        return None
    to = recipient(case)
    if not to:
        return None
    if DunningEmail.objects.filter(case=case, kind=kind, step=step).exists():
        return None  # written already (callers hold the case's lock: no one writes it meanwhile)
    context = context_for(case, next_attempt_at=next_attempt_at)
    email = DunningEmail.objects.create(
        case=case,
        kind=kind,
        step=step,
        template=template,
        to=to,
        subject=render(template.subject, context)[:300],
        body=render(template.body, context),
        at=at,
    )
    transaction.on_commit(lambda: queue.send("billing.dunning.tasks.send_email", email.pk))
    return email


def email_send(*, email_id: int, connection=None) -> str:
    """Send a written email once: claimed queued -> sending, then sent (or failed, with the error)."""
    if not DunningEmail.objects.filter(pk=email_id, status="queued").update(status="sending"):
        return "skipped"
    email = DunningEmail.objects.get(pk=email_id)
    try:
        EmailMessage(email.subject, email.body, settings.DEFAULT_FROM_EMAIL, [email.to], connection=connection).send()
    except Exception as error:  # noqa: BLE001 — a mail server's refusal is kept on the row, shown in the timeline
        DunningEmail.objects.filter(pk=email_id).update(status="failed", error=str(error)[:1000])
        return "failed"
    DunningEmail.objects.filter(pk=email_id).update(status="sent", sent_at=timezone.now())
    return "sent"
