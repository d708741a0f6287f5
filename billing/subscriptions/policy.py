"""When a plan, seat or billing-frequency change takes effect: the one rule, for the code and the page.

- Monthly → annual: now. The unused part of the month is credited against the year, charged today.
- Annual → monthly: at the end of the paid year.
- Same frequency: a change that does not lower what is paid per period (an upgrade, more seats) takes
  effect now and the rest of the period is charged today, prorated; one that lowers it (a downgrade,
  fewer seats) takes effect at the renewal, through a Stripe subscription schedule — nothing is
  refunded, and the customer keeps what they paid for until then.
- During a trial every change applies at once and nothing is charged before the trial ends.
"""

from __future__ import annotations

from dataclasses import dataclass

NOW = "now"
PERIOD_END = "period_end"

# The policy as the page shows it, next to every preview.
POLICY = (
    ("Upgrades and added seats", "take effect now; the rest of this period is charged today, prorated."),
    ("Downgrades and removed seats", "take effect at your next renewal; you keep what you paid for until then."),
    ("Monthly → annual", "takes effect now; the unused part of this month is credited against the year."),
    ("Annual → monthly", "takes effect when the paid year ends."),
)


@dataclass(frozen=True)
class Side:
    unit_amount: int
    quantity: int
    interval: str  # month | year
    price_id: str


@dataclass(frozen=True)
class Decision:
    timing: str  # NOW or PERIOD_END
    label: str
    explanation: str

    @property
    def now(self) -> bool:
        return self.timing == NOW


class SamePlan(ValueError):
    """The chosen plan and seats are what the subscription already has."""


def decide(current: Side, new: Side, *, trialing: bool = False) -> Decision:
    if current.price_id == new.price_id and current.quantity == new.quantity:
        raise SamePlan("That is the plan and number of seats you already have.")
    label = _label(current, new)
    if trialing:
        return Decision(
            NOW, label, "You are in your trial: the change applies now and nothing is charged until it ends."
        )
    if current.interval == "month" and new.interval == "year":
        return Decision(NOW, label, "Takes effect now: the unused part of this month is credited against the year.")
    if current.interval == "year" and new.interval == "month":
        return Decision(PERIOD_END, label, "Takes effect when your paid year ends; until then nothing changes.")
    if new.unit_amount * new.quantity >= current.unit_amount * current.quantity:
        return Decision(NOW, label, "Takes effect now: the rest of this period is charged today, prorated.")
    return Decision(
        PERIOD_END,
        label,
        "Takes effect at your next renewal: it lowers what you pay, and you keep what you paid for until then.",
    )


def _label(current: Side, new: Side) -> str:
    if current.interval != new.interval:
        return "Monthly → annual" if new.interval == "year" else "Annual → monthly"
    if current.price_id == new.price_id:
        return "More seats" if new.quantity > current.quantity else "Fewer seats"
    return "Upgrade" if new.unit_amount > current.unit_amount else "Downgrade"
