// The call: signalling over a websocket, a full mesh of RTCPeerConnections, and the controls.
//
// Who offers: whoever arrives (a fresh page, or the patient coming back from waiting or hold)
// offers to everyone already there. Glare is settled by "perfect negotiation": the peer with
// the greater id is polite. After a dropped connection, the peer with the smaller id restarts ICE.

import { format, gettext } from "../core/i18n.js";
import { explainMediaError, fillDevicePickers, openMedia, openRememberedMedia, rememberDevices } from "./devices.js";

const root = document.querySelector("[data-call]");
const $ = (selector) => root.querySelector(selector);
const role = root.dataset.role;
const announceEl = $("[data-announce]");

const state = {
  ws: null,
  me: null,
  visitStatus: null,
  iceServers: [],
  policy: "all",
  peers: new Map(), // id -> {info, pc, tile, polite, makingOffer, ignoreOffer, pending: []}
  people: new Map(), // id -> participant info (everyone present, with or without a connection)
  stream: null,
  audio: true,
  video: true,
  retry: 0,
  reconnectTimer: null,
  pingEvery: 25000, // ms between pings
  pongTimeout: 10000, // no pong within this: the socket is dead even if it looks open
  pongTimer: null,
  closedOnPurpose: false,
  callStartedAt: null,
  waitingSince: null,
};
window.carecallCall = state; // for the browser tests' getStats() checks

function announce(text) {
  announceEl.textContent = "";
  window.setTimeout(() => { announceEl.textContent = text; }, 30);
}

function send(message) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(message));
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
  if (state.callStartedAt) $("[data-duration]").textContent = clock(Date.now() - state.callStartedAt);
}, 1000);

// ------------------------------------------------------------------ screens

function show(screen) {
  $("[data-waiting]").hidden = screen !== "waiting";
  $("[data-in-call]").hidden = screen !== "call";
  $("[data-ended]").hidden = screen !== "ended";
  $("[data-controls]").hidden = screen === "ended";
  if (screen === "call" && !state.callStartedAt) state.callStartedAt = Date.now();
}

function showWaiting(onHold) {
  closeAllPeers();
  $("[data-waiting-heading]").textContent = onHold
    ? gettext("You are on hold")
    : gettext("You are in the waiting area");
  $("[data-waiting-preview]").srcObject = state.stream;
  show("waiting");
  announce(onHold ? gettext("The clinician put you on hold. Please wait.") : gettext("Please wait. A clinician will join you."));
}

function showEnded(text) {
  state.closedOnPurpose = true;
  closeAllPeers();
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  $("[data-ended-text]").textContent = text;
  show("ended");
  announce(text);
  if (state.ws) state.ws.close();
}

// ------------------------------------------------------------------ tiles

function tileFor(id, name, self = false) {
  let tile = $(`[data-tile="${id}"]`);
  if (tile) return tile;
  tile = document.createElement("li");
  tile.className = "tile";
  tile.dataset.tile = id;
  const video = document.createElement("video");
  video.autoplay = true;
  video.playsInline = true;
  if (self) video.muted = true;
  const caption = document.createElement("p");
  caption.className = "tile-name";
  caption.textContent = self ? format(gettext("%(name)s (you)"), { name }) : name;
  const flags = document.createElement("p");
  flags.className = "tile-flags";
  flags.dataset.flags = "";
  tile.append(video, caption, flags);
  $("[data-tiles]").append(tile);
  return tile;
}

function setFlags(id, { audio, video, connected, joining, note }) {
  const tile = $(`[data-tile="${id}"]`);
  if (!tile) return;
  const parts = [];
  // Someone whose page has not connected yet is joining; only a socket that closed is lost.
  const lost = connected === false && !joining;
  if (joining && connected === false && !note) parts.push(gettext("Joining…"));
  if (lost) parts.push(gettext("Connection lost, reconnecting…"));
  if (note) parts.push(note);
  if (audio === false) parts.push(gettext("Muted"));
  if (video === false) parts.push(gettext("Camera off"));
  tile.querySelector("[data-flags]").textContent = parts.join(" · ");
  tile.classList.toggle("lost", lost);
}

function removeTile(id) {
  const tile = $(`[data-tile="${id}"]`);
  if (tile) tile.remove();
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
  const peer = { info, pc, polite: state.me.id > info.id, makingOffer: false, ignoreOffer: false, pending: [] };
  state.peers.set(info.id, peer);
  state.stream.getTracks().forEach((track) => pc.addTrack(track, state.stream));
  const tile = tileFor(info.id, info.name);
  setFlags(info.id, { audio: info.audio, video: info.video, note: gettext("Connecting…") });
  pc.onicecandidate = ({ candidate }) => {
    if (candidate) send({ type: "signal", to: info.id, candidate: candidate.toJSON() });
  };
  pc.ontrack = ({ streams }) => {
    const video = tile.querySelector("video");
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
  if (broken && state.me.id < id && state.ws && state.ws.readyState === WebSocket.OPEN) {
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
      peer = null; // the other side reloaded: a new session, not a renegotiation
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
      send({ type: "signal", to: from, description: { type: pc.localDescription.type, sdp: pc.localDescription.sdp } });
    }
  } else if (message.candidate) {
    if (!peer) return;
    if (!peer.pc.remoteDescription) peer.pending.push(message.candidate);
    else await peer.pc.addIceCandidate(message.candidate).catch((error) => {
      if (!peer.ignoreOffer) console.warn("candidate refused", error);
    });
  }
}

function joinMesh(participants) {
  show("call");
  tileFor(state.me.id, state.me.name, true).querySelector("video").srcObject = state.stream;
  for (const info of participants) {
    if (info.id === state.me.id) continue;
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
}

// ------------------------------------------------------------------ messages

const handlers = {
  welcome(m) {
    state.retry = 0;
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
    document.title = `${m.visit.clinic} · CareCall`;
  },
  participant_joined(m) {
    state.people.set(m.participant.id, m.participant);
    if (role === "patient" && state.visitStatus !== "in_call") return;
    tileFor(m.participant.id, m.participant.name);
    setFlags(m.participant.id, { ...m.participant });
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
    if (person) Object.assign(person, { connected: m.connected, joining: false });
    setFlags(m.id, { ...(person || {}), connected: m.connected, joining: false });
    if (m.connected) restartIfMine(m.id);
    if (person) announce(m.connected ? format(gettext("%(name)s is back."), { name: person.name }) : format(gettext("%(name)s's connection was lost."), { name: person.name }));
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
    if (m.status === "done") return showEnded(gettext("The call has ended."));
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
  },
  ended(m) { showEnded(format(gettext("%(name)s ended the call."), { name: m.by })); },
  guest_invite(m) {
    $("[data-invite]").hidden = false;
    $("[data-invite-url]").value = m.url;
    openApps(true);
    announce(gettext("A guest link is ready to copy."));
  },
  error(m) { announce(m.message); },
  pong() { window.clearTimeout(state.pongTimer); },
};

function setHoldControls(onHold) {
  const hold = $('[data-action="hold"]');
  const resume = $('[data-action="resume"]');
  if (hold) hold.hidden = onHold;
  if (resume) resume.hidden = !onHold;
  $("[data-hold-banner]").hidden = !(onHold && role !== "patient");
}

// ------------------------------------------------------------------ apps drawer

function renderApps(apps) {
  const list = $("[data-apps-list]");
  list.replaceChildren(...apps.map((app) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.dataset.app = app.key;
    button.textContent = `${app.icon} ${app.name}`;
    button.addEventListener("click", () => document.dispatchEvent(new CustomEvent("carecall:app", { detail: app })));
    item.append(button);
    return item;
  }));
  $("[data-apps-empty]").hidden = apps.length > 0;
}

function openApps(open) {
  $("[data-apps]").hidden = !open;
  $('[data-action="apps"]').setAttribute("aria-expanded", String(open));
}

// ------------------------------------------------------------------ websocket

function reconnectLater() {
  state.retry += 1;
  const delay = Math.min(10000, 500 * 2 ** Math.min(state.retry, 5));
  announce(gettext("Connection lost. Reconnecting…"));
  window.clearTimeout(state.reconnectTimer);
  state.reconnectTimer = window.setTimeout(connect, delay);
}

function connect() {
  window.clearTimeout(state.reconnectTimer);
  if (state.closedOnPurpose) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}${root.dataset.wsPath}`);
  state.ws = ws;
  ws.onopen = () => { if (state.retry) announce(gettext("Reconnected.")); };
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    const handler = handlers[message.type];
    if (handler) Promise.resolve(handler(message)).catch((error) => console.error(error));
    // In-call apps (payments) listen for their own messages, and for welcome / visit_status.
    document.dispatchEvent(new CustomEvent("carecall:message", { detail: message }));
  };
  ws.onclose = (event) => {
    window.clearTimeout(state.pongTimer);
    if (state.closedOnPurpose || ws !== state.ws) return;
    if (event.code === 4409) return showEnded(gettext("The call has ended."));
    if (event.code === 4403 || event.code === 4404) return showEnded(event.reason || gettext("You cannot join this call."));
    reconnectLater();
  };
}

// A socket can look open long after the network under it went away: no pong in time, give up
// on it and open a new one.
function ping() {
  const ws = state.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  send({ type: "ping" });
  window.clearTimeout(state.pongTimer);
  state.pongTimer = window.setTimeout(() => {
    if (ws !== state.ws || state.closedOnPurpose) return;
    ws.onclose = null;
    ws.onmessage = null;
    ws.close(4000, "no pong");
    reconnectLater();
  }, state.pongTimeout);
}
(function pingLoop() {
  ping();
  window.setTimeout(pingLoop, state.pingEvery);
})();

// The network came back or changed: reconnect now instead of at the end of the back-off, check
// an open socket with a ping, and restart ICE on broken connections.
window.addEventListener("online", () => {
  if (state.closedOnPurpose) return;
  if (!state.ws || state.ws.readyState > WebSocket.OPEN) connect();
  else ping();
  for (const id of state.peers.keys()) restartIfMine(id);
});

state.ping = ping; // for the browser tests
state.restartIce = (id) => { // for the browser tests: an ICE restart towards one peer
  const peer = state.peers.get(id);
  return peer ? offerTo(peer.info, { restart: true }) : null;
};

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
  state.stream.getTracks().forEach((t) => t.stop());
  state.stream = newStream;
  const self = state.me && $(`[data-tile="${state.me.id}"] video`);
  if (self) self.srcObject = newStream;
  $("[data-waiting-preview]").srcObject = newStream;
}

async function switchDevice() {
  try {
    const next = await openMedia({
      cameraId: $("[data-camera-select]").value,
      microphoneId: $("[data-microphone-select]").value,
    });
    replaceTracks(next);
    rememberDevices(next);
    announce(gettext("Device switched."));
  } catch (error) {
    announce(explainMediaError(error));
  }
}

const actions = {
  mute(button) {
    state.audio = !state.audio;
    state.stream.getAudioTracks().forEach((t) => { t.enabled = state.audio; });
    button.textContent = state.audio ? gettext("Mute") : gettext("Unmute");
    button.setAttribute("aria-pressed", String(!state.audio));
    send({ type: "media", audio: state.audio, video: state.video });
    announce(state.audio ? gettext("Microphone on.") : gettext("Microphone muted."));
  },
  camera(button) {
    state.video = !state.video;
    state.stream.getVideoTracks().forEach((t) => { t.enabled = state.video; });
    button.textContent = state.video ? gettext("Turn camera off") : gettext("Turn camera on");
    button.setAttribute("aria-pressed", String(!state.video));
    send({ type: "media", audio: state.audio, video: state.video });
    announce(state.video ? gettext("Camera on.") : gettext("Camera off."));
  },
  apps() { openApps($("[data-apps]").hidden); },
  hold() { send({ type: "hold" }); },
  resume() { send({ type: "resume" }); },
  invite() { send({ type: "invite_guest" }); },
  end() { send({ type: "end" }); },
  async "copy-invite"() {
    const url = $("[data-invite-url]").value;
    try { await navigator.clipboard.writeText(url); announce(gettext("Link copied.")); }
    catch { $("[data-invite-url]").select(); announce(gettext("Select the link and copy it.")); }
  },
  leave() {
    state.closedOnPurpose = true;
    if (role === "patient") {
      $("[data-leave-form]").submit();
      return;
    }
    send({ type: "leave" });
    closeAllPeers();
    if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
    if (root.dataset.leaveUrl) window.location.assign(root.dataset.leaveUrl);
    else showEnded(gettext("You left the call."));
  },
};

root.addEventListener("click", (event) => {
  const button = event.target.closest("[data-action]");
  if (button && actions[button.dataset.action]) actions[button.dataset.action](button);
});
$("[data-camera-select]").addEventListener("change", switchDevice);
$("[data-microphone-select]").addEventListener("change", switchDevice);

async function start() {
  try {
    state.stream = await openRememberedMedia(); // what the patient chose on the entry page
  } catch (error) {
    announce(explainMediaError(error));
    state.stream = new MediaStream(); // join without media rather than not at all
  }
  await fillDevicePickers($("[data-camera-select]"), $("[data-microphone-select]"), state.stream).catch(() => {});
  connect();
}

start();
