// The patient app on every page: offline worker, outbox card, one-tap logs with Undo,
// saving a week for offline, and a platform-aware install hint.
import { anyWaiting, drain, enqueue, list, localNow, logPractice, remove, startSync, subscribe } from "./outbox.js";
import { forgetPages } from "./forget.js";
import { pickRendition, recoverDrafts } from "./player.js";

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];
const text = (key) => (document.getElementById("i18n") || { dataset: {} }).dataset[key] || "";
const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, k) => values[k] ?? "");

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(() => {
    // The first visit was not seen by the worker: it fetches and keeps this page now (under
    // the signed-in person, and only the pages it may keep).
    if (!navigator.serviceWorker.controller) {
      navigator.serviceWorker.ready.then((registration) => {
        if (registration.active) registration.active.postMessage({ type: "keep", url: location.pathname + location.search });
      });
    }
  });
}

// ---- urgent support and the questionnaires open with no signal: the worker keeps them for
// the signed-in person at sign-in (the first page after it, or whenever the copy is missing),
// then once per visit
const PAGES_KEPT = "tend-help-kept";
if ("serviceWorker" in navigator && navigator.onLine && document.getElementById("i18n")?.dataset.user) {
  navigator.serviceWorker.ready.then(async (registration) => {
    if ((await caches.match("/help")) && sessionStorage.getItem(PAGES_KEPT)) return;
    const keep = (url) => registration.active?.postMessage({ type: "keep", url });
    keep("/help");
    keep("/questionnaires");
    const listing = await fetch("/questionnaires", { credentials: "same-origin" });
    if (!listing.ok || listing.redirected) return;
    for (const [, url] of (await listing.text()).matchAll(/href="(\/questionnaires\/[a-z0-9_]+\/[a-z0-9_]+)"/g)) keep(url);
    sessionStorage.setItem(PAGES_KEPT, "1");
  }).catch(() => {});
}

// ---- what is waiting to be sent
function renderOutbox(entries, extra = {}) {
  const card = $("#outbox-card");
  if (!card) return;
  const waiting = entries.filter((e) => e.state === "waiting");
  const attention = entries.filter((e) => e.state === "attention");
  card.hidden = entries.length === 0;
  const summary = $("[data-outbox-summary]", card);
  const status = extra.outcome === "signin" ? text("outboxSignin")
    : navigator.onLine ? text("outboxSending") : text("outboxOffline");
  summary.textContent = waiting.length ? `${fill(text("outboxWaiting"), { n: waiting.length })} ${status}` : "";
  const listEl = $("[data-outbox-list]", card);
  listEl.replaceChildren(...entries.map((entry) => {
    const li = document.createElement("li");
    li.textContent = entry.label || "";
    if (entry.state === "attention") {
      li.className = "attention";
      const why = document.createElement("p");
      why.textContent = `${text("outboxAttention")} ${entry.message}`;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button";
      button.textContent = text("outboxRemove");
      button.addEventListener("click", () => remove(entry.id));
      li.append(why, button);
    }
    return li;
  }));
  $("[data-outbox-attention]", card).hidden = attention.length === 0;
}
recoverDrafts(document.getElementById("i18n")?.dataset.user || "");
subscribe(renderOutbox);
startSync();

// ---- one-tap logs of practice without audio: one log however many taps, "Noted ✓ · Undo"
// for about 10 s, and the week's circles updated at once (undone with it).
const UNDO_SECONDS = 10;

function weekCircles() {
  const card = $("[data-this-week]");
  if (!card) return null;
  const d = card.dataset;
  const show = (s) => {
    Object.assign(d, { days: s.days, todayMinutes: s.todayMinutes, todayCounted: s.todayCounted ? "yes" : "no" });
    $("[data-target-count]", card).textContent = fill(d.countTemplate, { done: s.days, target: d.target });
    const partial = !s.todayCounted && s.todayMinutes > 0 ? 1 : 0;
    $$(".day", card).forEach((dot, i) => {
      dot.classList.toggle("done", i < s.days);
      dot.classList.toggle("partial", i >= s.days && i < s.days + partial);
    });
  };
  /** Count a practice of ``minutes`` today; returns the state before, for Undo. */
  const add = (minutes, kind) => {
    const before = readState(d);
    const after = { ...before, todayMinutes: before.todayMinutes + minutes };
    const badDay = kind === "anytime" && d.badDayCounts === "yes";
    after.todayCounted = before.todayCounted || after.todayMinutes >= Number(d.ruleMinutes) || badDay;
    if (after.todayCounted && !before.todayCounted) after.days = before.days + 1;
    show(after);
    return before;
  };
  return { add, restore: show };
}

function readState(d) {
  return { days: Number(d.days), todayMinutes: Number(d.todayMinutes), todayCounted: d.todayCounted === "yes" };
}

async function undoPractice(logId) {
  // Still waiting on the phone: take it out. It may be on its way already, so the server is
  // asked to delete it too, through the outbox (a log it never got is a harmless no-op).
  await remove(logId);
  await enqueue({ id: `undo-${logId}`, method: "DELETE", url: `/api/v1/practice-logs/${logId}`, label: text("undoLabel") });
}

function showNoted(result, logId, circlesBefore, circles, button) {
  const undo = document.createElement("button");
  undo.type = "button";
  undo.className = "link-button";
  undo.textContent = text("undo");
  const noted = document.createElement("span");
  noted.textContent = text("noted");
  result.replaceChildren(noted, " · ", undo);
  const timer = setTimeout(() => result.replaceChildren(), UNDO_SECONDS * 1000);
  undo.addEventListener("click", async () => {
    clearTimeout(timer);
    undo.disabled = true;
    await undoPractice(logId);
    if (circles && circlesBefore) circles.restore(circlesBefore);
    result.textContent = text("undone");
    button.focus();
    setTimeout(() => { if (result.textContent === text("undone")) result.replaceChildren(); }, UNDO_SECONDS * 1000);
  });
}

for (const button of $$("[data-quick-kind]")) {
  button.addEventListener("click", async () => {
    if (button.disabled) return;
    button.disabled = true; // a second tap while this one is stored is not a second practice
    const minutes = Number($("#quick-minutes").value || 10);
    const kind = button.dataset.quickKind;
    const log = { id: crypto.randomUUID(), kind, ...localNow(), listened_seconds: minutes * 60, completed: true };
    try {
      await logPractice(log, `${button.textContent.trim()}, ${fill(text("minutes"), { n: minutes })}`);
      const circles = weekCircles();
      const before = circles ? circles.add(minutes, kind) : null;
      showNoted($("[data-quick-result]"), log.id, before, circles, button);
    } finally {
      button.disabled = false;
    }
  });
}

// ---- the plain "log a practice" form goes through the outbox too
const logForm = $("form.log-form");
if (logForm) logForm.addEventListener("submit", async (event) => {
  const data = new FormData(logForm);
  const choice = data.get("practice");
  const minutes = Number(data.get("minutes"));
  if (!choice || !(minutes >= 1 && minutes <= 360)) return; // let the server explain
  event.preventDefault();
  const ratings = (moment) => {
    const r = {};
    for (const name of ["pain_intensity", "pain_distress", "mood"]) {
      const v = data.get(`${moment}_${name}`);
      if (v !== null && v !== "") r[name] = Number(v);
    }
    return Object.keys(r).length ? r : null;
  };
  const log = {
    id: crypto.randomUUID(), ...localNow(), listened_seconds: minutes * 60,
    completed: data.get("completed") === "yes",
  };
  if (/^\d+$/.test(choice)) log.exercise_id = Number(choice); else log.kind = choice;
  if (ratings("before")) log.ratings_before = ratings("before");
  if (ratings("after")) log.ratings_after = ratings("after");
  const label = logForm.querySelector(`option[value="${choice}"]`).textContent.trim();
  await logPractice(log, `${label}, ${fill(text("minutes"), { n: minutes })}`);
  logForm.reset();
  $("[data-form-result]").textContent = text("formDone");
});

// ---- reflections go through the outbox (PUT: an edit replaces the waiting copy)
for (const form of $$("form[data-reflection]")) {
  form.addEventListener("submit", async (event) => {
    const data = new FormData(form);
    const body = {
      kind: data.get("kind"), text: String(data.get("text") || "").trim(),
      share_with_group: data.get("share_with_group") === "yes",
      share_name: data.get("share_with_group") === "yes" && data.get("share_name") === "yes",
    };
    if (!body.text) return; // the server explains next to the field
    event.preventDefault();
    body.week_number = data.get("week_number") ? Number(data.get("week_number")) : null;
    const id = data.get("id");
    await enqueue({ id, method: "PUT", url: `/api/v1/reflections/${id}`, body, label: text("reflectionLabel") });
    const kept = $("[data-reflection-result]", form);
    kept.textContent = text("reflectionDone");
    kept.scrollIntoView({ block: "nearest" });
  });
}

// ---- save this week's audio for offline (full files; the worker answers ranges from them)
const saveButton = $("[data-save-offline]");
if (saveButton && "caches" in window) {
  const status = $("[data-save-status]");
  const urls = JSON.parse(saveButton.dataset.renditions || "[]")
    .map((options) => pickRendition(options)).filter(Boolean);
  const check = async () => {
    const cache = await caches.open("tend-media");
    const have = await Promise.all(urls.map((u) => cache.match(u)));
    if (urls.length && have.every(Boolean)) status.textContent = text("savedOffline");
  };
  check();
  saveButton.addEventListener("click", async () => {
    status.textContent = text("saving");
    try {
      const cache = await caches.open("tend-media");
      for (const url of urls) {
        if (await cache.match(url)) continue;
        // "reload": after the player has streamed a file, Firefox's HTTP cache answers a plain
        // fetch with a 206 of the whole file, which Cache.put refuses; ask the server instead.
        const response = await fetch(url, { credentials: "same-origin", cache: "reload" });
        if (!response.ok) throw new Error(String(response.status));
        await cache.put(url, response);
      }
      status.textContent = text("savedOffline");
    } catch {
      status.textContent = text("saveFailed");
    }
  });
}

// ---- install hint: the browser's prompt on Android/Chrome, Share -> Add to Home Screen on iOS
const hint = $("#install-hint");
const standalone = matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;
if (hint && !standalone && !localStorage.getItem("tend.installHintDismissed")) {
  const isIos = /iphone|ipad|ipod/i.test(navigator.userAgent) && !/crios|fxios/i.test(navigator.userAgent);
  if (isIos) {
    $("[data-install-ios]", hint).hidden = false;
    hint.hidden = false;
  }
  const offerInstall = (event) => {
    event.preventDefault();
    const button = $("[data-install-button]", hint);
    button.hidden = false;
    hint.hidden = false;
    button.onclick = async () => {
      event.prompt();
      await event.userChoice;
      hint.hidden = true;
    };
  };
  // The browser's offer may have come before this script did: the page's loader kept it.
  if (self.tendInstallOffer) offerInstall(self.tendInstallOffer);
  addEventListener("beforeinstallprompt", offerInstall);
  $("[data-install-dismiss]", hint).addEventListener("click", () => {
    localStorage.setItem("tend.installHintDismissed", "1");
    hint.hidden = true;
  });
  addEventListener("appinstalled", () => { hint.hidden = true; });
}

// ---- Today's "How are you now?" goes with the practice its play button starts
for (const box of $$("[data-today-checkin]")) {
  const key = `tend.before.${box.dataset.todayCheckin}`;
  box.addEventListener("change", () => {
    const ratings = {};
    for (const input of $$("input:checked", box)) ratings[input.name.replace(/^now_/, "")] = Number(input.value);
    sessionStorage.setItem(key, JSON.stringify(ratings));
  });
}

// ---- a refused form comes back with its errors in view and focused
const firstError = $("[data-focus-on-load]");
if (firstError) {
  const details = firstError.closest("details");
  if (details) details.open = true;
  firstError.scrollIntoView({ block: "center" });
  firstError.focus();
}

// ---- signing out forgets the pages kept for offline; unsent entries are never lost: with
// some still waiting the patient chooses to wait for them or to keep them on this phone
// (the server then clears only caches, not the outbox's storage).
const signOut = $('form[action="/logout"]');
const unsentCard = $("#signout-unsent");
async function finishSignOut(keepUnsent) {
  if (keepUnsent) {
    const field = document.createElement("input");
    Object.assign(field, { type: "hidden", name: "keep_unsent", value: "1" });
    signOut.append(field);
  }
  await forgetPages().catch(() => {});
  signOut.submit();
}
if (signOut) {
  signOut.addEventListener("submit", async (event) => {
    event.preventDefault();
    const waiting = unsentCard ? await list().catch(() => []) : [];
    // Another person's kept entries (a shared phone) stay too, without asking this one.
    if (!waiting.length) { await finishSignOut(await anyWaiting().catch(() => true)); return; }
    $("[data-signout-unsent-count]", unsentCard).textContent = fill(text("outboxWaiting"), { n: waiting.length });
    unsentCard.hidden = false;
    unsentCard.scrollIntoView();
    $("[data-signout-wait]", unsentCard).focus();
  });
}
if (unsentCard) {
  $("[data-signout-wait]", unsentCard).addEventListener("click", async () => {
    await drain();
    if (!(await list()).length) { await finishSignOut(await anyWaiting().catch(() => true)); return; }
    $("[data-signout-unsent-count]", unsentCard).textContent =
      `${fill(text("outboxWaiting"), { n: (await list()).length })} ${text("outboxOffline")}`;
  });
  $("[data-signout-anyway]", unsentCard).addEventListener("click", () => finishSignOut(true));
}

export { drain };
