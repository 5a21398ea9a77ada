// The websocket every live page of ours keeps open (the call, the waiting area): one connection
// at a time to a path the server handed over, reconnected with a growing back-off, checked by a
// ping whose pong must come back in time (a socket can look open long after the network under
// it went away), reconnected at once when the browser says it is online again, and fed only
// messages that parse as JSON objects with a string `type`.
//
//   const socket = new ReconnectingSocket(path, {
//     onMessage(message) {},      // every well-formed message (pongs included)
//     onOpen({ reconnected }) {}, // a connection opened; reconnected: after a loss
//     onClose(event) {},          // return true to stop for good (the server refused us)
//     onReconnecting(delay) {},   // the connection was lost; the next try is in `delay` ms
//   });
//   socket.start(); socket.send({ type: "…" }); socket.stop();

/** @typedef {{ type: string, [key: string]: unknown }} Message */

/**
 * @typedef {object} SocketHandlers
 * @property {(message: Message) => void} onMessage
 * @property {(info: { reconnected: boolean }) => void} [onOpen]
 * @property {(event: CloseEvent) => boolean | void} [onClose]
 * @property {(delay: number) => void} [onReconnecting]
 */

/**
 * A message as sent by the server, or null when it is not JSON or has no string `type`.
 * @param {unknown} data
 * @returns {Message | null}
 */
export function parseMessage(data) {
  if (typeof data !== "string") return null;
  try {
    const message = JSON.parse(data);
    return message && typeof message === "object" && typeof message.type === "string" ? message : null;
  } catch {
    return null;
  }
}

/**
 * The back-off before reconnect try number `retry` (1, 2, …): 1 s doubling up to 10 s.
 * @param {number} retry
 */
export function reconnectDelay(retry) {
  return Math.min(10000, 500 * 2 ** Math.min(retry, 5));
}

export class ReconnectingSocket {
  /**
   * @param {string} path the websocket path the server handed over (a data attribute)
   * @param {SocketHandlers} handlers
   */
  constructor(path, handlers) {
    this.path = path;
    this.handlers = handlers;
    /** @type {WebSocket | null} */
    this.ws = null;
    this.retry = 0;
    this.pingEvery = 25000; // ms between pings
    this.pongTimeout = 10000; // no pong within this: the socket is dead even if it looks open
    this.stopped = true;
    /** @type {number | undefined} */
    this.reconnectTimer = undefined;
    /** @type {number | undefined} */
    this.pongTimer = undefined;
    /** @type {number | undefined} */
    this.pingTimer = undefined;
    this.onOnline = () => {
      if (this.stopped) return;
      if (!this.ws || this.ws.readyState > WebSocket.OPEN) this.connect();
      else this.ping();
    };
  }

  /** Connect, and keep connected until stop(). */
  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.retry = 0;
    window.addEventListener("online", this.onOnline);
    this.schedulePing();
    this.connect();
  }

  /** Close for good: no reconnect, no timer left running. */
  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    window.clearTimeout(this.reconnectTimer);
    window.clearTimeout(this.pongTimer);
    window.clearTimeout(this.pingTimer);
    if (this.ws) this.ws.close();
  }

  get isOpen() {
    return Boolean(this.ws && this.ws.readyState === WebSocket.OPEN);
  }

  /** @param {object} message */
  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  connect() {
    window.clearTimeout(this.reconnectTimer);
    if (this.stopped) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}${this.path}`);
    this.ws = ws;
    ws.onopen = () => {
      const reconnected = this.retry > 0;
      this.retry = 0;
      if (this.handlers.onOpen) this.handlers.onOpen({ reconnected });
    };
    ws.onmessage = (event) => {
      const message = parseMessage(event.data);
      if (!message) return;
      if (message.type === "pong") window.clearTimeout(this.pongTimer);
      this.handlers.onMessage(message);
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      window.clearTimeout(this.pongTimer);
      if (this.stopped) return;
      if (this.handlers.onClose && this.handlers.onClose(event)) {
        this.stop();
        return;
      }
      this.reconnectLater();
    };
  }

  reconnectLater() {
    this.retry += 1;
    const delay = reconnectDelay(this.retry);
    window.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = window.setTimeout(() => this.connect(), delay);
    if (this.handlers.onReconnecting) this.handlers.onReconnecting(delay);
  }

  /** Ping now; without a pong within pongTimeout, drop this socket and open another. */
  ping() {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    ws.send('{"type":"ping"}');
    window.clearTimeout(this.pongTimer);
    this.pongTimer = window.setTimeout(() => {
      if (ws !== this.ws || this.stopped) return;
      ws.onclose = null;
      ws.onmessage = null;
      ws.close(4000, "no pong");
      this.reconnectLater();
    }, this.pongTimeout);
  }

  // One chain of pings per socket object, however often it reconnects.
  schedulePing() {
    window.clearTimeout(this.pingTimer);
    this.pingTimer = window.setTimeout(() => {
      if (this.stopped) return;
      this.ping();
      this.schedulePing();
    }, this.pingEvery);
  }
}
