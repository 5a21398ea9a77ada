"""Huge ids in URL paths answer 404, never 500: every route of the URL configuration with an id
in its path (found by walking it, so a new route is covered), with the largest id the database
holds, one past it and a number of 30 digits, GET and POST, as an org admin and as an operator
(403 where the role is refused before any lookup)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from carecall.core.converters import LARGEST_ID
from testsupport.world import World, client_for

HUGE = [str(LARGEST_ID), str(LARGEST_ID + 1), "9" * 30]


def _routes(patterns: Sequence[object] | None = None, prefix: str = "") -> Iterator[str]:
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def _with_ids() -> list[str]:
    return sorted({r for r in _routes() if "<id:" in r})


def _url(route: str, number: str) -> str:
    url = re.sub(r"<id:\w+>", number, route)
    return "/" + re.sub(r"<uuid:\w+>", str(uuid.uuid4()), url)


def test_every_route_with_a_database_id_uses_the_id_converter() -> None:
    routes = list(_routes())
    assert len(_with_ids()) >= 20  # the walk reaches the apps' routes (it can fail)
    assert [r for r in routes if "<int:" in r] == []


@pytest.mark.django_db
@pytest.mark.parametrize("route", _with_ids())
def test_a_huge_id_in_the_path_answers_404_not_500(world: World, route: str) -> None:
    for persona in (world.org_admin, world.operator):
        client = client_for(persona)
        client.raise_request_exception = False
        for number in HUGE:
            url = _url(route, number)
            for method in (client.get, client.post):
                status = method(url).status_code
                assert status in (403, 404, 405), (url, method.__name__, status)


def _admin_change_urls() -> list[str]:
    from django.contrib import admin

    return sorted(
        f"/operator/django-admin/{model._meta.app_label}/{model._meta.model_name}/"
        for model in admin.site._registry
    )


@pytest.mark.django_db
@pytest.mark.parametrize("base", _admin_change_urls())
def test_a_huge_object_id_in_the_django_admin_answers_without_a_server_error(
    world: World, base: str
) -> None:
    from carecall.accounts.models import User

    superuser = User.objects.create_superuser("root@example.test", "pw-123456789", full_name="R")
    client = client_for(superuser)
    client.raise_request_exception = False
    for number in HUGE:
        for action in ("change/", "delete/", "history/"):
            status = client.get(f"{base}{number}/{action}").status_code
            assert status in (302, 403, 404), (base, number, action, status)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    ["page=" + "9" * 5000, "page=-1", "action=%00", "action=" + "x" * 5000, "page=%00"],
)
def test_the_audit_pages_query_strings_never_give_a_server_error(world: World, query: str) -> None:
    """The payments list, CSV and report have their own catalogue (test_records_query_strings)."""
    for persona, url in (
        (world.org_admin, f"/orgs/{world.organisation.pk}/audit/"),
        (world.operator, "/operator/audit/"),
    ):
        client = client_for(persona)
        client.raise_request_exception = False
        assert client.get(f"{url}?{query}").status_code == 200, (url, query)
