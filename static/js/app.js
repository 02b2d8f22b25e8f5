// The patient app on every page: offline worker, outbox card, one-tap logs, the bad-day
// toggle, saving a week for offline, and a platform-aware install hint.
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

// ---- one-tap logs of practice without audio
for (const button of $$("[data-quick-kind]")) {
  button.addEventListener("click", async () => {
    const minutes = Number($("#quick-minutes").value || 10);
    const log = {
      id: crypto.randomUUID(), kind: button.dataset.quickKind, ...localNow(),
      listened_seconds: minutes * 60, completed: true,
    };
    await logPractice(log, `${button.textContent.trim()}, ${fill(text("minutes"), { n: minutes })}`);
    const done = $("[data-quick-result]");
    done.textContent = fill(text("quickDone"), { what: button.textContent.trim(), n: minutes });
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
    $("[data-reflection-result]", form).textContent = text("reflectionDone");
  });
}

// ---- "today is a bad day": show the flare-day version first, remembered for today
const flareButton = $("[data-flare-toggle]");
if (flareButton) {
  const key = `tend.flare.${localNow().local_date}`;
  const apply = (on) => {
    document.documentElement.classList.toggle("flare-day", on);
    flareButton.setAttribute("aria-pressed", String(on));
  };
  apply(localStorage.getItem(key) === "1");
  flareButton.addEventListener("click", () => {
    const on = flareButton.getAttribute("aria-pressed") !== "true";
    if (on) localStorage.setItem(key, "1"); else localStorage.removeItem(key);
    apply(on);
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
        const response = await fetch(url, { credentials: "same-origin" });
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
  addEventListener("beforeinstallprompt", (event) => {
    event.preventDefault();
    const button = $("[data-install-button]", hint);
    button.hidden = false;
    hint.hidden = false;
    button.onclick = async () => {
      event.prompt();
      await event.userChoice;
      hint.hidden = true;
    };
  });
  $("[data-install-dismiss]", hint).addEventListener("click", () => {
    localStorage.setItem("tend.installHintDismissed", "1");
    hint.hidden = true;
  });
  addEventListener("appinstalled", () => { hint.hidden = true; });
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
