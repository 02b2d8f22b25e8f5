importScripts("/static/js/sw-push.js");
// Tend service worker: the app opens, plays saved audio and logs practice without signal.
// Shell (JS, icons): cache-first. Patient pages (which carry their stylesheet): network-first,
// the last copy offline.
// Audio saved for offline: whole files, with Range requests answered by slicing them.
const SHELL_CACHE = "tend-shell-v2";
const PAGES_CACHE = "tend-pages";
const MEDIA_CACHE = "tend-media";
const SHELL = [
  "/static/js/app.js", "/static/js/outbox.js", "/static/js/player.js",
  "/static/js/local-time.js", "/static/js/forget.js", "/manifest.webmanifest", "/static/icons/icon.svg",
  "/static/icons/icon-192.png", "/static/icons/icon-512.png",
];
SHELL.push("/static/js/questionnaire.js");
const PATIENT_PAGES = [/^\/today$/, /^\/practice\/\d+$/, /^\/exercises\/\d+\/transcript$/];
// A patient's own words and history are never kept on the phone: network only.
const NEVER_KEPT = [/^\/progress$/, /^\/reflections$/];
// Kept pages belong to one person (the server's X-Tend-Person key): tend-pages-<person>.
// tend-session notes who is signed in; nobody else is served that person's pages.
const SESSION_CACHE = "tend-session";
const PERSON_URL = "/__tend/person";
const PERSON_HEADER = "X-Tend-Person";
const OFFLINE_PAGE = "<!doctype html><html lang=\"en-GB\"><title>Offline</title><p>You are offline. Open Tend again when you have signal.</p></html>";
// Help and questionnaires open with no signal too: urgent support is one tap away.
PATIENT_PAGES.push(/^\/help$/, /^\/questionnaires$/, /^\/questionnaires\/[a-z0-9_]+\/[a-z0-9_]+$/);

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      // "tend-pages" (one cache for whoever was signed in) predates per-person caches.
      .then((keys) => Promise.all(keys.filter((k) => (k.startsWith("tend-shell-") && k !== SHELL_CACHE) || k === PAGES_CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

async function shellFirst(request) {
  // Asset URLs carry a content hash (?v=...): an exact hit is current; a new hash is fetched
  // and kept; offline, any copy of the file is better than none.
  const exact = await caches.match(request);
  if (exact && !new URL(request.url).searchParams.has("v")) {
    // Unhashed (module imports): answer at once, refresh the copy for next time.
    fetch(request).then(async (fresh) => { if (fresh.ok) (await caches.open(SHELL_CACHE)).put(request, fresh); }).catch(() => {});
  }
  if (exact) return exact;
  try {
    const response = await fetch(request);
    if (response.ok) (await caches.open(SHELL_CACHE)).put(request, response.clone());
    return response;
  } catch (error) {
    const any = await caches.match(request, { ignoreSearch: true });
    if (any) return any;
    throw error;
  }
}

async function signedInPerson() {
  const note = await (await caches.open(SESSION_CACHE)).match(PERSON_URL);
  return note ? note.text() : "";
}

async function forgetPages() {
  const names = await caches.keys();
  await Promise.all(names.filter((n) => n.startsWith(PAGES_CACHE) || n === SESSION_CACHE).map((n) => caches.delete(n)));
}

/** Note who the server says is signed in; someone new (or no one) empties the kept pages. */
async function notePerson(response) {
  const person = response.ok && !response.redirected ? response.headers.get(PERSON_HEADER) || "" : "";
  if (person === (await signedInPerson())) return person;
  await forgetPages();
  if (person) await (await caches.open(SESSION_CACHE)).put(PERSON_URL, new Response(person));
  return person;
}

function offlinePage() {
  return new Response(OFFLINE_PAGE, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

async function pageNetworkFirst(request) {
  try {
    const response = await fetch(request);
    const person = await notePerson(response);
    // Keep only real pages of a signed-in person: not the sign-in page a lapsed session gets.
    if (person) (await caches.open(`${PAGES_CACHE}-${person}`)).put(request, response.clone());
    return response;
  } catch (error) {
    const person = await signedInPerson();
    if (!person) return offlinePage();
    const cache = await caches.open(`${PAGES_CACHE}-${person}`);
    const url = new URL(request.url);
    const hit = (await cache.match(request)) || (await cache.match(url.pathname, { ignoreSearch: true }));
    return hit || (await cache.match("/today")) || offlinePage();
  }
}

async function networkOnly(request) {
  try {
    const response = await fetch(request);
    await notePerson(response);
    return response;
  } catch (error) {
    return offlinePage();
  }
}

// The page's first visit happened before the worker controlled it: keep that page now.
self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type !== "keep" || typeof data.url !== "string") return;
  const url = new URL(data.url, self.location.origin);
  if (url.origin !== self.location.origin || !PATIENT_PAGES.some((re) => re.test(url.pathname))) return;
  event.waitUntil(pageNetworkFirst(new Request(url.href, { credentials: "same-origin" })).catch(() => {}));
});

async function mediaFromCache(request) {
  const cache = await caches.open(MEDIA_CACHE);
  const hit = await cache.match(request.url);
  if (!hit) return fetch(request);
  const range = request.headers.get("range");
  if (!range) return hit;
  const blob = await hit.blob();
  const match = /bytes=(\d*)-(\d*)/.exec(range);
  let start = match && match[1] ? Number(match[1]) : 0;
  let end = match && match[2] ? Number(match[2]) : blob.size - 1;
  if (match && !match[1] && match[2]) { start = Math.max(0, blob.size - Number(match[2])); end = blob.size - 1; }
  end = Math.min(end, blob.size - 1);
  if (start > end || start >= blob.size) {
    return new Response(null, { status: 416, headers: { "Content-Range": `bytes */${blob.size}` } });
  }
  return new Response(blob.slice(start, end + 1), {
    status: 206,
    headers: {
      "Content-Type": hit.headers.get("Content-Type") || "audio/webm",
      "Content-Range": `bytes ${start}-${end}/${blob.size}`,
      "Content-Length": String(end - start + 1),
      "Accept-Ranges": "bytes",
    },
  });
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/") || url.pathname === "/manifest.webmanifest") {
    event.respondWith(shellFirst(request));
  } else if (url.pathname.startsWith("/media/")) {
    event.respondWith(mediaFromCache(request));
  } else if (request.mode === "navigate" && PATIENT_PAGES.some((re) => re.test(url.pathname))) {
    event.respondWith(pageNetworkFirst(request));
  } else if (request.mode === "navigate" && NEVER_KEPT.some((re) => re.test(url.pathname))) {
    event.respondWith(networkOnly(request));
  }
});
