importScripts("/static/js/sw-push.js");
// Tend service worker: the app opens, plays saved audio and logs practice without signal.
// Shell (CSS, JS, icons): cache-first. Patient pages: network-first, the last copy offline.
// Audio saved for offline: whole files, with Range requests answered by slicing them.
const SHELL_CACHE = "tend-shell-v2";
const PAGES_CACHE = "tend-pages";
const MEDIA_CACHE = "tend-media";
const SHELL = [
  "/static/css/app.css", "/static/js/app.js", "/static/js/outbox.js", "/static/js/player.js",
  "/static/js/local-time.js", "/manifest.webmanifest", "/static/icons/icon.svg",
  "/static/icons/icon-192.png", "/static/icons/icon-512.png",
];
SHELL.push("/static/js/questionnaire.js");
const PATIENT_PAGES = [/^\/today$/, /^\/practice\/\d+$/, /^\/progress$/, /^\/reflections$/, /^\/exercises\/\d+\/transcript$/];
// Help and questionnaires open with no signal too (issue 14): urgent support is one tap away.
PATIENT_PAGES.push(/^\/help$/, /^\/questionnaires$/, /^\/questionnaires\/[a-z0-9_]+\/[a-z0-9_]+$/);

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("tend-shell-") && k !== SHELL_CACHE).map((k) => caches.delete(k))))
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

async function pageNetworkFirst(request) {
  const cache = await caches.open(PAGES_CACHE);
  try {
    const response = await fetch(request);
    // Keep only real pages: not the sign-in page a lapsed session is redirected to.
    if (response.ok && !response.redirected) cache.put(request, response.clone());
    return response;
  } catch (error) {
    const url = new URL(request.url);
    const hit = (await cache.match(request)) || (await cache.match(url.pathname, { ignoreSearch: true }));
    if (hit) return hit;
    const today = await cache.match("/today");
    if (today) return today;
    return new Response("<!doctype html><title>Offline</title><p>You are offline. Open Tend again when you have signal.</p>",
      { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
  }
}

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
  }
});
