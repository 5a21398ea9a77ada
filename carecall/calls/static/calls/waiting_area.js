// The clinic's waiting area, live: callers appear, change and leave without a reload.

import { one, say } from "../core/dom.js";
import { format, gettext } from "../core/i18n.js";
import { ReconnectingSocket } from "../core/socket.js";

/**
 * A caller as the server describes them (calls/consumers.py, visit_payload).
 * @typedef {object} Visit
 * @property {string} id
 * @property {string} name
 * @property {string} status
 * @property {string} status_label
 * @property {string[]} with_names
 * @property {string} entered_at
 * @property {boolean} connected
 * @property {boolean} left
 * @property {string} join_url
 */

const root = one(document, "[data-waiting-area]");
/** @param {string} selector */
const $ = (selector) => one(root, selector);
const body = $("[data-callers]");
const columns = [...root.querySelectorAll("thead th")].map((th) => (th.textContent || "").trim());
/** @type {Map<string, Visit>} */
const visits = new Map();
let soundOn = false;
/** @type {AudioContext | null} */
let audioContext = null;

/** @param {number} ms */
function clock(ms) {
  const m = Math.max(0, Math.floor(ms / 60000));
  return m < 60 ? format(gettext("%(m)s min"), { m }) : format(gettext("%(h)s h %(m)s min"), { h: Math.floor(m / 60), m: m % 60 });
}

/** @param {string} text */
function announce(text) {
  say($("[data-announce]"), text);
}

function chime() {
  if (!soundOn || !audioContext) return;
  const oscillator = audioContext.createOscillator();
  const gain = audioContext.createGain();
  oscillator.frequency.value = 880;
  gain.gain.setValueAtTime(0.2, audioContext.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.001, audioContext.currentTime + 0.6);
  oscillator.connect(gain).connect(audioContext.destination);
  oscillator.start();
  oscillator.stop(audioContext.currentTime + 0.6);
}

/** @param {Visit} visit */
function notify(visit) {
  chime();
  announce(format(gettext("New caller: %(name)s."), { name: visit.name }));
  if ("Notification" in window && Notification.permission === "granted") {
    new Notification(gettext("New caller in the waiting area"), { body: visit.name, tag: visit.id });
  }
}

/** @param {Visit} visit */
function row(visit) {
  const tr = document.createElement("tr");
  tr.dataset.visit = visit.id;
  const cells = [visit.name, "", visit.status_label, visit.with_names.join(", ")];
  cells.forEach((text, i) => {
    // The caller's name heads the row; the other cells carry their column's name, which a
    // phone shows beside the value when the table becomes one card per caller.
    const cell = document.createElement(i === 0 ? "th" : "td");
    if (cell instanceof HTMLTableCellElement && i === 0) cell.scope = "row";
    else cell.dataset.label = columns[i];
    cell.textContent = text;
    tr.append(cell);
  });
  const [nameCell, sinceCell] = /** @type {HTMLElement[]} */ ([...tr.children]);
  sinceCell.dataset.since = visit.entered_at;
  if (!visit.connected) {
    const lost = document.createElement("span");
    lost.className = "muted";
    // Stepped out with Leave (their link brings them back), or lost without a word.
    lost.textContent = " " + (visit.left ? gettext("(left; may come back with their link)") : gettext("(connection lost)"));
    nameCell.append(lost);
  }
  const actions = document.createElement("td");
  const template = one(root, "[data-join-form]", HTMLTemplateElement);
  const form = /** @type {HTMLFormElement} */ (one(template.content, "form", HTMLFormElement).cloneNode(true));
  form.action = visit.join_url;
  one(form, "button").setAttribute("aria-label", format(gettext("Join %(name)s"), { name: visit.name }));
  actions.append(form);
  tr.append(actions);
  return tr;
}

function render() {
  const sorted = [...visits.values()].sort((a, b) => a.entered_at.localeCompare(b.entered_at));
  body.replaceChildren(...sorted.map(row));
  $("[data-empty]").hidden = sorted.length > 0;
  tick();
}

function tick() {
  for (const cell of body.querySelectorAll("[data-since]")) {
    if (cell instanceof HTMLElement) cell.textContent = clock(Date.now() - Date.parse(cell.dataset.since || ""));
  }
}
window.setInterval(tick, 15000); // once per page

/** @type {Record<string, (m: any) => void>} */
const handlers = {
  /** @param {{ visits: Visit[] }} m */
  waiting_snapshot(m) {
    visits.clear();
    for (const v of m.visits) visits.set(v.id, v);
    render();
  },
  /** @param {{ visit: Visit }} m */
  visit_changed(m) {
    const isNew = !visits.has(m.visit.id);
    visits.set(m.visit.id, m.visit);
    render();
    if (isNew && m.visit.status === "waiting") notify(m.visit);
  },
  /** @param {{ id: string }} m */
  visit_removed(m) {
    const visit = visits.get(m.id);
    visits.delete(m.id);
    render();
    if (visit) announce(format(gettext("%(name)s left the waiting area."), { name: visit.name }));
  },
};

const live = $("[data-live-state]");
const socket = new ReconnectingSocket(root.dataset.wsPath || "", {
  onMessage(message) {
    const handler = handlers[message.type];
    if (handler) handler(message);
  },
  onOpen() { live.textContent = gettext("Live: callers appear here as they arrive."); },
  onClose(event) {
    if (event.code !== 4403 && event.code !== 4404) return false;
    live.textContent = event.reason || gettext("You cannot see this waiting area.");
    return true;
  },
  onReconnecting() { live.textContent = gettext("Connection lost. Reconnecting…"); },
});

// The sound choice is remembered in this browser. A page that turns sound on by itself (no
// click yet) may get a suspended AudioContext: it is resumed on the first click or key.
const SOUND_KEY = "carecall.waitingAreaSound";
const soundButton = $('[data-action="sound"]');

/** @param {boolean} on */
function setSound(on) {
  soundOn = on;
  if (soundOn && !audioContext) audioContext = new AudioContext();
  if (audioContext && audioContext.state === "suspended") audioContext.resume().catch(() => {});
  soundButton.setAttribute("aria-pressed", String(soundOn));
  soundButton.textContent = soundOn ? gettext("Sound alerts: on") : gettext("Sound alerts");
  try {
    localStorage.setItem(SOUND_KEY, soundOn ? "on" : "off");
  } catch {
    // Storage off: the choice lasts for this page only.
  }
}

soundButton.addEventListener("click", () => {
  setSound(!soundOn);
  if (soundOn) chime();
});
for (const gesture of ["click", "keydown"]) {
  document.addEventListener(gesture, () => {
    if (audioContext && audioContext.state === "suspended") audioContext.resume().catch(() => {});
  });
}
try {
  if (localStorage.getItem(SOUND_KEY) === "on") setSound(true);
} catch {
  // Storage off.
}
const notifyButton = $('[data-action="notify"]');
if (!("Notification" in window) || Notification.permission === "granted") notifyButton.hidden = true;
notifyButton.addEventListener("click", async () => {
  const answer = await Notification.requestPermission();
  notifyButton.hidden = answer === "granted";
  announce(answer === "granted" ? gettext("Browser notifications are on.") : gettext("Browser notifications stay off."));
});

socket.start();
