// What the phone kept of one person is forgotten when their session ends: on sign-out, on any
// 401, and when someone else signs in (the service worker sees a different X-Tend-Person).
// Pages kept for offline live in caches named tend-pages-<person>; the worker's note of who
// is signed in lives in tend-session. The outbox is not touched here: unsent entries stay
// until they are sent (app.js asks before signing out with entries waiting).
export async function forgetPages() {
  if (!("caches" in self)) return;
  const names = await caches.keys();
  await Promise.all(names.filter((n) => n.startsWith("tend-pages") || n === "tend-session").map((n) => caches.delete(n)));
}
