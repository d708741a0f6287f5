from django.contrib import admin

from accounts.models import AuditLog, Membership, Organisation, StaffProfile


class MembershipInline(admin.TabularInline):
    model = Membership
    raw_id_fields = ("user",)
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "country", "billing_email", "stripe_customer_id", "is_enterprise", "created_at")
    raw_id_fields = ("stripe_customer",)
    list_filter = ("is_enterprise", "country")
    search_fields = ("name", "billing_email", "=stripe_customer_id")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]
    show_full_result_count = False


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organisation", "role")
    list_select_related = ("user", "organisation")
    raw_id_fields = ("user", "organisation")
    search_fields = ("user__username", "user__email", "organisation__name")


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "role")
    list_select_related = ("user",)
    raw_id_fields = ("user",)


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    # The username, not the user: it stays when the user is deleted.
    list_display = ("created_at", "actor_username", "action", "object_type", "object_id", "organisation")
    list_select_related = ("organisation",)
    list_filter = ("action",)
    search_fields = ("=object_id", "action", "=actor_username")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
