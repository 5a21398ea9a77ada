"""Two CareCall processes, one Redis, one database — the production shape (docs/targets.md, "The real parts").

A caller who enters on process A must appear live on a clinician's waiting-area page served by
process B. Each process has its own websockets, so the event can only get from A to B through
channels-redis' pub/sub layer: with the in-memory layer (no REDIS_URL) these tests fail.

The processes are real `uvicorn` children configured only by environment variables, sharing a
SQLite file (WAL) and a throwaway redis-server. Nothing here touches pytest-django's test
database: the test process only drives browsers and HTTP/websocket clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from carecall.orgs.demo import CLINICIAN, DEMO_PASSWORD, ORG_ADMIN, PHYSIO
from e2e.call_helpers import end_call, media_context, patient_enters, sign_in, wait_for_video
from testsupport.app_processes import AppConfig, AppProcess, app_processes, manage
from testsupport.browser import screenshot_path
from testsupport.redis_server import throwaway_redis


@dataclass(frozen=True)
class Deployment:
    a: AppProcess  # where patients enter
    b: AppProcess  # where the clinician watches
    redis_url: str

    def logs(self) -> str:
        return f"--- process A log:\n{self.a.log_text()}\n--- process B log:\n{self.b.log_text()}"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp("two-processes")
    with throwaway_redis() as redis_url:
        config = AppConfig(
            database_url=f"sqlite:///{folder / 'carecall.sqlite3'}",
            var_dir=folder,
            redis_url=redis_url,
            extra={"CALL_TEST_HOOKS": "true"},  # window.carecallCall, read by wait_for_video
        )
        # The database exists before either server starts, as in a deploy: migrate, then serve.
        manage(config, "migrate", "--noinput")
        manage(config, "seed_demo")
        with app_processes(config, "a", "b") as (a, b):
            yield Deployment(a=a, b=b, redis_url=redis_url)


def _with_logs(deployment: Deployment, check: Callable[[], object]) -> None:
    """Run a check; when it fails, show both servers' logs (the cause is usually there)."""
    try:
        check()
    except AssertionError as error:
        raise AssertionError(f"{error}\n{deployment.logs()}") from error


def test_caller_entering_on_one_process_appears_live_on_a_page_of_the_other(
    deployment: Deployment, browser: Browser
) -> None:
    a, b = deployment.a, deployment.b
    assert a.pid != b.pid and a.port != b.port
    doctor_ctx, patient_ctx = media_context(browser), media_context(browser)
    doctor, patient = doctor_ctx.new_page(), patient_ctx.new_page()

    sign_in(doctor, b.url, CLINICIAN.email)
    doctor.get_by_role("link", name="Waiting area of Harbour GP").click()
    expect(doctor.get_by_role("status").filter(has_text="Live")).to_be_visible()
    row = doctor.get_by_role("row", name=re.compile("Ada Across"))
    expect(row).to_have_count(0)
    # A reload would wipe this flag; finding it afterwards proves the row came over the socket.
    doctor.evaluate("window.__sameDocument = true")

    patient_enters(patient, a.url, "Ada", "Across")
    assert patient.url.startswith(a.url + "/v/")

    _with_logs(deployment, lambda: expect(row).to_contain_text("Waiting", timeout=5000))
    assert doctor.url.startswith(b.url + "/clinics/")
    assert doctor.evaluate("window.__sameDocument") is True
    doctor.screenshot(path=screenshot_path("waiting-area-two-processes"), full_page=True)
    doctor_ctx.close()
    patient_ctx.close()


def test_clinician_on_one_process_calls_a_patient_on_the_other(
    deployment: Deployment, browser: Browser
) -> None:
    """Signalling crosses processes too: offers, answers and candidates go through Redis."""
    a, b = deployment.a, deployment.b
    doctor_ctx, patient_ctx = media_context(browser), media_context(browser)
    doctor, patient = doctor_ctx.new_page(), patient_ctx.new_page()

    sign_in(doctor, b.url, CLINICIAN.email)
    doctor.get_by_role("link", name="Waiting area of Harbour GP").click()
    patient_enters(patient, a.url, "Cal", "Crossing")
    row = doctor.get_by_role("row", name=re.compile("Cal Crossing"))
    _with_logs(deployment, lambda: expect(row).to_contain_text("Waiting"))
    row.get_by_role("button", name="Join Cal Crossing").click()

    expect(doctor).to_have_url(re.compile(r"/call/$"))
    # The call screen shows once call.js has run and its welcome arrived; before that there is
    # no window.carecallCall for wait_for_video to read.
    for page in (doctor, patient):
        expect(page.get_by_role("list", name="People in the call")).to_be_visible()
    _with_logs(deployment, lambda: wait_for_video(doctor))
    _with_logs(deployment, lambda: wait_for_video(patient))
    end_call(doctor)
    _with_logs(
        deployment,
        lambda: expect(patient.get_by_role("heading", name="The call has ended")).to_be_visible(),
    )
    doctor_ctx.close()
    patient_ctx.close()


# ------------------------------------------------------------------ the same without a browser


class SiteClient:
    """A cookie-keeping HTTP client that fills CareCall's forms as a browser would (CSRF too)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        # No proxy: these are loopback servers, whatever the environment says.
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(self.jar)
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.base_url + path, timeout=10) as response:
            return str(response.read().decode())

    def submit(self, path: str, fields: dict[str, str], action: str | None = None) -> str:
        """GET the form's page for its CSRF token, POST the fields (to `action` when the form
        posts elsewhere); return the final URL."""
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.get(path))
        assert token, f"no CSRF token on {path}"
        data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": token.group(1)}).encode()
        target = action or path
        try:
            with self.opener.open(self.base_url + target, data=data, timeout=10) as response:
                return str(response.geturl())
        except urllib.error.HTTPError as error:
            body = error.read().decode()[:2000]
            raise AssertionError(f"POST {target}: {error.code}\n{body}") from error

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def test_waiting_area_socket_on_one_process_hears_a_caller_entering_on_the_other(
    deployment: Deployment,
) -> None:
    a, b = deployment.a, deployment.b
    clinician = SiteClient(b.url)
    home = clinician.submit(
        "/accounts/sign-in/", {"username": CLINICIAN.email, "password": DEMO_PASSWORD, "next": ""}
    )
    assert "/accounts/sign-in/" not in home, "the clinician could not sign in"
    waiting_area = re.search(
        r'href="(/clinics/(\d+)/waiting-area/)" aria-label="Waiting area of Harbour GP"',
        clinician.get("/"),
    )
    assert waiting_area, "no link to Harbour GP's waiting area on the clinician's home page"
    ws_url = (
        b.url.replace("http://", "ws://") + f"/ws/clinics/{waiting_area.group(2)}/waiting-area/"
    )

    def patient_enters_on_a() -> str:
        patient = SiteClient(a.url)
        fields = {"first_name": "Wes", "last_name": "Socket", "phone": "", "accept_terms": "on"}
        return patient.submit("/c/harbour-gp/", fields)

    async def watch() -> tuple[dict[str, Any], float]:
        async with connect(
            ws_url,
            origin=Origin(b.url),
            additional_headers={"Cookie": clinician.cookie_header()},
            proxy=None,
            open_timeout=5,
        ) as ws:
            snapshot = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert snapshot["type"] == "waiting_snapshot", snapshot
            assert "Wes Socket" not in [v["name"] for v in snapshot["visits"]]
            visit_url = await asyncio.to_thread(patient_enters_on_a)
            assert visit_url.startswith(a.url + "/v/"), visit_url
            entered = time.monotonic()
            async with asyncio.timeout(5):
                while True:
                    event = json.loads(await ws.recv())
                    if event["type"] == "visit_changed" and event["visit"]["name"] == "Wes Socket":
                        return event, time.monotonic() - entered

    try:
        # In its own thread: Playwright's sync API keeps an event loop running in this one.
        with ThreadPoolExecutor(max_workers=1) as pool:
            event, delay = pool.submit(asyncio.run, watch()).result()
    except TimeoutError:
        raise AssertionError(
            f"process B's socket never heard of the caller who entered on A\n{deployment.logs()}"
        ) from None
    assert event["visit"]["status"] == "waiting"
    assert event["visit"]["join_url"].startswith(f"/clinics/{waiting_area.group(2)}/visits/")
    # Generous bound for a loaded CI box; on this machine it is a few milliseconds.
    assert delay < 2, f"the event took {delay:.3f} s after the patient's POST returned"


def test_a_member_removed_on_one_process_loses_their_socket_on_the_other(
    deployment: Deployment,
) -> None:
    """Access changes are events too: the organisation admin removes Nina from Northside on
    process A; her waiting-area socket on process B closes (4403) within 2 s."""
    a, b = deployment.a, deployment.b
    nina = SiteClient(b.url)
    nina.submit(
        "/accounts/sign-in/", {"username": PHYSIO.email, "password": DEMO_PASSWORD, "next": ""}
    )
    waiting_area = re.search(
        r'href="/clinics/(\d+)/waiting-area/" aria-label="Waiting area of Northside Physio"',
        nina.get("/"),
    )
    assert waiting_area, "no link to Northside's waiting area on Nina's home page"
    clinic_id = waiting_area.group(1)
    ws_url = b.url.replace("http://", "ws://") + f"/ws/clinics/{clinic_id}/waiting-area/"

    admin = SiteClient(a.url)
    admin.submit(
        "/accounts/sign-in/", {"username": ORG_ADMIN.email, "password": DEMO_PASSWORD, "next": ""}
    )
    members = admin.get(f"/clinics/{clinic_id}/members/")
    remove = re.search(
        rf'action="(/clinics/{clinic_id}/members/\d+/remove/)"[^>]*Nina Patel', members
    )
    assert remove, "no Remove form for Nina on Northside's members page"

    async def watch() -> tuple[int | None, str | None, float]:
        async with connect(
            ws_url,
            origin=Origin(b.url),
            additional_headers={"Cookie": nina.cookie_header()},
            proxy=None,
            open_timeout=5,
        ) as ws:
            snapshot = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert snapshot["type"] == "waiting_snapshot", snapshot
            removed = time.monotonic()
            await asyncio.to_thread(
                admin.submit, f"/clinics/{clinic_id}/members/", {}, remove.group(1)
            )
            with contextlib.suppress(ConnectionClosed):
                async with asyncio.timeout(5):
                    while True:
                        await ws.recv()
            return ws.close_code, ws.close_reason, time.monotonic() - removed

    with ThreadPoolExecutor(max_workers=1) as pool:
        code, reason, delay = pool.submit(asyncio.run, watch()).result()
    _with_logs(deployment, lambda: _closed_for_access(code, reason, delay))


def _closed_for_access(code: int | None, reason: str | None, delay: float) -> None:
    assert (code, reason) == (4403, "your access has changed")
    assert delay < 2, f"closed {delay:.3f} s after the removal"
