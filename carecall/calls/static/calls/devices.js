// Camera and microphone: opening them, explaining failures, listing devices, a level meter.
// Used by the entry page's check and by the call's device pickers.

import { one } from "../core/dom.js";
import { format, gettext } from "../core/i18n.js";

/** @typedef {{ cameraId?: string, microphoneId?: string }} DeviceChoice */

const REMEMBERED = "carecall.devices";

/** @param {unknown} error */
export function explainMediaError(error) {
  const name = error instanceof Error || error instanceof DOMException ? error.name : "";
  if (name === "NoMediaDevices") {
    return gettext("This browser offers no camera or microphone to this page. Open the link exactly as you received it (it starts with https://), in a current browser.");
  }
  if (name === "NotAllowedError" || name === "SecurityError") {
    return gettext("CareCall may not use your camera or microphone. Allow them in your browser (the icon in the address bar), then press Check again.");
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") {
    return gettext("No camera or microphone was found. Connect one, then press Check again.");
  }
  if (name === "NotReadableError") {
    return gettext("Your camera or microphone is busy in another program. Close it there, then press Check again.");
  }
  return format(gettext("Your camera or microphone could not be started (%(name)s)."), { name: name || "?" });
}

function mediaDevices() {
  // Missing outside a secure context (plain http on another host) and in old browsers.
  const devices = navigator.mediaDevices;
  if (devices && typeof devices.getUserMedia === "function") return devices;
  const error = new Error("navigator.mediaDevices is missing");
  error.name = "NoMediaDevices";
  throw error;
}

// The camera and microphone the patient chose, for the rest of this tab's visit.
/** @returns {DeviceChoice} */
export function rememberedDevices() {
  try {
    return JSON.parse(sessionStorage.getItem(REMEMBERED) || "{}");
  } catch {
    return {};
  }
}

/** @param {MediaStream} stream */
export function rememberDevices(stream) {
  const id = (/** @type {string} */ kind) => {
    const track = stream.getTracks().find((t) => t.kind === kind);
    return (track && track.getSettings().deviceId) || "";
  };
  try {
    sessionStorage.setItem(REMEMBERED, JSON.stringify({ cameraId: id("video"), microphoneId: id("audio") }));
  } catch {
    // Storage off: the default devices will do.
  }
}

// The remembered devices when they still exist, else the defaults.
export async function openRememberedMedia() {
  const remembered = rememberedDevices();
  if (remembered.cameraId || remembered.microphoneId) {
    try {
      return await openMedia(remembered);
    } catch (error) {
      const name = error instanceof Error || error instanceof DOMException ? error.name : "";
      if (!["OverconstrainedError", "NotFoundError", "NotReadableError"].includes(name)) throw error;
    }
  }
  return openMedia();
}

/**
 * @param {DeviceChoice} [choice]
 * @returns {Promise<MediaStream>}
 */
export async function openMedia({ cameraId, microphoneId } = {}) {
  return mediaDevices().getUserMedia({
    audio: microphoneId ? { deviceId: { exact: microphoneId } } : true,
    video: cameraId ? { deviceId: { exact: cameraId } } : { width: 640, height: 480 },
  });
}

/**
 * @param {HTMLSelectElement | null} cameraSelect
 * @param {HTMLSelectElement | null} microphoneSelect
 * @param {MediaStream | null} stream
 */
export async function fillDevicePickers(cameraSelect, microphoneSelect, stream) {
  const devices = await mediaDevices().enumerateDevices();
  const current = (/** @type {string} */ kind) => {
    const track = stream && stream.getTracks().find((t) => t.kind === kind);
    return track ? track.getSettings().deviceId : "";
  };
  /**
   * @param {HTMLSelectElement | null} select
   * @param {MediaDeviceKind} kind
   * @param {string} trackKind
   * @param {string} fallback
   */
  const fill = (select, kind, trackKind, fallback) => {
    if (!select) return;
    select.replaceChildren();
    devices.filter((d) => d.kind === kind).forEach((d, i) => {
      const option = new Option(d.label || `${fallback} ${i + 1}`, d.deviceId);
      option.selected = d.deviceId === current(trackKind);
      select.append(option);
    });
    select.disabled = select.options.length === 0;
  };
  fill(cameraSelect, "videoinput", "video", gettext("Camera"));
  fill(microphoneSelect, "audioinput", "audio", gettext("Microphone"));
}

/**
 * @param {MediaStream} stream
 * @param {HTMLMeterElement | null} meter
 * @returns {() => void} stops the meter
 */
export function meterFor(stream, meter) {
  const track = stream.getAudioTracks()[0];
  if (!track || !meter) return () => {};
  const context = new AudioContext();
  // A context made without a click may start suspended (autoplay rules): the meter would stay
  // at zero. Resume it now, and again on the first click or key if the browser said no.
  const resume = () => { if (context.state === "suspended") context.resume().catch(() => {}); };
  resume();
  document.addEventListener("click", resume, { once: true });
  document.addEventListener("keydown", resume, { once: true });
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
  const samples = new Uint8Array(analyser.fftSize);
  let running = true;
  const tick = () => {
    if (!running) return;
    analyser.getByteTimeDomainData(samples);
    let peak = 0;
    for (const s of samples) peak = Math.max(peak, Math.abs(s - 128));
    meter.value = Math.min(100, Math.round((peak / 128) * 200));
    requestAnimationFrame(tick);
  };
  tick();
  return () => {
    running = false;
    document.removeEventListener("click", resume);
    document.removeEventListener("keydown", resume);
    context.close();
  };
}

// The entry page's check: preview, level, pickers and a clear message.
/** @param {HTMLElement} root */
function setUpCheck(root) {
  const preview = one(root, "[data-preview]", HTMLVideoElement);
  const status = one(root, "[data-device-status]");
  const cameraSelect = one(root, "[data-camera-select]", HTMLSelectElement);
  const microphoneSelect = one(root, "[data-microphone-select]", HTMLSelectElement);
  const meter = one(root, "[data-level]", HTMLMeterElement);
  /** @type {MediaStream | null} */
  let stream = null;
  let stopMeter = () => {};
  const start = async () => {
    stopMeter();
    if (stream) stream.getTracks().forEach((t) => t.stop());
    status.textContent = gettext("Starting your camera and microphone…");
    try {
      const chosen = cameraSelect.value || microphoneSelect.value
        ? { cameraId: cameraSelect.value, microphoneId: microphoneSelect.value }
        : null;
      stream = chosen ? await openMedia(chosen) : await openRememberedMedia();
      rememberDevices(stream);
      preview.srcObject = stream;
      stopMeter = meterFor(stream, meter);
      await fillDevicePickers(cameraSelect, microphoneSelect, stream);
      status.textContent = gettext("Your camera and microphone work. Speak to see the level move.");
      root.dataset.state = "ok";
    } catch (error) {
      status.textContent = explainMediaError(error);
      root.dataset.state = "error";
    }
  };
  one(root, "[data-check-devices]").addEventListener("click", start);
  cameraSelect.addEventListener("change", start);
  microphoneSelect.addEventListener("change", start);
  start();
}

const check = document.querySelector("[data-device-check]");
if (check instanceof HTMLElement) setUpCheck(check);
