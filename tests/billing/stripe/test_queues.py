"""Tasks are sent by name to the queue of their kind of work; beat names only real tasks."""

import pytest
from celery import current_app
from django.conf import settings

from billing.stripe import queue


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        ("billing.stripe.tasks.process_event", "events"),
        ("billing.stripe.tasks.drain_events", "events"),
        ("billing.stripe.tasks.retry_failed_events", "events"),
        ("billing.stripe.tasks.requeue_stale_received", "events"),
        ("billing.stripe.tasks.reconcile_mirror", "reports"),
        ("billing.stripe.tasks.prune_events", "reports"),
    ],
)
def test_each_task_goes_to_the_queue_of_its_kind(task, expected):
    route = current_app.amqp.router.route({}, task)
    assert route["queue"].name == expected


@pytest.mark.django_db
def test_every_routed_and_scheduled_task_exists():
    current_app.loader.import_default_modules()
    names = set(current_app.tasks)
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled <= names
    import fnmatch

    for route in settings.CELERY_TASK_ROUTES:  # each route names a task, or a pattern some task matches
        assert fnmatch.filter(names, route), route
    assert {queue.PROCESS_EVENT, queue.DRAIN_EVENTS} <= names


def test_every_queue_has_a_worker_in_the_procfile():
    procfile = (settings.BASE_DIR / "Procfile").read_text()
    queues = set(settings.CELERY_QUEUES_ALL.split(","))
    served = set()
    for line in procfile.splitlines():
        if " worker " in line and " -Q " in line:
            served |= set(line.split(" -Q ")[1].split()[0].split(","))
    assert queues == served
    assert "beat:" in procfile and "release: python manage.py migrate" in procfile


def test_send_routes_by_name_without_importing_tasks(monkeypatch, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    sent = []
    monkeypatch.setattr(current_app, "send_task", lambda name, **kw: sent.append((name, kw)))
    queue.send(queue.DRAIN_EVENTS, countdown=0.2)
    assert sent == [(queue.DRAIN_EVENTS, {"args": (), "kwargs": {}, "countdown": 0.2})]
