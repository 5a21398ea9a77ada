"""Navigation comes from the apps: each registers its entries (carecall.core.navigation) and the
shared pages render what is registered, in order, to the people it is meant for. core's and
orgs' templates link to no feature by name."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

import carecall
from carecall.core.navigation import NavEntry, nav_entries_register, nav_entry_unregister
from carecall.orgs.navigation import clinic_managers
from testsupport.world import World, client_for

FEATURES = ("payments", "calls", "clinic_apps", "audit")


def _links(html: str, css_class: str = "actions") -> list[str]:
    block = html.split(f'<ul class="{css_class}">', 1)[1].split("</ul>", 1)[0]
    return re.findall(r">([^<>]+)</a>", block)


@pytest.fixture
def extra_entry() -> Iterator[None]:
    nav_entries_register(
        NavEntry("clinic", "test_extra", _("Extra tool"), "orgs:clinic", 45, clinic_managers)
    )
    yield
    nav_entry_unregister("clinic", "test_extra")


@pytest.mark.django_db
def test_a_clinic_page_shows_the_registered_entries_in_order_by_role(world: World) -> None:
    url = reverse("orgs:clinic", args=[world.harbour.pk])
    admin = client_for(world.clinic_admin).get(url).content.decode()
    assert _links(admin) == [
        "Waiting area",
        "Payments",
        "Members",
        "Clinic settings",
        "Waiting area settings",
        "Configure › Customer payments",
        "Apps",
    ]
    clinician = client_for(world.clinician).get(url).content.decode()
    assert _links(clinician) == ["Waiting area", "Payments"]


@pytest.mark.django_db
@pytest.mark.usefixtures("extra_entry")
def test_an_entry_an_app_registers_appears_where_it_belongs(world: World) -> None:
    url = reverse("orgs:clinic", args=[world.harbour.pk])
    admin = _links(client_for(world.clinic_admin).get(url).content.decode())
    assert admin.index("Extra tool") == admin.index("Clinic settings") + 1
    assert "Extra tool" not in _links(client_for(world.clinician).get(url).content.decode())
    # Not meant for the home page (no home label): not there.
    assert "Extra tool" not in client_for(world.clinic_admin).get("/").content.decode()


@pytest.mark.django_db
def test_the_header_shows_operator_entries_to_operators_only(world: World) -> None:
    operator = client_for(world.operator).get("/").content.decode()
    header = operator.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r">([^<>]+)</a>", header) == [
        "Home",
        "Operator",
        "App requests",
        "Audit trail",
    ]
    admin = client_for(world.org_admin).get("/").content.decode()
    header = admin.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r">([^<>]+)</a>", header) == ["Home"]


@pytest.mark.django_db
def test_the_home_page_labels_each_clinic_entry_with_the_clinic(world: World) -> None:
    home = client_for(world.clinic_admin).get("/").content.decode()
    assert 'aria-label="Customer payments of Harbour GP"' in home
    assert 'aria-label="Waiting area of Harbour GP"' in home
    assert "Waiting area settings" not in home


def test_a_place_nobody_renders_or_a_second_entry_of_one_key_is_refused() -> None:
    with pytest.raises(ValueError, match="sidebar"):
        nav_entries_register(NavEntry("sidebar", "x", "X", "orgs:home", 1))
    with pytest.raises(ValueError, match="payments"):
        nav_entries_register(NavEntry("clinic", "payments", "Money", "orgs:home", 1))


def test_core_and_orgs_templates_link_to_no_feature() -> None:
    root = Path(carecall.__file__).parent
    pattern = re.compile(r"""\{%\s*url\s+['"](""" + "|".join(FEATURES) + "):")
    offenders = [
        str(path.relative_to(root))
        for app in ("core", "orgs")
        for path in sorted((root / app / "templates").rglob("*.html"))
        if pattern.search(path.read_text())
    ]
    assert offenders == []
    # The check sees a feature link when there is one.
    assert pattern.search("<a href=\"{% url 'payments:org_report' organisation.pk %}\">")
