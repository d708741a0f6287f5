"""The finance library: eight saved queries the portal ships, loaded by `load_report_library`.

SQL is written once for PostgreSQL and SQLite where it can be (`->>` reads JSON in both; months are
the first 7 characters of a timestamp as text, in UTC); the few vendor words (now, date arithmetic,
expanding a JSON array) are tokens filled in per vendor. Money columns are minor units (`_minor`)
beside their currency: never summed across currencies.
"""

from __future__ import annotations

from django.core.signing import BadSignature
from django.db import connections, transaction

TOKENS = {
    "postgresql": {
        "NOW_EPOCH": "CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) AS BIGINT)",
        "SINCE_MONTHS": "CURRENT_TIMESTAMP - (CAST('$$months:12$$' AS INTEGER) * INTERVAL '1 month')",
        "DAYS_AGO": "CURRENT_DATE - CAST('$$days:14$$' AS INTEGER)",
        "TAX_LINES": "jsonb_array_elements(CASE WHEN jsonb_typeof(i.stripe_data->'total_taxes') = 'array' "
        "THEN i.stripe_data->'total_taxes' ELSE '[]'::jsonb END) AS t(value)",
    },
    "sqlite": {
        "NOW_EPOCH": "CAST(strftime('%s', 'now') AS INTEGER)",
        "SINCE_MONTHS": "datetime('now', '-' || CAST('$$months:12$$' AS INTEGER) || ' months')",
        "DAYS_AGO": "date('now', '-' || CAST('$$days:14$$' AS INTEGER) || ' days')",
        "TAX_LINES": "json_each(i.stripe_data, '$.total_taxes') AS t",
    },
}

PLAN = (
    "COALESCE(NULLIF(p.stripe_data->>'name', ''), NULLIF(p.name, ''), "
    "s.stripe_data->'items'->'data'->0->'price'->>'nickname', "
    "s.stripe_data->'items'->'data'->0->'price'->>'id', '(no plan)')"
)

REPORTS = [
    {
        "slug": "mrr-movements-by-month",
        "title": "Finance - MRR movements by month",
        "description": "New, expansion, contraction, churn and reactivation MRR per month and currency (minor "
        "units), from the revenue ledger the dashboard reads. Net is their sum.",
        "sql": """SELECT SUBSTR(CAST(m.effective_at AS TEXT), 1, 7) AS month,
       m.currency,
       SUM(CASE WHEN m.kind = 'new' THEN m.amount ELSE 0 END) AS new_minor,
       SUM(CASE WHEN m.kind = 'expansion' THEN m.amount ELSE 0 END) AS expansion_minor,
       SUM(CASE WHEN m.kind = 'contraction' THEN m.amount ELSE 0 END) AS contraction_minor,
       SUM(CASE WHEN m.kind = 'churn' THEN m.amount ELSE 0 END) AS churn_minor,
       SUM(CASE WHEN m.kind = 'reactivation' THEN m.amount ELSE 0 END) AS reactivation_minor,
       SUM(m.amount) AS net_minor
FROM billing_reports_mrrmovement m
GROUP BY 1, 2
ORDER BY 1, 2""",
    },
    {
        "slug": "revenue-by-country-currency-plan",
        "title": "Finance - Revenue by country, currency and plan",
        "description": "Paid invoices of the last months (parameter months, default 12): count and amount paid "
        "(minor units) per customer country (the organisation's, else the Stripe address), currency and plan.",
        "sql": f"""WITH lines AS MATERIALIZED (
    SELECT i.customer_id,
           COALESCE(i.subscription_id, i.stripe_data->'parent'->'subscription_details'->>'subscription') AS sub_id,
           i.stripe_data->>'currency' AS currency,
           CAST(i.stripe_data->>'amount_paid' AS BIGINT) AS paid
    FROM djstripe_invoice i
    WHERE i.stripe_data->>'status' = 'paid' AND i.created >= {{SINCE_MONTHS}}
), paid AS (
    SELECT customer_id, sub_id, currency, COUNT(*) AS invoices, SUM(paid) AS revenue
    FROM lines
    GROUP BY 1, 2, 3
)
SELECT COALESCE(NULLIF(o.country, ''), c.stripe_data->'address'->>'country', '') AS country,
       paid.currency,
       {PLAN} AS plan,
       SUM(paid.invoices) AS invoices,
       SUM(paid.revenue) AS revenue_minor
FROM paid
LEFT JOIN djstripe_customer c ON c.id = paid.customer_id
LEFT JOIN accounts_organisation o ON o.stripe_customer_id = paid.customer_id
LEFT JOIN djstripe_subscription s ON s.id = paid.sub_id
LEFT JOIN djstripe_product p ON p.id = s.stripe_data->'items'->'data'->0->'price'->>'product'
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3""",
    },
    {
        "slug": "invoices-past-due-by-age",
        "title": "Finance - Invoices past due by age",
        "description": "Open invoices whose due date (or, charged automatically, whose creation) has passed, "
        "by days past due: count and amount remaining (minor units) per bucket and currency.",
        "sql": """WITH due AS (
    SELECT i.stripe_data->>'currency' AS currency,
           CAST(i.stripe_data->>'amount_remaining' AS BIGINT) AS remaining,
           {NOW_EPOCH} - COALESCE(CAST(i.stripe_data->>'due_date' AS BIGINT),
                                  CAST(i.stripe_data->>'created' AS BIGINT)) AS seconds_late
    FROM djstripe_invoice i
    WHERE i.stripe_data->>'status' = 'open'
)
SELECT CASE WHEN seconds_late <= 30 * 86400 THEN '0-30 days'
            WHEN seconds_late <= 60 * 86400 THEN '31-60 days'
            WHEN seconds_late <= 90 * 86400 THEN '61-90 days'
            ELSE '91+ days' END AS age,
       currency,
       COUNT(*) AS invoices,
       SUM(remaining) AS remaining_minor
FROM due
WHERE seconds_late > 0
GROUP BY 1, 2
ORDER BY 1, 2""",
    },
    {
        "slug": "tax-by-jurisdiction",
        "title": "Finance - Tax collected by jurisdiction",
        "description": "Tax on paid invoices, from each invoice's total_taxes in the Stripe mirror, per "
        "jurisdiction of the tax rate (else its country) and currency: taxable amount and tax (minor units).",
        "sql": """SELECT COALESCE(r.stripe_data->>'jurisdiction', r.stripe_data->>'country',
                t.value->'tax_rate_details'->>'tax_rate', '(unknown)') AS jurisdiction,
       i.stripe_data->>'currency' AS currency,
       COUNT(DISTINCT i.id) AS invoices,
       SUM(CAST(t.value->>'taxable_amount' AS BIGINT)) AS taxable_minor,
       SUM(CAST(t.value->>'amount' AS BIGINT)) AS tax_minor
FROM djstripe_invoice i
CROSS JOIN {TAX_LINES}
LEFT JOIN djstripe_taxrate r ON r.id = t.value->'tax_rate_details'->>'tax_rate'
WHERE i.stripe_data->>'status' = 'paid'
GROUP BY 1, 2
ORDER BY 1, 2""",
    },
    {
        "slug": "dunning-recovery-by-method",
        "title": "Finance - Dunning recovery by payment method",
        "description": "Dunning cases per payment method type and currency: how many, how many recovered, "
        "the recovery rate, and the amounts due and recovered (minor units).",
        "sql": """SELECT COALESCE(NULLIF(d.method_type, ''), 'unknown') AS method,
       d.currency,
       COUNT(*) AS cases,
       SUM(CASE WHEN d.status = 'recovered' THEN 1 ELSE 0 END) AS recovered,
       ROUND(100.0 * SUM(CASE WHEN d.status = 'recovered' THEN 1 ELSE 0 END) / COUNT(*), 1) AS recovery_rate_pct,
       SUM(d.amount_due) AS due_minor,
       SUM(d.recovered_amount) AS recovered_minor
FROM billing_dunning_case d
GROUP BY 1, 2
ORDER BY 1, 2""",
    },
    {
        "slug": "payment-acceptance-by-country-method",
        "title": "Finance - Payment acceptance by country and method",
        "description": "Charges that succeeded or failed, per customer country and payment method type: "
        "attempts, accepted, and the acceptance rate.",
        "sql": """SELECT COALESCE(NULLIF(f.country, ''), '(none)') AS country,
       COALESCE(NULLIF(f.method_type, ''), 'unknown') AS method,
       COUNT(*) AS attempts,
       SUM(CASE WHEN f.kind = 'succeeded' THEN 1 ELSE 0 END) AS accepted,
       ROUND(100.0 * SUM(CASE WHEN f.kind = 'succeeded' THEN 1 ELSE 0 END) / COUNT(*), 1) AS acceptance_pct
FROM billing_reports_paymentfact f
WHERE f.kind IN ('succeeded', 'failed')
GROUP BY 1, 2
ORDER BY 1, 2""",
    },
    {
        "slug": "top-customers-by-usage",
        "title": "Finance - Top customers by usage",
        "description": "Organisations with the most metered usage over the last days (parameter days, default "
        "14), per meter: total, events and busiest day; the first rows (parameter limit, default 20).",
        "sql": """SELECT o.name AS organisation,
       m.name AS meter,
       SUM(d.total) AS total,
       SUM(d.events) AS events,
       MAX(d.total) AS busiest_day
FROM billing_usage_usageday d
JOIN accounts_organisation o ON o.id = d.organisation_id
JOIN billing_usage_meter m ON m.id = d.meter_id
WHERE d.day >= {DAYS_AGO}
GROUP BY o.name, m.name
ORDER BY total DESC, organisation, meter
LIMIT $$limit:20$$""",
    },
    {
        "slug": "inactive-seats-billed",
        "title": "Finance - Customers billed for inactive seats",
        "description": "Fair billing (usage app): per organisation and currency, members whose seat was billed "
        "after they stopped being active, the unused seat-days, what was credited back (sent to Stripe) and what "
        "is still owed to the customer (pending or failed credits); reactivations charged again subtract.",
        "sql": """SELECT o.name AS organisation,
       o.country,
       c.currency,
       COUNT(DISTINCT c.member_email) AS inactive_members,
       CAST(SUM(CASE WHEN c.kind = 'credit' THEN c.unused_seconds ELSE -c.unused_seconds END) AS BIGINT) / 86400
           AS unused_seat_days,
       SUM(CASE WHEN c.status = 'sent' AND c.kind = 'credit' THEN c.amount
                WHEN c.status = 'sent' THEN -c.amount ELSE 0 END) AS credited_minor,
       SUM(CASE WHEN c.status IN ('pending', 'failed') AND c.kind = 'credit' THEN c.amount
                WHEN c.status IN ('pending', 'failed') THEN -c.amount ELSE 0 END) AS still_owed_minor
FROM billing_usage_seatcredit c
JOIN billing_usage_usageperiod p ON p.id = c.period_id
JOIN accounts_organisation o ON o.id = p.organisation_id
WHERE c.status <> 'cancelled'
GROUP BY o.name, o.country, c.currency
ORDER BY still_owed_minor DESC, credited_minor DESC, organisation""",
    },
]


def sql_for(report: dict, vendor: str) -> str:
    sql = report["sql"]
    for token, text in TOKENS["postgresql" if vendor == "postgresql" else "sqlite"].items():
        sql = sql.replace("{" + token + "}", text)
    return sql


def reports_vendor() -> str:
    from django.conf import settings

    return connections[settings.REPORTS_DATABASE_ALIAS].vendor


def ensure_connection():
    """Explorer's row for our "reports" alias, the default (its migration makes it; tests skip migrations)."""
    from django.conf import settings
    from explorer.ee.db_connections.models import DatabaseConnection

    alias = settings.REPORTS_DATABASE_ALIAS
    rows = DatabaseConnection.objects.filter(alias=alias)
    try:
        connection = rows.first()
    except BadSignature:
        # Its (empty) credentials were sealed with another SECRET_KEY: ours holds none, so seal them anew.
        rows.update(host="", user="", password="")
        connection = rows.first()
    if connection is None:
        connection = DatabaseConnection.objects.create(
            alias=alias, name=alias, engine=DatabaseConnection.DJANGO, default=True
        )
    elif not connection.default:
        connection.default = True
        connection.save()
    return connection


@transaction.atomic
def library_load() -> int:
    """Create or update the library's queries (by slug). Returns how many. Safe to run again."""
    from explorer.models import Query

    from billing.sql_reports.models import LibraryReport

    connection = ensure_connection()
    vendor = reports_vendor()
    for report in REPORTS:
        sql = sql_for(report, vendor)
        entry = LibraryReport.objects.select_related("query").filter(slug=report["slug"]).first()
        fields = {"title": report["title"], "description": report["description"], "sql": sql}
        if entry is None:
            query = Query.objects.create(database_connection=connection, **fields)
            LibraryReport.objects.create(slug=report["slug"], query=query, dialect=vendor)
        else:
            for name, value in fields.items():
                setattr(entry.query, name, value)
            entry.query.database_connection = connection
            entry.query.save()
            entry.dialect = vendor
            entry.save()
    return len(REPORTS)
