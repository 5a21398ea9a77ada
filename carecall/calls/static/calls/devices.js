// Camera and microphone: opening them, explaining failures, listing devices, a level meter.
// Used by the entry page's check and by the call's device pickers.

import { t } from "../core/i18n.js";

export function explainMediaError(error) {
  const name = error && error.name;
  if (name === "NotAllowedError" || name === "SecurityError") {
    return t("CareCall may not use your camera or microphone. Allow them in your browser (the icon in the address bar), then press Check again.");
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") {
    return t("No camera or microphone was found. Connect one, then press Check again.");
  }
  if (name === "NotReadableError") {
    return t("Your camera or microphone is busy in another program. Close it there, then press Check again.");
  }
  return t("Your camera or microphone could not be started (%(name)s).", { name: name || "?" });
}

export async function openMedia({ cameraId, microphoneId } = {}) {
  return navigator.mediaDevices.getUserMedia({
    audio: microphoneId ? { deviceId: { exact: microphoneId } } : true,
    video: cameraId ? { deviceId: { exact: cameraId } } : { width: 640, height: 480 },
  });
}

export async function fillDevicePickers(cameraSelect, microphoneSelect, stream) {
  const devices = await navigator.mediaDevices.enumerateDevices();
  const current = (kind) => {
    const track = stream && stream.getTracks().find((t) => t.kind === kind);
    return track ? track.getSettings().deviceId : "";
  };
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
  fill(cameraSelect, "videoinput", "video", t("Camera"));
  fill(microphoneSelect, "audioinput", "audio", t("Microphone"));
}

export function meterFor(stream, meter) {
  const track = stream.getAudioTracks()[0];
  if (!track || !meter) return () => {};
  const context = new AudioContext();
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
  return () => { running = false; context.close(); };
}

// The entry page's check: preview, level, pickers and a clear message.
function setUpCheck(root) {
  const preview = root.querySelector("[data-preview]");
  const status = root.querySelector("[data-device-status]");
  const cameraSelect = root.querySelector("[data-camera-select]");
  const microphoneSelect = root.querySelector("[data-microphone-select]");
  const meter = root.querySelector("[data-level]");
  let stream = null;
  let stopMeter = () => {};
  const start = async () => {
    stopMeter();
    if (stream) stream.getTracks().forEach((t) => t.stop());
    status.textContent = t("Starting your camera and microphone…");
    try {
      stream = await openMedia({ cameraId: cameraSelect.value, microphoneId: microphoneSelect.value });
      preview.srcObject = stream;
      stopMeter = meterFor(stream, meter);
      await fillDevicePickers(cameraSelect, microphoneSelect, stream);
      status.textContent = t("Your camera and microphone work. Speak to see the level move.");
      root.dataset.state = "ok";
    } catch (error) {
      status.textContent = explainMediaError(error);
      root.dataset.state = "error";
    }
  };
  root.querySelector("[data-check-devices]").addEventListener("click", start);
  cameraSelect.addEventListener("change", start);
  microphoneSelect.addEventListener("change", start);
  start();
}

const check = document.querySelector("[data-device-check]");
if (check) setUpCheck(check);
