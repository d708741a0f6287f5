class RiskError(Exception):
    """Something the portal refuses before asking Stripe (nothing was sent); the message is for people."""


class PaymentMethodBlocked(ValueError):
    """Self-serve may not start collecting a payment method: the organisation matches the block list.
    The message is what the customer reads: it says whom to contact, never which list matched."""
