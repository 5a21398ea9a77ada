"""`email_sent(sender=OutboxEmail, email=<row>)`: sent once a row really went out."""

from django.dispatch import Signal

email_sent = Signal()
