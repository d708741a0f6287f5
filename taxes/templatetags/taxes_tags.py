"""The customer page's "Tax treatment" panel, so billing.customers needs no import of taxes."""

from django import template

from accounts.access import can
from taxes.forms import StatusForm
from taxes.models import CustomerTaxStatus, TaxSettings
from taxes.selectors import buyer_of, seller
from taxes.treatment import treat

register = template.Library()


@register.inclusion_tag("taxes/_treatment_panel.html", takes_context=True)
def tax_treatment_panel(context, organisation, customer=None):
    from django.utils import timezone

    status = CustomerTaxStatus.objects.filter(organisation=organisation).first()
    buyer = buyer_of(organisation, status=status, customer=customer)
    settings = TaxSettings.current()
    initial = {"status": "taxable", "customer_type": "business"}
    if status is not None:
        initial = {
            field: getattr(status, field)
            for field in ("status", "customer_type", "state", "tax_id_type", "tax_id_value", "certificate_ref",
                          "certificate_expires", "note")
        }  # fmt: skip
    return {
        "organisation": organisation,
        "status": status,
        "buyer": buyer,
        "treatment": treat(seller(settings), buyer, timezone.now().date()),
        "settings": settings,
        "can_edit": can(context["request"].user, "tax.edit"),
        "form": StatusForm(initial=initial),
        "csrf_token": context.get("csrf_token"),
    }
