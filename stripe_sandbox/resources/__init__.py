"""Stripe's resources at the pinned (dahlia) API version, one module per resource family.

Importing this package imports every module, and so registers every route (see routing.route).
"""

from . import (  # noqa: F401  (each registers its routes)
    account,
    catalog,
    checkout,
    credit_notes,
    customers,
    invoices,
    meters,
    payment_methods,
    payments,
    setup_intents,
    subscription_schedules,
    subscriptions,
    tax_rates,
    test_clocks,
    webhooks,
)
