"""The inbox keeps each event's raw body as text (no content can fail the insert, as a
`\\u0000` fails PostgreSQL's jsonb), and the workers take rows in batches themselves, so the
per-event task bookkeeping (`enqueued_at`) goes."""

import json

from django.db import migrations, models


def payload_to_body(apps, schema_editor):
    StripeEvent = apps.get_model("payments", "StripeEvent")
    for row in StripeEvent.objects.only("pk", "event_id", "type", "account", "payload").iterator():
        payload = row.payload or {}
        event = {
            "id": row.event_id,
            "object": "event",
            "type": row.type,
            "account": row.account or None,
            "created": payload.get("created") or 0,
            "data": {"object": payload.get("object") or {}},
        }
        StripeEvent.objects.filter(pk=row.pk).update(body=json.dumps(event))


class Migration(migrations.Migration):
    dependencies = [("payments", "0007_stripeevent_inbox")]

    operations = [
        migrations.AddField(
            model_name="stripeevent", name="body", field=models.TextField(default="")
        ),
        migrations.RunPython(payload_to_body, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="stripeevent", name="body", field=models.TextField()
        ),
        migrations.RemoveField(model_name="stripeevent", name="payload"),
        migrations.RemoveField(model_name="stripeevent", name="enqueued_at"),
    ]
