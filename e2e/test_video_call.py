"""A patient and a clinician in two browsers: waiting area, join, video and audio both ways,
controls (mute, camera off, switching camera, hold, leave, end)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from carecall.orgs.demo import CLINICIAN, demo_seed
from e2e.call_helpers import (
    end_call,
    leave_call,
    media_context,
    patient_enters,
    record_tile_flags,
    sign_in,
    tile_flags,
    wait_for_audio,
    wait_for_video,
)
from testsupport.browser import screenshot_path


def test_patient_waits_clinician_joins_and_both_see_each_other(
    live_url: str, browser: Browser
) -> None:
    demo_seed()
    clinician_ctx, patient_ctx = media_context(browser), media_context(browser)
    doctor, patient = clinician_ctx.new_page(), patient_ctx.new_page()

    sign_in(doctor, live_url, CLINICIAN.email)
    doctor.get_by_role("link", name="Waiting area of Harbour GP").click()
    expect(doctor.get_by_role("status").filter(has_text="Live")).to_be_visible()
    expect(doctor.get_by_text("Nobody is waiting.")).to_be_visible()

    patient_enters(patient, live_url, "Pat", "Jones")
    expect(patient.get_by_text("Please wait. A clinician will join you shortly.")).to_be_visible()

    # The caller appears without a reload.
    row = doctor.get_by_role("row", name=re.compile("Pat Jones"))
    expect(row).to_contain_text("Waiting")
    doctor.screenshot(path=screenshot_path("waiting-area"), full_page=True)
    record_tile_flags(patient)
    row.get_by_role("button", name="Join Pat Jones").click()

    expect(doctor).to_have_url(re.compile(r"/call/$"))
    expect(patient.get_by_role("list", name="People in the call")).to_be_visible()
    doctor_frames = wait_for_video(doctor)
    patient_frames = wait_for_video(patient)
    # Frames keep coming: video is flowing, not a single frame.
    assert wait_for_video(doctor, more_than=doctor_frames + 10) > doctor_frames
    assert wait_for_video(patient, more_than=patient_frames + 10) > patient_frames
    doctor.screenshot(path=screenshot_path("call-clinician"), full_page=True)
    patient.screenshot(path=screenshot_path("call-patient"), full_page=True)
    # While the clinician's page was opening the patient saw them joining, never "lost".
    seen = tile_flags(patient)
    assert "Dr Chris Lee: Joining…" in seen, seen
    assert not [line for line in seen if "Connection lost" in line], seen

    # ...and hear each other: audio samples with sound in them keep arriving on both sides.
    doctor_audio, patient_audio = wait_for_audio(doctor), wait_for_audio(patient)
    assert wait_for_audio(doctor, more_than=doctor_audio) > doctor_audio
    assert wait_for_audio(patient, more_than=patient_audio) > patient_audio

    # Camera off shows on the other side, and on again.
    patient_tile = doctor.locator("[data-tile]").filter(has_text="Pat Jones")
    patient.get_by_role("button", name="Stop video").click()
    expect(patient_tile).to_contain_text("Camera off")
    expect(patient.get_by_role("status").filter(has_text="Camera off.")).to_be_attached()
    patient.get_by_role("button", name="Start video").click()
    expect(patient_tile).not_to_contain_text("Camera off")

    # Switching camera (another of Chromium's fake cameras, in Devices) keeps the video flowing.
    patient.get_by_role("button", name="Devices").click()
    camera = patient.get_by_label("Camera", exact=True)
    expect(camera.locator("option")).to_have_count(3)
    camera.select_option(label="fake_device_2")
    expect(patient.get_by_role("status").filter(has_text="Device switched.")).to_be_attached()
    sending = "() => window.carecallCall.stream.getVideoTracks()[0].label"
    assert patient.evaluate(sending) == "fake_device_2"
    frames = wait_for_video(doctor)
    assert wait_for_video(doctor, more_than=frames + 10) > frames
    patient.keyboard.press("Escape")  # closes Devices, focus back on its button
    expect(patient.get_by_role("complementary", name="Devices")).to_be_hidden()
    expect(patient.get_by_role("button", name="Devices")).to_be_focused()

    # Mute shows on the other side.
    patient.get_by_role("button", name="Mute").click()
    expect(patient_tile).to_contain_text("Muted")
    patient.get_by_role("button", name="Unmute").click()
    expect(patient_tile).not_to_contain_text("Muted")

    # Hold and resume: exactly one of the two controls shows at a time.
    expect(doctor.get_by_role("button", name="Resume")).to_be_hidden()
    doctor.get_by_role("button", name="Put on hold").click()
    expect(doctor.get_by_role("button", name="Put on hold")).to_be_hidden()
    expect(patient.get_by_role("heading", name="You are on hold")).to_be_visible()
    expect(doctor.get_by_text("The patient is on hold.")).to_be_visible()
    doctor.get_by_role("button", name="Resume").click()
    expect(patient.get_by_role("list", name="People in the call")).to_be_visible()
    wait_for_video(doctor, more_than=0)
    wait_for_video(patient, more_than=0)

    # The clinician leaves: the patient goes back to waiting; joining again works.
    leave_call(doctor)
    expect(doctor).to_have_url(re.compile(r"/waiting-area/$"))
    expect(patient.get_by_role("heading", name="You are in the waiting area")).to_be_visible()
    doctor.get_by_role("row", name=re.compile("Pat Jones")).get_by_role(
        "button", name="Join Pat Jones"
    ).click()
    wait_for_video(patient)

    # End call for everyone.
    end_call(doctor)
    expect(patient.get_by_role("heading", name="The call has ended")).to_be_visible()
    patient.reload()
    expect(patient.get_by_role("heading", name="This consultation has ended")).to_be_visible()
    clinician_ctx.close()
    patient_ctx.close()
