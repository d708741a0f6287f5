"""Engineers on call see every risk row in the Django admin, read-only: decisions, refunds and block
list changes go through the pages (and so through Stripe, Radar and the audit log)."""

from django.contrib import admin

from billing.risk import models
from billing.stripe.admin import ReadOnlyAdmin


@admin.register(models.ReviewCase)
class ReviewCaseAdmin(ReadOnlyAdmin):
    list_display = (
        "review_id",
        "open",
        "closed_reason",
        "risk_score",
        "amount",
        "currency",
        "customer_id",
        "created_at",
    )
    list_filter = ("open", "risk_level")
    search_fields = ("review_id", "charge_id", "customer_id", "email")


@admin.register(models.ReviewDecision)
class ReviewDecisionAdmin(ReadOnlyAdmin):
    list_display = ("review_id", "kind", "status", "actor", "created_at", "done_at")
    list_filter = ("kind", "status", "bulk")


@admin.register(models.WarningCase)
class WarningCaseAdmin(ReadOnlyAdmin):
    list_display = ("warning_id", "outcome", "amount", "currency", "amount_reporting", "refund_id", "created_at")
    list_filter = ("outcome", "fraud_type")
    search_fields = ("warning_id", "charge_id", "customer_id")


@admin.register(models.DisputeCase)
class DisputeCaseAdmin(ReadOnlyAdmin):
    list_display = ("dispute_id", "status", "reason", "amount", "currency", "due_by", "country", "created_at")
    list_filter = ("status", "reason")
    search_fields = ("dispute_id", "charge_id", "customer_id")


@admin.register(models.EvidenceFile)
class EvidenceFileAdmin(ReadOnlyAdmin):
    list_display = ("file_id", "dispute_id", "field", "filename", "size", "uploaded_by", "uploaded_at")


@admin.register(models.DisputeReminder)
class DisputeReminderAdmin(ReadOnlyAdmin):
    list_display = ("dispute_id", "days_before", "due_by", "sent_at", "recipients")


@admin.register(models.BlockListEntry)
class BlockListEntryAdmin(ReadOnlyAdmin):
    list_display = ("kind", "value", "sync_status", "hits", "created_by", "created_at", "removed_at")
    list_filter = ("kind", "sync_status")
    search_fields = ("value", "reason")


@admin.register(models.RiskPolicy)
class RiskPolicyAdmin(ReadOnlyAdmin):
    list_display = ("auto_refund", "refund_below", "currency", "block_card", "updated_by", "updated_at")


@admin.register(models.RadarList)
class RadarListAdmin(ReadOnlyAdmin):
    list_display = ("kind", "alias", "stripe_id")
