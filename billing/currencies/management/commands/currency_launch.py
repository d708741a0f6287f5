"""Currency launches from the command line: list them, show one, run one with a progress bar.

    manage.py currency_launch list
    manage.py currency_launch status <id>
    manage.py currency_launch run <id> [--as finance-admin]

`run` starts an approved launch (as the finance admin named by --as) or resumes a running one —
after a crash, or alongside the workers, which share its rows — and waits out Stripe outages until
the launch is live, failed or rolled back.
"""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.access import can
from billing.currencies import jobs, launches, selectors
from billing.currencies.models import Launch, LaunchStatus


class Command(BaseCommand):
    help = "List, show or run currency launches (run: with a progress bar; resumable)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="Every launch, newest first")
        status = sub.add_parser("status", help="One launch's state and progress")
        status.add_argument("launch_id", type=int)
        run = sub.add_parser("run", help="Start an approved launch, or resume a running one, and watch it")
        run.add_argument("launch_id", type=int)
        run.add_argument("--as", dest="username", help="The finance admin starting it (needed to start)")

    def handle(self, *args, action: str, **options):
        if action == "list":
            return self.list()
        launch = Launch.objects.filter(pk=options["launch_id"]).first()
        if launch is None:
            raise CommandError(f"There is no launch #{options['launch_id']}")
        if action == "status":
            return self.status(launch)
        return self.run(launch, options.get("username"))

    def list(self) -> None:
        for launch in selectors.launches():
            self.stdout.write(
                f"#{launch.pk:<5} {launch.currency.upper()} for {','.join(launch.countries):<12} "
                f"{launch.get_status_display():<13} {launch.created_rows}/{launch.total_rows} prices"
            )

    def status(self, launch: Launch) -> None:
        progress = selectors.progress(launch)
        self.stdout.write(
            f"#{launch.pk} {launch.currency.upper()} for {', '.join(launch.countries)}: "
            f"{launch.get_status_display()}, {progress.done}/{progress.total} {progress.verb}"
            + (f", {progress.failed} failed" if progress.failed else "")
        )
        if launch.last_error:
            self.stdout.write(f"  {launch.last_error}")

    def run(self, launch: Launch, username: str | None) -> None:
        if launch.status == LaunchStatus.approved:
            actor = get_user_model().objects.filter(username=username).first() if username else None
            if actor is None or not can(actor, "currency.launch"):
                raise CommandError("Starting a launch needs --as <a finance admin's username>")
            try:
                launch = launches.launch_start(launch=launch, actor=actor)
            except launches.LaunchError as error:
                raise CommandError(str(error)) from None
        elif launch.status not in jobs.ACTIVE:
            self.status(launch)
            if launch.status in (LaunchStatus.draft, LaunchStatus.previewed):
                raise CommandError("It has to be previewed and approved (by a second finance admin) first")
            return
        progress = selectors.progress(launch)
        bar = tqdm(
            total=progress.total,
            initial=progress.done,
            unit="price",
            desc=f"{launch.currency.upper()} {progress.verb}",
            file=self.stdout._out,
            dynamic_ncols=True,
        )
        last = [0.0]

        def on_row(row) -> None:
            now = time.monotonic()
            if now - last[0] > 0.2:  # the bar counts every worker's rows, not just ours
                last[0] = now
                current = selectors.progress(launch)
                bar.n = current.done
                bar.set_postfix_str(f"{current.failed} failed" if current.failed else "", refresh=True)

        def sleep(seconds: float) -> None:
            current = Launch.objects.get(pk=launch.pk)
            if current.paused_until:
                bar.set_postfix_str(f"paused: {current.last_error[:60]}… retrying", refresh=True)
            time.sleep(min(seconds, 5))

        status = jobs.run_here(launch.pk, on_row=on_row, sleep=sleep)
        final = selectors.progress(Launch.objects.get(pk=launch.pk))
        bar.n = final.done
        bar.set_postfix_str("")
        bar.close()
        self.status(Launch.objects.get(pk=launch.pk))
        if status == LaunchStatus.failed:
            raise CommandError("The launch failed: try the failed prices again from its page, or roll it back")
