"""The audit trail cannot be thinned: admin changes are audited, actors stay named, rows stay put."""

import importlib

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from accounts.audit import audit
from accounts.models import AuditLog, Organisation, StaffProfile, StaffRole

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-for-tests-1")


def audited(action: str, object_type: str) -> list[AuditLog]:
    return list(AuditLog.objects.filter(action=action, object_type=object_type).order_by("id"))


def test_creating_a_finance_admin_in_the_admin_is_audited(client, superuser):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:auth_user_add"),
        {"username": "new-admin", "password1": "a-long-pass-phrase-1", "password2": "a-long-pass-phrase-1"},
    )
    assert response.status_code == 302, response.content
    user = get_user_model().objects.get(username="new-admin")
    response = client.post(reverse("admin:accounts_staffprofile_add"), {"user": user.pk, "role": StaffRole.admin})
    assert response.status_code == 302, response.content
    [user_added] = audited("admin.add", "auth.user")
    [profile_added] = audited("admin.add", "accounts.staffprofile")
    assert (user_added.actor, user_added.actor_username, user_added.object_id) == (superuser, "root", str(user.pk))
    assert profile_added.object_id == str(StaffProfile.objects.get(user=user).pk)
    assert "Finance admin" in profile_added.data["object_repr"]


def test_changes_and_deletions_in_the_admin_are_audited_one_row_per_object(client, superuser, people):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:accounts_staffprofile_change", args=[people.analyst.staff_profile.pk]),
        {"user": people.analyst.pk, "role": StaffRole.admin},
    )
    assert response.status_code == 302, response.content
    [changed] = audited("admin.change", "accounts.staffprofile")
    assert "Role" in changed.data["change"]
    # "Delete selected" on two rows: Django logs them with one bulk_create, which sends no signal.
    response = client.post(
        reverse("admin:accounts_organisation_changelist"),
        {"action": "delete_selected", "_selected_action": [people.acme.pk, people.globex.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Organisation.objects.exists()
    deleted = audited("admin.delete", "accounts.organisation")
    assert sorted(row.object_id for row in deleted) == sorted([str(people.acme.pk), str(people.globex.pk)])
    assert {row.actor_username for row in deleted} == {"root"}


@pytest.mark.parametrize("model", ["stripeevent", "objectversion", "webhookendpoint", "intakerejection"])
def test_the_stripe_record_is_read_only_in_the_admin(client, superuser, model):
    from billing.stripe.models import IntakeRejection, ObjectVersion, StripeEvent, WebhookEndpoint

    row = {
        "stripeevent": lambda: StripeEvent.objects.create(
            id="evt_1", type="x", created="2026-01-01T00:00Z", payload={}
        ),
        "objectversion": lambda: ObjectVersion.objects.create(
            stripe_id="cus_1", object_type="customer", event_created=1
        ),
        "webhookendpoint": lambda: WebhookEndpoint.objects.create(
            url="http://127.0.0.1/", api_base="x", api_version="v"
        ),
        "intakerejection": lambda: IntakeRejection.objects.create(reason="bad_signature", count=3),
    }[model]()
    client.force_login(superuser)
    change_url = reverse(f"admin:billing_stripe_{model}_change", args=[row.pk])
    assert client.get(reverse(f"admin:billing_stripe_{model}_delete", args=[row.pk])).status_code == 403
    assert client.post(change_url, {"count": 0, "reason": "x", "day": "2026-01-01"}).status_code == 403
    changelist = client.get(reverse(f"admin:billing_stripe_{model}_changelist"))
    assert b"delete_selected" not in changelist.content
    assert type(row).objects.filter(pk=row.pk).exists()
    if model == "intakerejection":
        assert IntakeRejection.objects.get().count == 3


def test_deleting_a_user_keeps_who_did_it(people):
    entry = audit(people.admin, "invoice.retry", people.acme, reason="card updated")
    get_user_model().objects.filter(pk=people.admin.pk).delete()
    entry = AuditLog.objects.get(pk=entry.pk)
    assert entry.actor_username == "finance-admin" and entry.actor_id is not None
    assert entry.organisation_id == people.acme.pk


def test_the_audit_admin_shows_the_actor_by_name(client, superuser, people):
    audit(people.admin, "invoice.retry", people.acme)
    get_user_model().objects.filter(pk=people.admin.pk).delete()
    client.force_login(superuser)
    page = client.get(reverse("admin:accounts_auditlog_changelist"))
    assert page.status_code == 200 and b"finance-admin" in page.content


@pytest.mark.postgres
def test_postgresql_refuses_to_update_or_delete_audit_rows(people):
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's (SQLite gets none); set DATABASE_URL")
    migration = importlib.import_module("accounts.migrations.0003_auditlog_append_only")
    with connection.cursor() as cursor:  # tests build the schema without migrations: install it here
        cursor.execute(migration.APPEND_ONLY)
    entry = audit(people.admin, "invoice.retry", people.acme)
    for change in (
        lambda: AuditLog.objects.filter(pk=entry.pk).update(action="nothing.happened"),
        lambda: AuditLog.objects.filter(pk=entry.pk).delete(),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            change()
    assert AuditLog.objects.get(pk=entry.pk).action == "invoice.retry"
    audit(people.admin, "invoice.retry", people.acme)  # inserting still works
