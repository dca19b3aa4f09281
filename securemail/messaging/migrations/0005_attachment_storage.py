# The storage quota (issue 11): each attachment carries its message's sender and expiry, so
# that one sender's live files are summed from one index. Existing rows take them from
# their message.

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_from_messages(apps: Any, _schema_editor: Any) -> None:
    Attachment = apps.get_model("messaging", "Attachment")
    Message = apps.get_model("messaging", "Message")
    of_message = Message.objects.filter(pk=OuterRef("message_id"))
    Attachment.objects.update(
        sender_id=Subquery(of_message.values("sender_id")[:1]),
        expires_at=Subquery(of_message.values("expires_at")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0004_delivery_text_notification"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="attachment",
            name="sender",
            field=models.ForeignKey(
                null=True,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="attachment",
            name="expires_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(copy_from_messages, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="attachment",
            name="sender",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="attachment",
            name="expires_at",
            field=models.DateTimeField(),
        ),
        migrations.AddIndex(
            model_name="attachment",
            index=models.Index(fields=["sender", "expires_at", "size"], name="attachment_storage"),
        ),
    ]
