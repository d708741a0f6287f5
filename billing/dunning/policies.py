"""Dunning policies: which one applies to a failed invoice, and finance's edits (checked, audited).

Matching: active policies in priority order (lowest number first), the default policy last; the
first whose every criterion matches applies. Empty criteria match anything. An edit changes only
what has not happened yet: the next steps of open cases follow the new schedule; attempts made stay.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_countries import countries

from accounts.audit import audit
from billing.dunning.emails import ensure_default_templates
from billing.dunning.models import METHOD_TYPES, CaseStatus, FinalAction, Policy, PolicyStep, Segment

MAX_DAY = 365
MAX_ATTEMPTS = 20
DEFAULT_NAME = "Default"


class PolicyError(Exception):
    """A policy finance cannot save as given; `errors` are sentences for the form."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class InvoiceFacts:
    """What a policy can match on, read from the mirror when a case opens."""

    segment: str = ""
    country: str = ""
    plans: set[str] = field(default_factory=set)
    currency: str = ""
    amount: int = 0
    method_type: str = ""


def matches(policy: Policy, facts: InvoiceFacts) -> bool:
    if policy.is_default:
        return True
    if policy.segment and policy.segment != facts.segment:
        return False
    if policy.countries and facts.country.upper() not in policy.countries:
        return False
    if policy.plans and not (set(policy.plans) & facts.plans):
        return False
    if policy.currency and policy.currency != facts.currency:
        return False
    if policy.amount_min is not None and facts.amount < policy.amount_min:
        return False
    if policy.amount_max is not None and facts.amount > policy.amount_max:
        return False
    return not (policy.method_types and facts.method_type not in policy.method_types)


def policy_for(facts: InvoiceFacts) -> Policy:
    for policy in Policy.objects.filter(active=True).order_by("is_default", "priority"):
        if matches(policy, facts):
            return policy
    return default_policy()


def default_policy() -> Policy:
    """The policy that ships: day 1, 3, 5, 7 and 14 after the first failure, then left open."""
    existing = Policy.objects.filter(is_default=True).first()
    if existing is not None:
        return existing
    templates = ensure_default_templates()
    with transaction.atomic():
        policy, created = Policy.objects.get_or_create(
            is_default=True,
            defaults={
                "name": DEFAULT_NAME,
                "priority": 1000,
                "max_attempts": 5,
                "final_action": FinalAction.leave_open,
                "opening_email": templates["payment-failed"],
                "final_email": templates["final-notice"],
                "recovered_email": templates["payment-received"],
            },
        )
        if created:
            for day in (1, 3, 5, 7, 14):
                PolicyStep.objects.create(
                    policy=policy, day=day, email=templates["final-notice" if day == 14 else "retry-failed"]
                )
    return policy


def check_policy(data: dict, steps: list[tuple[int, object]], *, instance: Policy | None) -> list[str]:
    """Every reason the policy cannot be saved, as sentences (empty: it can)."""
    errors = []
    if not (data.get("name") or "").strip():
        errors.append("Give the policy a name.")
    if not steps:
        errors.append("A policy needs at least one step (the days after the first failure to try again).")
    days = [day for day, _ in steps]
    if any(day is None or day < 1 for day in days):
        errors.append("Step days are whole days after the first failure, from 1 (no zero or negative days).")
    elif any(day > MAX_DAY for day in days):
        errors.append(f"Steps are at most {MAX_DAY} days after the first failure.")
    elif days != sorted(days) or len(set(days)) != len(days):
        errors.append("Steps must be in order, each on a later day than the one before (e.g. 1, 3, 5, 7, 14).")
    attempts = data.get("max_attempts")
    if attempts is None or not 1 <= attempts <= MAX_ATTEMPTS:
        errors.append(f"Maximum attempts is between 1 and {MAX_ATTEMPTS}.")
    priority = data.get("priority")
    if priority is None or priority < 0:
        errors.append("Priority is a whole number, 0 or more (lower numbers are tried first).")
    else:
        clash = Policy.objects.filter(priority=priority).exclude(pk=getattr(instance, "pk", None)).first()
        if clash is not None:
            errors.append(f"Priority {priority} is already used by “{clash.name}”: each policy needs its own.")
    name_clash = Policy.objects.filter(name__iexact=(data.get("name") or "").strip())
    if name_clash.exclude(pk=getattr(instance, "pk", None)).exists():
        errors.append("Another policy has this name.")
    low, high = data.get("amount_min"), data.get("amount_max")
    if (low is not None or high is not None) and not data.get("currency"):
        errors.append("An amount range needs a currency (amounts are in that currency).")
    if low is not None and low < 0 or high is not None and high < 0:
        errors.append("Amounts cannot be negative.")
    elif low is not None and high is not None and low > high:
        errors.append("The minimum amount is above the maximum.")
    if set(data.get("method_types") or []) - {value for value, _ in METHOD_TYPES}:
        errors.append("Unknown payment method type.")
    if set(data.get("countries") or []) - {code for code, _ in countries}:
        errors.append("Unknown country code.")
    if data.get("segment") and data["segment"] not in Segment.values:
        errors.append("Unknown segment.")
    if data.get("final_action") not in FinalAction.values:
        errors.append("Choose what happens after the last attempt.")
    if instance is not None and instance.is_default and not data.get("active", True):
        errors.append("The default policy cannot be switched off: it catches every invoice no other policy matches.")
    return errors


CRITERIA = (
    "name",
    "priority",
    "active",
    "segment",
    "countries",
    "plans",
    "currency",
    "amount_min",
    "amount_max",
    "method_types",
    "max_attempts",
    "final_action",
    "opening_email",
    "final_email",
    "recovered_email",
)


def _snapshot(policy: Policy) -> dict:
    values = {name: getattr(policy, name) for name in CRITERIA}
    for name in ("opening_email", "final_email", "recovered_email"):
        values[name] = values[name].key if values[name] else None
    values["steps"] = [[s.day, s.email.key if s.email else None] for s in policy.steps.all()]
    return values


def policy_save(*, instance: Policy | None, data: dict, steps: list[tuple[int, object]], actor) -> Policy:
    """Create or change a policy. `steps`: (day, EmailTemplate or None) in order. Raises PolicyError."""
    errors = check_policy(data, steps, instance=instance)
    if errors:
        raise PolicyError(errors)
    before = _snapshot(instance) if instance is not None else None
    try:
        with transaction.atomic():
            policy = instance or Policy()
            for name in CRITERIA:
                if name in data:
                    setattr(policy, name, data[name])
            policy.name = policy.name.strip()
            policy.updated_at = timezone.now()
            policy.save()
            policy.steps.all().delete()
            PolicyStep.objects.bulk_create([PolicyStep(policy=policy, day=day, email=email) for day, email in steps])
            rescheduled = reschedule_open_cases(policy)
            audit(
                actor,
                "dunning.policy.update" if before else "dunning.policy.create",
                policy,
                before=before,
                after=_snapshot(policy),
                rescheduled_cases=rescheduled,
            )
    except IntegrityError:
        raise PolicyError(["Another policy took this name or priority just now; choose another."]) from None
    return policy


def reschedule_open_cases(policy: Policy) -> int:
    """Open cases of `policy` waiting for their next step follow its schedule as it is now."""
    steps = list(policy.steps.values_list("day", flat=True))
    count = 0
    for case in policy.cases.filter(status__in=[CaseStatus.scheduled, CaseStatus.paused]).iterator():
        remaining = [day for day in steps if day > case.last_step_day]
        case.next_attempt_at = case.opened_at + dt.timedelta(days=remaining[0]) if remaining else case.opened_at
        case.save(update_fields=["next_attempt_at"])
        count += 1
    return count
