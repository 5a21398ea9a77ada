from datetime import timedelta
from typing import Any

from django import template
from django.utils.translation import ngettext

from carecall.core.navigation import nav_links

register = template.Library()


@register.filter
def duration_words(value: timedelta | None) -> str:
    """'15 minutes', '1 hour', '1 hour 30 minutes': how long someone has to wait, in words."""
    if value is None:
        return ""
    total_minutes = max(1, round(value.total_seconds() / 60))
    hours, minutes = divmod(total_minutes, 60)
    parts = []
    if hours:
        parts.append(ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours})
    if minutes:
        parts.append(ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes})
    return " ".join(parts)


@register.simple_tag
def navigation(place: str, subject: Any, *args: Any, home: bool = False, name: str = "") -> Any:
    """`{% navigation "clinic" access clinic.pk as links %}`: the registered entries of a
    place that this person sees (carecall.core.navigation)."""
    return nav_links(place, subject, *args, home=home, name=name)
