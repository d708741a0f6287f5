"""Stripe's resources at the pinned (dahlia) API version, one module per resource family.

Importing this package imports every module, and so registers every route (see routing.route).
"""

from . import (  # noqa: F401  (each registers its routes)
    account,
    balance_transactions,
    catalog,
    checkout,
    credit_notes,
    customers,
    disputes,
    files,
    invoices,
    meters,
    payment_methods,
    payments,
    radar,
    setup_attempts,
    setup_intents,
    subscription_schedules,
    subscriptions,
    tax_rates,
    tax_registrations,
    tax_settings,
    test_clocks,
    webhooks,
)
