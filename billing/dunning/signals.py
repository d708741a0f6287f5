"""Signals the product listens to (documented in the README, "Dunning").

`dunning_exhausted` — a case ended unpaid: its schedule ran out (or its maximum attempts) and the
policy's final action was decided. Sent once per case, inside the transaction that marks the case
exhausted, with `case`, `organisation` (or None), `invoice_id` and `final_action`. Receivers must
only write local state or enqueue work with `transaction.on_commit`. The portal's own receiver
(`entitlements.py`) restricts the organisation.

`dunning_recovered` — an exhausted case's invoice was paid after all (the customer paid, finance
marked it paid): the product lifts what it restricted. Same arguments, without `final_action`.
"""

from django.dispatch import Signal

dunning_exhausted = Signal()
dunning_recovered = Signal()
