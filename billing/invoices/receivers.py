"""Credit notes made anywhere (the portal, Stripe's dashboard) are kept here from their events."""

from billing.invoices.services import credit_note_store
from billing.stripe.receivers import stripe_receiver


@stripe_receiver("credit_note.created", "credit_note.updated", "credit_note.voided")
def credit_note_changed(event, note: dict) -> None:
    credit_note_store(note)
