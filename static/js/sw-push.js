// Tend push reminders, imported by the service worker (/sw.js). Shows the notification the
// server sent and, when it is tapped, opens (or focuses) the page it points to.
const TEND_PUSH_DEFAULT = { title: "Tend", body: "Time for a few quiet minutes with Tend.", url: "/today", tag: "tend" };

function tendPushPayload(event) {
  if (!event.data) return TEND_PUSH_DEFAULT;
  try {
    return { ...TEND_PUSH_DEFAULT, ...event.data.json() };
  } catch (error) {
    return TEND_PUSH_DEFAULT;
  }
}

// Only paths inside this app: a payload can never send the patient elsewhere.
function tendPushTarget(url) {
  const target = new URL(url || "/today", self.location.origin);
  return target.origin === self.location.origin ? target.href : new URL("/today", self.location.origin).href;
}

self.addEventListener("push", (event) => {
  const payload = tendPushPayload(event);
  event.waitUntil(
    self.registration.showNotification(payload.title, {
      body: payload.body,
      tag: payload.tag,
      icon: "/static/icons/icon-192.png",
      badge: "/static/icons/icon-192.png",
      data: { url: tendPushTarget(payload.url) },
    })
  );
});

async function tendOpen(url) {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const client of windows) {
    if (new URL(client.url).origin !== self.location.origin) continue;
    if ("navigate" in client && client.url !== url) {
      const navigated = await client.navigate(url).catch(() => null);
      if (navigated) return navigated.focus();
    } else if (client.url === url) {
      return client.focus();
    }
  }
  return self.clients.openWindow(url);
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = tendPushTarget(event.notification.data && event.notification.data.url);
  event.waitUntil(tendOpen(url));
});
