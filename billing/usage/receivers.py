"""Reactions to Stripe events: flush a metered subscription's usage before its invoice finalises."""
