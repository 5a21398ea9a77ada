// The call: signalling over a websocket, a full mesh of RTCPeerConnections, and the controls.
//
// Who offers: whoever arrives (a fresh page, or the patient coming back from waiting or hold)
// offers to everyone already there. Glare is settled by "perfect negotiation": the peer with
// the greater id is polite. After a dropped connection, the peer with the smaller id restarts ICE.

import { confirmDialog } from "../core/confirm.js";
import { maybe, one, say } from "../core/dom.js";
import { format, gettext } from "../core/i18n.js";
import { ReconnectingSocket } from "../core/socket.js";
import { explainMediaError, fillDevicePickers, openMedia, openRememberedMedia, rememberDevices } from "./devices.js";

/**
 * Someone in the call as the server describes them (calls/consumers.py).
 * @typedef {object} Person
 * @property {string} id
 * @property {string} name
 * @property {string} [kind]
 * @property {boolean} [audio]
 * @property {boolean} [video]
 * @property {boolean} [connected]
 * @property {boolean} [joining]
 */

/**
 * A connection to one other person.
 * @typedef {object} Peer
 * @property {Person} info
 * @property {RTCPeerConnection} pc
 * @property {boolean} polite
 * @property {boolean} makingOffer
 * @property {boolean} ignoreOffer
 * @property {RTCIceCandidateInit[]} pending
 * @property {boolean} [poor]
 * @property {{ lost: number, received: number }} [lastStats]
 */

/** @typedef {{ key: string, name: string, icon: string }} CallApp */

const root = one(document, "[data-call]");
/** @param {string} selector */
const $ = (selector) => one(root, selector);
const role = root.dataset.role;
const announceEl = $("[data-announce]");
const cameraSelect = one(root, "[data-camera-select]", HTMLSelectElement);
const microphoneSelect = one(root, "[data-microphone-select]", HTMLSelectElement);

const state = {
  /** @type {Person | null} */
  me: null,
  /** @type {string | null} */
  visitStatus: null,
  /** @type {RTCIceServer[]} */
  iceServers: [],
  /** @type {RTCIceTransportPolicy} */
  policy: "all",
  /** @type {Map<string, Peer>} */
  peers: new Map(),
  /** @type {Map<string, Person>} everyone present, with or without a connection */
  people: new Map(),
  /** @type {MediaStream | null} */
  stream: null,
  audio: true,
  video: true,
  closedOnPurpose: false,
  /** @type {number | null} */
  callStartedAt: null,
  /** @type {number | null} */
  waitingSince: null,
  /** @type {string | null} */
  screen: null,
  reconnecting: false,
};

/** @param {string} text */
function announce(text) {
  say(announceEl, text);
}

/** @param {object} message */
function send(message) {
  socket.send(message);
}

function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  const mm = h ? String(m % 60).padStart(2, "0") : String(m);
  return (h ? `${h}:` : "") + `${mm}:${String(s % 60).padStart(2, "0")}`;
}

window.setInterval(() => {
  if (state.waitingSince) $("[data-elapsed]").textContent = clock(Date.now() - state.waitingSince);
  if (state.callStartedAt && state.screen === "call") $("[data-duration]").textContent = clock(Date.now() - state.callStartedAt);
}, 1000);

// ------------------------------------------------------------------ screens

const SCREENS = { waiting: "[data-waiting]", left: "[data-left-screen]", call: "[data-in-call]", ended: "[data-ended]" };

function show(screen) {
  for (const [name, selector] of Object.entries(SCREENS)) $(selector).hidden = screen !== name;
  // After the end, or after leaving, no call control remains (only what that screen offers).
  $("[data-controls]").hidden = screen === "ended" || screen === "left";
  if (screen === "ended" || screen === "left") closePanels();
  state.screen = screen;
  if (screen === "call" && !state.callStartedAt) state.callStartedAt = Date.now();
}

function showWaiting(onHold) {
  closeAllPeers();
  $("[data-waiting-heading]").textContent = onHold
    ? gettext("You are on hold")
    : gettext("You are in the waiting area");
  one(root, "[data-waiting-preview]", HTMLVideoElement).srcObject = state.stream;
  show("waiting");
  announce(onHold ? gettext("The clinician put you on hold. Please wait.") : gettext("Please wait. A clinician will join you."));
}

function stopMedia() {
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
}

function showEnded(text) {
  if (state.screen === "ended") return; // "ended" and then visit_status "done": say it once
  state.closedOnPurpose = true;
  closeAllPeers();
  stopMedia();
  const textEl = $("[data-ended-text]");
  textEl.textContent = text || "";
  textEl.hidden = !text;
  const summary = maybe(root, "[data-summary-duration]");
  if (summary && state.callStartedAt) summary.textContent = clock(Date.now() - state.callStartedAt);
  state.callStartedAt = null;
  show("ended");
  announce(text || gettext("The call has ended"));
  // In-call apps show what is left to do (an unpaid request) or a summary (payments).
  document.dispatchEvent(new CustomEvent("carecall:ended", { detail: { slot: $("[data-ended-apps]") } }));
  socket.stop();
}

function showLeft() {
  state.closedOnPurpose = true;
  closeAllPeers();
  stopMedia();
  state.stream = null;
  show("left");
  $('[data-action="rejoin"]').focus();
  announce(gettext("You left the call. You can rejoin with this link."));
}

// ------------------------------------------------------------------ tiles

function initials(name) {
  return (name || "?").split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join("");
}

function countTiles() {
  const tiles = $("[data-tiles]");
  const n = tiles.children.length;
  tiles.dataset.count = String(Math.min(n, 6));
  $("[data-stage-empty]").hidden = n > 0;
}

function tileFor(id, name) {
  let tile = maybe(root, `[data-tile="${id}"]`);
  if (tile) return tile;
  tile = document.createElement("li");
  tile.className = "tile";
  tile.dataset.tile = id;
  const video = document.createElement("video");
  video.autoplay = true;
  video.playsInline = true;
  const avatar = document.createElement("span");
  avatar.className = "tile-avatar";
  avatar.setAttribute("aria-hidden", "true");
  avatar.textContent = initials(name);
  const caption = document.createElement("p");
  caption.className = "tile-name";
  caption.textContent = name;
  const flags = document.createElement("p");
  flags.className = "tile-flags";
  flags.dataset.flags = "";
  tile.append(video, avatar, caption, flags);
  $("[data-tiles]").append(tile);
  countTiles();
  return tile;
}

/**
 * @param {string} id
 * @param {{ audio?: boolean, video?: boolean, connected?: boolean, joining?: boolean, note?: string }} flags
 */
function setFlags(id, { audio, video, connected, joining, note }) {
  const tile = maybe(root, `[data-tile="${id}"]`);
  if (!tile) return;
  const parts = [];
  // Someone whose page has not connected yet is joining; only a socket that closed is lost.
  const lost = connected === false && !joining;
  if (joining && connected === false && !note) parts.push(gettext("Joining…"));
  if (lost) parts.push(gettext("Connection lost, reconnecting…"));
  if (note) parts.push(note);
  if (audio === false) parts.push(gettext("Muted"));
  if (video === false) parts.push(gettext("Camera off"));
  if (tile.classList.contains("poor") && !lost) parts.push(gettext("Poor connection"));
  one(tile, "[data-flags]").textContent = parts.join(" · ");
  tile.classList.toggle("lost", lost);
  tile.classList.toggle("camera-off", video === false);
}

function removeTile(id) {
  const tile = maybe(root, `[data-tile="${id}"]`);
  if (tile) tile.remove();
  countTiles();
}

function showSelf() {
  one(root, "[data-self-video]", HTMLVideoElement).srcObject = state.stream;
  $("[data-self-pip]").classList.toggle("camera-off", !state.video);
}

function setStatusChip() {
  const chip = $("[data-status-chip]");
  let text = "";
  if (state.reconnecting) text = gettext("Reconnecting…");
  else if (state.visitStatus === "on_hold" && role !== "patient") text = gettext("On hold");
  else if ([...state.peers.values()].some((p) => p.poor)) text = gettext("Poor connection");
  chip.textContent = text;
  chip.hidden = !text;
}

// ------------------------------------------------------------------ peers

function closePeer(id) {
  const peer = state.peers.get(id);
  if (peer) peer.pc.close();
  state.peers.delete(id);
}

function closeAllPeers() {
  for (const id of [...state.peers.keys()]) {
    closePeer(id);
    removeTile(id);
  }
}

function createPeer(info) {
  closePeer(info.id);
  const pc = new RTCPeerConnection({ iceServers: state.iceServers, iceTransportPolicy: state.policy });
  const me = state.me ? state.me.id : "";
  /** @type {Peer} */
  const peer = { info, pc, polite: me > info.id, makingOffer: false, ignoreOffer: false, pending: [] };
  state.peers.set(info.id, peer);
  const stream = state.stream;
  if (stream) stream.getTracks().forEach((track) => pc.addTrack(track, stream));
  const tile = tileFor(info.id, info.name);
  setFlags(info.id, { audio: info.audio, video: info.video, note: gettext("Connecting…") });
  pc.onicecandidate = ({ candidate }) => {
    if (candidate) send({ type: "signal", to: info.id, candidate: candidate.toJSON() });
  };
  pc.ontrack = ({ streams }) => {
    const video = one(tile, "video", HTMLVideoElement);
    if (video.srcObject !== streams[0]) video.srcObject = streams[0];
  };
  pc.onnegotiationneeded = async () => {
    // Only the newcomer's first offer and ICE restarts go out; track changes use replaceTrack.
  };
  pc.onconnectionstatechange = () => {
    const person = state.people.get(info.id) || info;
    if (pc.connectionState === "connected") {
      setFlags(info.id, { audio: person.audio, video: person.video });
    } else if (pc.connectionState === "failed" || pc.connectionState === "disconnected") {
      setFlags(info.id, { audio: person.audio, video: person.video, connected: false });
      if (pc.connectionState === "failed") restartIfMine(info.id);
    }
  };
  return peer;
}

async function offerTo(info, { restart = false } = {}) {
  let peer = state.peers.get(info.id);
  if (!peer || !restart) peer = createPeer(info);
  try {
    peer.makingOffer = true;
    const offer = await peer.pc.createOffer({ iceRestart: restart });
    await peer.pc.setLocalDescription(offer);
    send({ type: "signal", to: info.id, description: { type: offer.type, sdp: offer.sdp } });
  } finally {
    peer.makingOffer = false;
  }
}

function restartIfMine(id) {
  const peer = state.peers.get(id);
  const broken = peer && ["failed", "disconnected"].includes(peer.pc.connectionState);
  if (broken && state.me && state.me.id < id && socket.isOpen) {
    offerTo(peer.info, { restart: true });
  }
}

const fingerprint = (sdp) => (/a=fingerprint:(\S+ \S+)/.exec(sdp || "") || [])[1];

async function onSignal(message) {
  const from = message.from;
  const info = state.people.get(from) || { id: from, name: "…", audio: true, video: true };
  let peer = state.peers.get(from);
  if (message.description) {
    const description = message.description;
    if (description.type === "offer" && peer && peer.pc.remoteDescription
        && fingerprint(peer.pc.remoteDescription.sdp) !== fingerprint(description.sdp)) {
      peer = undefined; // the other side reloaded: a new session, not a renegotiation
    }
    if (!peer) peer = createPeer(info);
    const pc = peer.pc;
    const collision = description.type === "offer" && (peer.makingOffer || pc.signalingState !== "stable");
    peer.ignoreOffer = !peer.polite && collision;
    if (peer.ignoreOffer) return;
    await pc.setRemoteDescription(description);
    for (const candidate of peer.pending.splice(0)) await pc.addIceCandidate(candidate).catch(() => {});
    if (description.type === "offer") {
      await pc.setLocalDescription();
      const answer = pc.localDescription;
      if (answer) send({ type: "signal", to: from, description: { type: answer.type, sdp: answer.sdp } });
    }
  } else if (message.candidate) {
    if (!peer) return;
    const known = peer;
    if (!known.pc.remoteDescription) known.pending.push(message.candidate);
    else await known.pc.addIceCandidate(message.candidate).catch((error) => {
      if (!known.ignoreOffer) console.warn("candidate refused", error);
    });
  }
}

function joinMesh(participants) {
  show("call");
  showSelf();
  for (const info of participants) {
    if (state.me && info.id === state.me.id) continue;
    state.people.set(info.id, info);
    const peer = state.peers.get(info.id);
    const healthy = peer && ["connected", "connecting", "new"].includes(peer.pc.connectionState);
    if (!info.connected) {
      tileFor(info.id, info.name);
      setFlags(info.id, { ...info });
    } else if (!peer) {
      offerTo(info);
    } else if (!healthy) {
      restartIfMine(info.id);
    }
  }
  countTiles();
}

// Poor connection: a round trip over 400 ms or over 8 % of packets lost since the last look.
const POOR_RTT_S = 0.4;
const POOR_LOSS = 0.08;
async function checkQuality() {
  for (const [id, peer] of state.peers) {
    if (peer.pc.connectionState !== "connected") continue;
    let rtt = 0;
    let lost = 0;
    let received = 0;
    try {
      const report = await peer.pc.getStats();
      report.forEach((s) => {
        if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") rtt = s.currentRoundTripTime || 0;
        if (s.type === "inbound-rtp") { lost += s.packetsLost || 0; received += s.packetsReceived || 0; }
      });
    } catch { continue; }
    const last = peer.lastStats || { lost: 0, received: 0 };
    const dLost = lost - last.lost;
    const dTotal = dLost + (received - last.received);
    peer.lastStats = { lost, received };
    const poor = rtt > POOR_RTT_S || (dTotal > 50 && dLost / dTotal > POOR_LOSS);
    if (poor !== Boolean(peer.poor)) {
      peer.poor = poor;
      const tile = maybe(root, `[data-tile="${id}"]`);
      if (tile) tile.classList.toggle("poor", poor);
      const person = state.people.get(id) || peer.info;
      setFlags(id, { audio: person.audio, video: person.video });
      if (poor) announce(format(gettext("Poor connection with %(name)s."), { name: person.name }));
    }
  }
  setStatusChip();
}
window.setInterval(checkQuality, 4000);

// ------------------------------------------------------------------ messages

const handlers = {
  welcome(m) {
    state.reconnecting = false;
    state.me = m.you;
    state.iceServers = m.ice_servers;
    state.policy = m.ice_transport_policy;
    // A reconnect brings fresh TURN credentials: any ICE restart from here on must use them.
    for (const peer of state.peers.values()) {
      try {
        peer.pc.setConfiguration({ iceServers: state.iceServers, iceTransportPolicy: state.policy });
      } catch (error) {
        console.warn("could not update ICE servers", error);
      }
    }
    state.visitStatus = m.visit.status;
    // The call time counts from the patient's first admission, so a reload does not restart it.
    if (m.visit.admitted_at) state.callStartedAt = Date.parse(m.visit.admitted_at);
    renderApps(m.apps);
    for (const p of m.participants) state.people.set(p.id, p);
    if (role === "patient" && m.visit.status !== "in_call") {
      state.waitingSince = state.waitingSince || Date.parse(m.visit.entered_at);
      $("[data-waiting-message]").textContent = m.visit.waiting_message;
      showWaiting(m.visit.status === "on_hold");
    } else {
      joinMesh(m.participants);
      setHoldControls(m.visit.status === "on_hold");
    }
    setStatusChip();
    document.title = `${m.visit.clinic} · CareCall`;
  },
  participant_joined(m) {
    state.people.set(m.participant.id, { ...m.participant, joining: true });
    if (role === "patient" && state.visitStatus !== "in_call") return;
    tileFor(m.participant.id, m.participant.name);
    setFlags(m.participant.id, { ...m.participant, joining: true });
    announce(format(gettext("%(name)s joined the call."), { name: m.participant.name }));
  },
  participant_left(m) {
    const person = state.people.get(m.id);
    state.people.delete(m.id);
    closePeer(m.id);
    removeTile(m.id);
    if (person) announce(format(gettext("%(name)s left the call."), { name: person.name }));
  },
  participant_connection(m) {
    const person = state.people.get(m.id);
    // "Back" only for someone the others saw lost; a first connection after joining is not a return.
    const wasLost = Boolean(person && person.connected === false && !person.joining);
    if (person) Object.assign(person, { connected: m.connected, joining: false });
    setFlags(m.id, { ...(person || {}), connected: m.connected, joining: false });
    if (m.connected) restartIfMine(m.id);
    if (!person) return;
    if (!m.connected) announce(format(gettext("%(name)s's connection was lost."), { name: person.name }));
    else if (wasLost) announce(format(gettext("%(name)s is back."), { name: person.name }));
  },
  participant_media(m) {
    const person = state.people.get(m.id);
    if (person) Object.assign(person, { audio: m.audio, video: m.video });
    setFlags(m.id, { ...(person || {}), audio: m.audio, video: m.video });
    if (!person) return;
    const said = m.audio ? gettext("%(name)s unmuted.") : gettext("%(name)s muted.");
    announce(format(said, { name: person.name }) + (m.video ? "" : " " + gettext("Camera off")));
  },
  signal: onSignal,
  visit_status(m) {
    const previous = state.visitStatus;
    state.visitStatus = m.status;
    if (m.status === "done") return showEnded("");
    if (role === "patient") {
      if (m.status === "in_call") {
        state.waitingSince = null;
        closeAllPeers();
        joinMesh(m.participants);
        announce(gettext("A clinician joined. You are in the call."));
      } else {
        state.waitingSince = Date.now();
        showWaiting(m.status === "on_hold");
      }
      return;
    }
    setHoldControls(m.status === "on_hold");
    if (m.status === "on_hold" || m.status === "waiting") {
      for (const [id, person] of state.people) {
        if (person.kind === "patient") { closePeer(id); removeTile(id); }
      }
    }
    if (previous === "on_hold" && m.status === "in_call") announce(gettext("The patient is back in the call."));
    setStatusChip();
  },
  ended(m) {
    showEnded(state.me && m.by === state.me.name ? gettext("You ended the call.") : format(gettext("%(name)s ended the call."), { name: m.by }));
  },
  guest_invite(m) {
    $("[data-invite]").hidden = false;
    one(root, "[data-invite-url]", HTMLInputElement).value = m.url;
    openPanel("apps", true);
    announce(gettext("A guest link is ready to copy."));
  },
  error(m) { announce(m.message); },
};

function setHoldControls(onHold) {
  const hold = maybe(root, '[data-action="hold"]');
  const resume = maybe(root, '[data-action="resume"]');
  // Exactly one of the two is shown (the stylesheet makes [hidden] win over button styles).
  if (hold) hold.hidden = onHold;
  if (resume) resume.hidden = !onHold;
  $("[data-hold-banner]").hidden = !(onHold && role !== "patient");
}

// ------------------------------------------------------------------ panels: Devices, Apps and tools

const PANELS = { apps: "[data-apps]", devices: "[data-devices]" };

function svgIcon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
  use.setAttribute("href", document.getElementById(`icon-${name}`) ? `#icon-${name}` : "#icon-tool");
  svg.append(use);
  return svg;
}

function renderApps(apps) {
  const list = $("[data-apps-list]");
  list.replaceChildren(...apps.map((app) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary app-button";
    button.dataset.app = app.key;
    const label = document.createElement("span");
    label.textContent = app.name;
    button.append(svgIcon(app.icon), label);
    button.addEventListener("click", () => document.dispatchEvent(new CustomEvent("carecall:app", { detail: app })));
    item.append(button);
    return item;
  }));
  // Nothing to open (a patient, or a clinic with no tools): no Apps and tools button at all.
  $('[data-controls] [data-action="apps"]').hidden = apps.length === 0;
}

function closePanels() {
  for (const name of Object.keys(PANELS)) openPanel(name, false, { restoreFocus: false });
}

function openPanel(name, open, { restoreFocus = true } = {}) {
  const panel = $(PANELS[name]);
  const toggle = maybe(root, `[data-controls] [data-action="${name}"]`);
  if (open) {
    for (const other of Object.keys(PANELS)) if (other !== name) openPanel(other, false, { restoreFocus: false });
  }
  const wasOpen = !panel.hidden;
  panel.hidden = !open;
  if (toggle) toggle.setAttribute("aria-expanded", String(open));
  if (open && !wasOpen) {
    const first = maybe(panel, "button, select, input, [tabindex]");
    if (first) first.focus();
  } else if (!open && wasOpen && restoreFocus && toggle && !toggle.hidden) {
    toggle.focus();
  }
}
// An app opening its panel (payments) brings Apps and tools up if it was closed.
document.addEventListener("carecall:open-apps", () => openPanel("apps", true));

// ------------------------------------------------------------------ self-view position

const CORNERS = ["top-left", "top-right", "bottom-left", "bottom-right"];
function placeSelf(corner) {
  const pip = $("[data-self-pip]");
  pip.dataset.corner = corner;
  try { sessionStorage.setItem("carecall.pip", corner); } catch { /* private mode */ }
}
(function selfViewMoves() {
  const pip = $("[data-self-pip]");
  let saved = "bottom-right";
  try { saved = sessionStorage.getItem("carecall.pip") || saved; } catch { /* private mode */ }
  placeSelf(CORNERS.includes(saved) ? saved : "bottom-right");
  let drag = null;
  pip.addEventListener("pointerdown", (event) => {
    drag = { x: event.clientX, y: event.clientY };
    pip.setPointerCapture(event.pointerId);
    pip.classList.add("dragging");
  });
  pip.addEventListener("pointerup", (event) => {
    if (!drag) return;
    pip.classList.remove("dragging");
    drag = null;
    // Dropped: snap to the corner nearest to where the pointer let go.
    const stage = $("[data-in-call]").getBoundingClientRect();
    const top = event.clientY < stage.top + stage.height / 2;
    const left = event.clientX < stage.left + stage.width / 2;
    placeSelf(`${top ? "top" : "bottom"}-${left ? "left" : "right"}`);
  });
  pip.addEventListener("pointercancel", () => { drag = null; pip.classList.remove("dragging"); });
  pip.addEventListener("keydown", (event) => {
    const [v, h] = (pip.dataset.corner || "bottom-right").split("-");
    const next = { ArrowUp: ["top", h], ArrowDown: ["bottom", h], ArrowLeft: [v, "left"], ArrowRight: [v, "right"] }[event.key];
    if (!next) return;
    event.preventDefault();
    placeSelf(next.join("-"));
    announce(gettext("Your camera moved."));
  });
})();

// ------------------------------------------------------------------ websocket

// One socket for the page (core/socket.js: back-off, ping and pong timeout, online).
const socket = new ReconnectingSocket(root.dataset.wsPath || "", {
  onMessage(message) {
    const handler = handlers[message.type];
    if (handler) Promise.resolve(handler(message)).catch((error) => console.error(error));
    // In-call apps (payments) listen for their own messages, and for welcome / visit_status.
    document.dispatchEvent(new CustomEvent("carecall:message", { detail: message }));
  },
  onOpen({ reconnected }) {
    if (reconnected) announce(gettext("Reconnected."));
  },
  onClose(event) {
    if (state.closedOnPurpose) return true;
    if (event.code === 4409) showEnded("");
    else if (event.code === 1000 && event.reason === "left the call" && role === "patient") showLeft();
    else if (event.code === 4403 || event.code === 4404) showEnded(event.reason || gettext("You cannot join this call."));
    else return false;
    return true;
  },
  onReconnecting() {
    state.reconnecting = true;
    setStatusChip();
    announce(gettext("Connection lost. Reconnecting…"));
  },
});

// The network came back or changed (the socket reconnects or pings by itself): restart ICE on
// broken connections.
window.addEventListener("online", () => {
  if (state.closedOnPurpose) return;
  for (const id of state.peers.keys()) restartIfMine(id);
});

// For the browser tests only: the template renders data-test-hooks when the CALL_TEST_HOOKS
// setting is on (settings_test); production pages have no window.carecallCall.
if (root.hasAttribute("data-test-hooks")) {
  window.carecallCall = {
    get ws() { return socket.ws; },
    get retry() { return socket.retry; },
    set retry(n) { socket.retry = n; },
    get pongTimeout() { return socket.pongTimeout; },
    set pongTimeout(ms) { socket.pongTimeout = ms; },
    ping: () => socket.ping(),
    /** @param {string} id an ICE restart towards one peer */
    restartIce: (id) => {
      const peer = state.peers.get(id);
      return peer ? offerTo(peer.info, { restart: true }) : null;
    },
    get peers() { return state.peers; },
    get stream() { return state.stream; },
    get iceServers() { return state.iceServers; },
    get policy() { return state.policy; },
  };
}

// ------------------------------------------------------------------ controls

function replaceTracks(newStream) {
  for (const peer of state.peers.values()) {
    for (const sender of peer.pc.getSenders()) {
      const track = newStream.getTracks().find((t) => sender.track && t.kind === sender.track.kind);
      if (track) sender.replaceTrack(track);
    }
  }
  newStream.getAudioTracks().forEach((t) => { t.enabled = state.audio; });
  newStream.getVideoTracks().forEach((t) => { t.enabled = state.video; });
  stopMedia();
  state.stream = newStream;
  showSelf();
  one(root, "[data-waiting-preview]", HTMLVideoElement).srcObject = newStream;
}

async function switchDevice() {
  try {
    const next = await openMedia({
      cameraId: cameraSelect.value,
      microphoneId: microphoneSelect.value,
    });
    replaceTracks(next);
    rememberDevices(next);
    announce(gettext("Device switched."));
  } catch (error) {
    announce(explainMediaError(error));
  }
}

function setControl(button, { label, icon, pressed }) {
  button.querySelector(".ctl-label").textContent = label;
  button.querySelector("use").setAttribute("href", `#icon-${icon}`);
  button.setAttribute("aria-pressed", String(pressed));
}

async function leaveCall() {
  const patient = role === "patient";
  const ok = await confirmDialog({
    title: gettext("Leave the call?"),
    message: patient
      ? gettext("You can come back with this link until the clinic ends the consultation.")
      : (role === "guest"
        ? gettext("Your guest link works once: you cannot come back with it.")
        : gettext("The others stay in the call. If you are the last clinician, the patient waits again.")),
    confirmLabel: gettext("Leave"),
    cancelLabel: gettext("Stay in the call"),
    danger: true,
  });
  if (!ok) return;
  if (patient) {
    if (socket.isOpen) {
      state.closedOnPurpose = true;
      send({ type: "leave" });
      showLeft();
    } else {
      state.closedOnPurpose = true;
      one(root, "[data-leave-form]", HTMLFormElement).submit(); // no live socket: the server steps them out all the same
    }
    return;
  }
  state.closedOnPurpose = true;
  send({ type: "leave" });
  closeAllPeers();
  stopMedia();
  if (root.dataset.leaveUrl) window.location.assign(root.dataset.leaveUrl);
  else showEnded(gettext("You left the call."));
}

const actions = {
  mute(button) {
    state.audio = !state.audio;
    if (state.stream) state.stream.getAudioTracks().forEach((t) => { t.enabled = state.audio; });
    setControl(button, { label: state.audio ? gettext("Mute") : gettext("Unmute"), icon: state.audio ? "mic" : "mic-off", pressed: !state.audio });
    send({ type: "media", audio: state.audio, video: state.video });
    announce(state.audio ? gettext("Microphone on.") : gettext("Microphone muted."));
  },
  camera(button) {
    state.video = !state.video;
    if (state.stream) state.stream.getVideoTracks().forEach((t) => { t.enabled = state.video; });
    setControl(button, { label: state.video ? gettext("Stop video") : gettext("Start video"), icon: state.video ? "camera" : "camera-off", pressed: !state.video });
    showSelf();
    send({ type: "media", audio: state.audio, video: state.video });
    announce(state.video ? gettext("Camera on.") : gettext("Camera off."));
  },
  apps() { openPanel("apps", $("[data-apps]").hidden); },
  devices() { openPanel("devices", $("[data-devices]").hidden); },
  hold() { send({ type: "hold" }); },
  resume() { send({ type: "resume" }); },
  invite() { send({ type: "invite_guest" }); },
  async end() {
    const ok = await confirmDialog({
      title: gettext("End the call for everyone?"),
      message: gettext("The patient's link stops working. Unpaid payment requests stay payable from it."),
      confirmLabel: gettext("End call"),
      cancelLabel: gettext("Keep the call going"),
      danger: true,
    });
    if (ok) send({ type: "end" });
  },
  async "copy-invite"() {
    const invite = one(root, "[data-invite-url]", HTMLInputElement);
    const url = invite.value;
    try { await navigator.clipboard.writeText(url); announce(gettext("Link copied.")); }
    catch { invite.select(); announce(gettext("Select the link and copy it.")); }
  },
  leave: leaveCall,
  rejoin() {
    state.closedOnPurpose = false;
    start();
  },
};

root.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("[data-action]") : null;
  if (!(button instanceof HTMLElement)) return;
  if (button && actions[button.dataset.action]) actions[button.dataset.action](button);
});
root.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  for (const name of Object.keys(PANELS)) {
    if (!$(PANELS[name]).hidden) { openPanel(name, false); event.preventDefault(); }
  }
});
cameraSelect.addEventListener("change", switchDevice);
microphoneSelect.addEventListener("change", switchDevice);

async function start() {
  try {
    state.stream = await openRememberedMedia(); // what the patient chose on the entry page
  } catch (error) {
    announce(explainMediaError(error));
    state.stream = new MediaStream(); // join without media rather than not at all
  }
  state.stream.getAudioTracks().forEach((t) => { t.enabled = state.audio; });
  state.stream.getVideoTracks().forEach((t) => { t.enabled = state.video; });
  await fillDevicePickers(cameraSelect, microphoneSelect, state.stream).catch(() => {});
  socket.start();
}

// A patient who stepped out and reopens the link sees "You left" and decides; else, connect.
if (root.hasAttribute("data-left")) show("left");
else start();
