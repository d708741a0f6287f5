"""A realistic usage stream for the demo: what the product would report for the last hours.

In-process (default) the events go through the ingestion service; with --url they are posted to
a running portal's API (`POST /api/usage/events`, batches of 1,000) with a key made for the run
and revoked after it, as the product would send them.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import urllib.error
import urllib.request

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import Organisation
from billing.usage import ingest
from billing.usage.generator import stream
from billing.usage.keys import api_key_create, api_key_revoke
from billing.usage.models import Meter, UsagePeriod


class Command(BaseCommand):
    help = "Generate a realistic usage stream for organisations billed by usage (the demo product)."

    def add_arguments(self, parser):
        parser.add_argument("--organisation", action="append", help="slug; default: every organisation billed by use")
        parser.add_argument("--hours", type=float, default=1.0, help="how far back the stream starts")
        parser.add_argument("--per-hour", type=int, default=120, help="events per meter in the busiest hour")
        parser.add_argument("--duplicates", type=float, default=0.05, help="share of client retries (0..1)")
        parser.add_argument("--url", help="post to this portal's API (e.g. http://127.0.0.1:8000) instead")
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args, organisation=None, hours, per_hour, duplicates, url=None, seed=None, **options):
        if hours <= 0 or hours > 24 * 35 or per_hour < 0 or not 0 <= duplicates < 1:
            raise CommandError("--hours is 0–840, --per-hour ≥ 0, --duplicates 0–1")
        orgs = (
            Organisation.objects.filter(slug__in=organisation)
            if organisation
            else Organisation.objects.filter(
                pk__in=UsagePeriod.objects.filter(closed_at__isnull=True).values("organisation_id")
            )
        )
        meters = list(Meter.objects.filter(active=True))
        if not orgs.exists() or not meters:
            raise CommandError("No organisation billed by usage (or no meter): run seed_demo, or name --organisation")
        if url and not url.startswith(("http://", "https://")):
            raise CommandError("--url must be an http:// or https:// address")
        now = timezone.now()
        rng = random.Random(seed)
        for org in orgs:
            members = list(org.memberships.values_list("user__email", flat=True))
            events = list(
                stream(
                    rng=rng, prefix=f"gen-{int(now.timestamp())}-{org.pk}", meters=meters,
                    start=now - dt.timedelta(hours=hours), end=now, per_hour=per_hour, members=members,
                    duplicate_rate=duplicates,
                )
            )  # fmt: skip
            totals = {"accepted": 0, "duplicates": 0, "rejected": 0, "late": 0}
            if url:
                self.post(url, org, events, totals)
            else:
                for i in range(0, len(events), 1000):
                    outcome = ingest.ingest(org, events[i : i + 1000]).as_json()
                    for name in totals:
                        totals[name] += outcome[name]
            self.stdout.write(f"{org.slug}: {len(events)} events, " + ", ".join(f"{k} {v}" for k, v in totals.items()))

    def post(self, url: str, org: Organisation, events: list[dict], totals: dict) -> None:
        key, raw = api_key_create(organisation=org, name="usage_generate (temporary)", actor=None)
        try:
            for i in range(0, len(events), 1000):
                body = json.dumps({"events": events[i : i + 1000]}).encode()
                request = urllib.request.Request(  # noqa: S310 (http or https, checked in handle)
                    url.rstrip("/") + "/api/usage/events",
                    data=body,
                    headers={"Content-Type": "application/json", "Authorization": f"Bearer {raw}"},
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (the operator's URL)
                        answer = json.loads(response.read())
                except urllib.error.HTTPError as error:
                    raise CommandError(f"{error.code} from the API: {error.read()[:300]!r}") from None
                for name in totals:
                    totals[name] += answer[name]
        finally:
            api_key_revoke(key=key, actor=None)
