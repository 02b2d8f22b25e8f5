// Turn Web Push notifications on or off for this phone, and say plainly when they cannot work.
const section = document.getElementById("push-device");
const status = section.querySelector("[data-push-status]");
const onButton = section.querySelector("[data-push-on]");
const offButton = section.querySelector("[data-push-off]");
const API = "/api/v1/reminders";

const savedNote = document.querySelector("[data-ping-note]");
// The "Saved." notice says honestly whether a ping will reach this phone.
const say = (key) => {
  status.textContent = section.dataset[key];
  if (savedNote && key !== "msgWorking" && key !== "msgFailed") {
    savedNote.textContent = section.dataset[key === "msgOn" ? "savedOn" : key];
  }
};
const show = (button, visible) => { button.hidden = !visible; };

function isAppleMobile() {
  return /iPad|iPhone|iPod/.test(navigator.userAgent) ||
    (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
}

function installed() {
  return window.matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;
}

function keyBytes(base64url) {
  const padded = (base64url + "=".repeat((4 - (base64url.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

async function send(method, path, body) {
  const response = await fetch(API + path, {
    method, credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok && response.status !== 404) throw new Error(`HTTP ${response.status}`);
  return response;
}

async function registration() {
  await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  return navigator.serviceWorker.ready;
}

async function refresh() {
  const current = await (await registration()).pushManager.getSubscription();
  if (current) {
    // Keep the server's copy current: the browser may have renewed the subscription.
    await send("POST", "/subscriptions", current.toJSON());
    say("msgOn");
  } else {
    say("msgOff");
  }
  show(onButton, !current);
  show(offButton, Boolean(current));
}

async function turnOn() {
  say("msgWorking");
  const permission = await Notification.requestPermission();
  if (permission !== "granted") {
    say("msgDenied");
    show(onButton, false);
    return;
  }
  const { public_key: key } = await (await send("GET", "/vapid-public-key")).json();
  const reg = await registration();
  const subscription = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
  await send("POST", "/subscriptions", subscription.toJSON());
  await refresh();
}

async function turnOff() {
  say("msgWorking");
  const subscription = await (await registration()).pushManager.getSubscription();
  if (subscription) {
    await send("DELETE", "/subscriptions", { endpoint: subscription.endpoint });
    await subscription.unsubscribe();
  }
  await refresh();
}

function guard(action) {
  return () => action().catch(() => say("msgFailed"));
}

// Saving reminders asks for notification permission in the same tap (browsers only ask
// during a tap), then saves whatever the answer: the saved page says if no ping will come.
function askWhenSaving(form) {
  let asked = false;
  form.addEventListener("submit", (event) => {
    const wantsSome = form.querySelector('input[type="checkbox"]:checked:not([name="days"])');
    if (asked || !wantsSome || Notification.permission !== "default") return;
    event.preventDefault();
    asked = true;
    turnOn().catch(() => {}).finally(() => form.submit());
  });
}

if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
  say(isAppleMobile() && !installed() ? "msgIos" : "msgUnsupported");
} else if (Notification.permission === "denied") {
  say("msgDenied");
} else {
  const form = document.querySelector("form.reminder-form");
  if (form) askWhenSaving(form);
  onButton.addEventListener("click", guard(turnOn));
  offButton.addEventListener("click", guard(turnOff));
  guard(refresh)();
}

// Typing an exact time means "at an exact time".
const exactTime = document.querySelector("[data-exact-time]");
if (exactTime) exactTime.addEventListener("input", () => {
  const exact = document.querySelector('input[name="when"][value="exact"]');
  if (exact) exact.checked = true;
});
