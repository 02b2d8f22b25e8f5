// The outbox: every log, rating and reflection is written to IndexedDB first and sent when
// the phone is online. An entry is deleted only after the server confirms it (2xx); a 422 is
// kept and marked as needing attention; a 401 keeps everything until the patient signs in
// (and forgets the pages kept for offline: the session has ended).
import { forgetPages } from "./forget.js";

const DB_NAME = "tend";
const STORE = "outbox";
const listeners = new Set();
let draining = null;
let drainAgain = false; // something was queued while sending: look again

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "id" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function tx(mode, work) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const result = work(t.objectStore(STORE));
    t.oncomplete = () => { db.close(); resolve(result && "result" in result ? result.result : undefined); };
    t.onerror = () => { db.close(); reject(t.error); };
  });
}

// Entries belong to the person who made them: on a shared phone, another patient's session
// must never send them.
function owner() {
  const el = document.getElementById("i18n");
  return (el && el.dataset.user) || "";
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

/** All waiting entries, oldest first. */
export async function list() {
  const all = ((await tx("readonly", (store) => store.getAll())) || []).filter((e) => e.owner === owner());
  return all.sort((a, b) => a.created - b.created);
}

/** Whether anything at all waits on this phone, whoever made it (sign-out must keep it). */
export async function anyWaiting() {
  return ((await tx("readonly", (store) => store.count())) || 0) > 0;
}

/** Keep a request to send; an entry with the same id (an edit still waiting) is replaced. */
export async function enqueue({ id, method = "POST", url, body, label }) {
  await tx("readwrite", (store) => store.put({
    id, method, url, body, label, owner: owner(), created: Date.now(), state: "waiting", message: "",
  }));
  notify();
  drain();
}

export async function remove(id) {
  await tx("readwrite", (store) => store.delete(id));
  notify();
}

export function subscribe(listener) {
  listeners.add(listener);
  list().then(listener);
}

async function notify(extra) {
  const entries = await list();
  for (const listener of listeners) listener(entries, extra);
}

function kindMessage(detail) {
  // FastAPI's 422 detail is a list of {loc, msg}; show the message without the jargon.
  if (Array.isArray(detail)) return detail.map((d) => d.msg).join("; ");
  return typeof detail === "string" ? detail : "";
}

async function sendOne(entry) {
  const headers = { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() };
  const response = await fetch(entry.url, {
    method: entry.method, headers, body: JSON.stringify(entry.body), credentials: "same-origin",
  });
  if (response.ok) {
    await tx("readwrite", (store) => store.delete(entry.id));
    return "sent";
  }
  if (response.status === 422) {
    let message = "";
    try { message = kindMessage((await response.json()).detail); } catch { /* not JSON */ }
    await tx("readwrite", (store) => store.put({ ...entry, state: "attention", message }));
    return "attention";
  }
  if (response.status === 401) forgetPages().catch(() => {});
  if (response.status === 401 || response.status === 403) return "signin";
  return "later";
}

/** Send what is waiting, one at a time, oldest first. Safe to call often. */
export function drain() {
  if (draining) { drainAgain = true; return draining; }
  draining = (async () => {
    let outcome = "idle";
    try {
      do {
        drainAgain = false;
        for (const entry of await list()) {
          if (entry.state !== "waiting") continue;
          if (!navigator.onLine) { outcome = "offline"; break; }
          let result;
          try { result = await sendOne(entry); } catch { result = "offline"; }
          if (result === "signin" || result === "offline" || result === "later") { outcome = result; break; }
        }
      } while (drainAgain && outcome === "idle");
    } finally {
      draining = null;
    }
    await notify({ outcome });
    return outcome;
  })();
  return draining;
}

/** Drain on load, when the phone comes back online, when the app is shown, and every 30 s. */
export function startSync() {
  drain();
  addEventListener("online", drain);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") drain(); });
  setInterval(drain, 30000);
}

/** Local time from the phone: ISO instant with its offset, IANA zone, and the local day. */
export function localNow(date = new Date()) {
  const pad = (n) => String(Math.abs(Math.trunc(n))).padStart(2, "0");
  const offset = -date.getTimezoneOffset();
  const day = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  const sign = offset >= 0 ? "+" : "-";
  return {
    started_at: `${day}T${time}${sign}${pad(offset / 60)}:${pad(offset % 60)}`,
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    local_date: day,
  };
}

/** Queue a practice log (CONTRACT: POST /api/v1/practice-logs). */
export function logPractice(log, label) {
  return enqueue({ id: log.id, url: "/api/v1/practice-logs", body: log, label });
}
