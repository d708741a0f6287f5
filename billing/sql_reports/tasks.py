from celery import shared_task

from billing.sql_reports.schedules import schedules_send_due


@shared_task
def send_due_schedules() -> int:
    return schedules_send_due()
