from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_invitation_role_choices"),
        ("orgs", "0003_invitation_from_accounts"),
    ]

    operations = [
        # Invitation lives in orgs now (orgs 0003); the table stays, only the state moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Invitation")],
        ),
    ]
