"""Forms of the payments pages (the query-string filters are in reports.py)."""

from __future__ import annotations

from django import forms

from carecall.core.text import TextInputsChecked


class RefundForm(TextInputsChecked, forms.Form):
    """A payment detail page's Refund form, as typed: `refund_create` checks the amount, the
    reason and the token; this form refuses control characters first (a NUL in the note could
    not even be stored on PostgreSQL)."""

    amount = forms.CharField(required=False)
    reason = forms.CharField(required=False)
    # Line breaks are ordinary whitespace here (the service makes the note one line).
    note = forms.CharField(required=False, widget=forms.Textarea)
    form_token = forms.CharField(required=False)

    def first_error(self) -> str:
        return next(str(e) for errors in self.errors.values() for e in errors)
