// One WebSocket to /ws shared by every page. Subscriptions are re-sent after a reconnect so a page keeps
// receiving its session's or job's messages; the banner tells the user whenever the live link is down.
import { apiKey } from './api.js';

const banner = () => document.getElementById('live-banner');
const bannerText = () => document.getElementById('live-banner-text');

class LiveConnection {
  #socket = null;
  #listeners = new Set();
  #subscriptions = new Map();
  #attempt = 0;
  #retryTimer = null;
  #wanted = false;
  #everOpened = false;
  #pendingSends = [];

  constructor() {
    document.getElementById('live-reconnect')?.addEventListener('click', () => this.reconnectNow());
    window.addEventListener('sagas:key-changed', () => { if (this.#wanted) this.reconnectNow(); });
  }

  get isOpen() { return this.#socket?.readyState === WebSocket.OPEN; }

  /** Registers a handler for every message; returns a function that removes it. */
  listen(handler) {
    this.#listeners.add(handler);
    this.ensureOpen();
    return () => this.#listeners.delete(handler);
  }

  /** Subscribes to a scan session or an LLM job by id; kept across reconnects until the returned function is called. */
  subscribe(message) {
    const key = JSON.stringify(message);
    this.#subscriptions.set(key, message);
    this.send(message);
    return () => this.#subscriptions.delete(key);
  }

  /** Sends now when open, else as soon as the socket opens. */
  send(message) {
    this.ensureOpen();
    if (this.isOpen) this.#socket.send(JSON.stringify(message));
    else this.#pendingSends.push(message);
  }

  ensureOpen() {
    this.#wanted = true;
    if (this.#socket && this.#socket.readyState <= WebSocket.OPEN) return;
    if (this.#retryTimer) return;
    this.#open();
  }

  reconnectNow() {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#attempt = 0;
    if (this.#socket) {
      this.#socket.onclose = null;
      this.#socket.close();
      this.#socket = null;
    }
    this.#open();
  }

  #open() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const key = apiKey.get();
    // Browsers cannot put a header on a WebSocket: the API accepts the key as access_token on the upgrade only.
    const url = `${scheme}://${location.host}/ws${key ? `?access_token=${encodeURIComponent(key)}` : ''}`;
    let socket;
    try {
      socket = new WebSocket(url);
    } catch (error) {
      this.#scheduleRetry(error.message);
      return;
    }
    this.#socket = socket;
    socket.onopen = () => {
      this.#attempt = 0;
      this.#everOpened = true;
      this.#hideBanner();
      for (const message of this.#subscriptions.values()) socket.send(JSON.stringify(message));
      for (const message of this.#pendingSends.splice(0)) {
        if (!this.#subscriptions.has(JSON.stringify(message))) socket.send(JSON.stringify(message));
      }
    };
    socket.onmessage = event => {
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      for (const listener of [...this.#listeners]) {
        try { listener(message); } catch (error) { console.error(error); }
      }
    };
    socket.onclose = event => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      const why = this.#everOpened
        ? `Live connection lost (code ${event.code}${event.reason ? `: ${event.reason}` : ''}).`
        : 'Live updates are unavailable: the WebSocket /ws did not open (wrong API key, or this server has no /ws yet).';
      this.#scheduleRetry(why);
    };
  }

  #scheduleRetry(why) {
    if (!this.#wanted) return;
    const seconds = Math.min(30, 2 ** this.#attempt);
    this.#attempt += 1;
    this.#showBanner(`${why} Retrying in ${seconds} s; pages fall back to polling meanwhile.`);
    this.#retryTimer = setTimeout(() => { this.#retryTimer = null; this.#open(); }, seconds * 1000);
  }

  #showBanner(text) {
    bannerText().textContent = text;
    banner().hidden = false;
  }

  #hideBanner() { banner().hidden = true; }
}

export const live = new LiveConnection();
