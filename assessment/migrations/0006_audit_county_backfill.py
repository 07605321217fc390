"""Give the audit events recorded before 0005 the county they concern, where the object says.

Events whose object names no county (publishing instruments and keys, a rescore of every
county's responses) stay without one: every admin reads those.
"""
from django.db import migrations

# object_type -> (app label, model, path from that model to its county id)
COUNTY_OF = {
    "Wave": ("assessment", "Wave", "county_id"),
    "Frame": ("assessment", "Frame", "county_id"),
    "Case": ("assessment", "Case", "wave__county_id"),
    "SampleDesign": ("assessment", "SampleDesign", "wave__county_id"),
    "SampleDraw": ("assessment", "SampleDraw", "design__wave__county_id"),
    "WeightSet": ("assessment", "WeightSet", "wave__county_id"),
    "WaveInstrument": ("assessment", "WaveInstrument", "wave__county_id"),
    "Response": ("questionnaires", "Response", "wave__county_id"),
    "Report": ("reports", "Report", "wave__county_id"),
    "ReportBatch": ("reports", "ReportBatch", "wave__county_id"),
    "User": ("assessment", "StaffProfile", "county_id"),  # cases.assign names the enumerator
    "ApiToken": ("api", "ApiToken", "user__staff__county_id"),
}


def backfill(apps, schema_editor):  # type: ignore[no-untyped-def]
    AuditEvent = apps.get_model("assessment", "AuditEvent")
    for object_type, (app_label, model_name, path) in COUNTY_OF.items():
        try:
            model = apps.get_model(app_label, model_name)
        except LookupError:  # an app not installed in this project's history
            continue
        # the base manager: the model's own refuses updates (append-only); this one fills a new column
        events = AuditEvent._base_manager.filter(object_type=object_type, county__isnull=True)
        ids = {int(i) for i in events.values_list("object_id", flat=True) if str(i).isdigit()}
        if not ids:
            continue
        key = "user_id" if model_name == "StaffProfile" else "pk"
        counties = dict(model.objects.filter(**{f"{key}__in": ids}).values_list(key, path))
        for object_id, county_id in counties.items():
            if county_id is not None:
                events.filter(object_id=str(object_id)).update(county_id=county_id)


class Migration(migrations.Migration):

    dependencies = [
        ("assessment", "0005_audit_county"),
        ("questionnaires", "0003_key_revisions"),
        ("reports", "0002_variants_batches_snapshots"),
        ("api", "0001_initial"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
