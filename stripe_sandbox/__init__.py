"""stripe_sandbox: a local Stripe for development, demos and tests. A separate program (GPL-3.0).

The portal never imports it: it is started as `python -m stripe_sandbox --port N`.
"""

API_VERSION = "2026-08-26.dahlia"
