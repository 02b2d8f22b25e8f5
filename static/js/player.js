// The practice player: big controls, lock-screen controls, resume, and an automatic log of
// the time actually listened (not the position), with optional ratings before and after.
import { localNow, logPractice } from "./outbox.js";

const RATINGS = ["pain_intensity", "pain_distress", "mood"];
const ASK_AFTER_SECONDS = 60; // stopping earlier than this is not worth a questionnaire
const LOG_FROM_SECONDS = 5;

/** The first rendition this browser can play: Opus (webm) where it can, else AAC. */
export function pickRendition(renditions) {
  const probe = document.createElement("audio");
  const playable = renditions.find((r) => probe.canPlayType(r.mime_type) !== "");
  return playable ? playable.url : null;
}

const root = document.querySelector("[data-player]");
if (root) startPlayer(root);

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function chosenRatings(container, prefix) {
  const result = {};
  for (const name of RATINGS) {
    const checked = container.querySelector(`input[name="${prefix}_${name}"]:checked`);
    if (checked) result[name] = Number(checked.value);
  }
  return Object.keys(result).length ? result : null;
}

function startPlayer(root) {
  const $ = (s) => root.querySelector(s) || document.querySelector(s);
  const i18n = document.getElementById("i18n").dataset;
  const audio = $("[data-audio]");
  const toggle = $("[data-toggle]");
  const scrubber = $("[data-scrubber]");
  const status = $("[data-status]");
  const after = document.querySelector("[data-after]");
  const before = document.querySelector("[data-before]");
  const exerciseId = Number(root.dataset.exerciseId);
  const title = root.dataset.title;
  const positionKey = `tend.position.${exerciseId}`;
  const draftKey = `tend.draft.${exerciseId}`;
  const renditions = JSON.parse(root.dataset.renditions || "[]");
  const url = pickRendition(renditions);
  let duration = Number(root.dataset.duration) || 0;
  let session = null; // the practice being listened to now
  let lastTime = 0;

  if (!url) { status.textContent = i18n.noAudio; return; }
  audio.removeAttribute("controls");
  audio.replaceChildren();
  audio.src = url;
  audio.preload = "auto";
  $("[data-controls]").hidden = false;

  // Ratings given on Today's "How are you now?" before tapping play.
  const fromToday = sessionStorage.getItem(`tend.before.${exerciseId}`);
  if (fromToday) {
    sessionStorage.removeItem(`tend.before.${exerciseId}`);
    for (const [name, value] of Object.entries(JSON.parse(fromToday))) {
      const input = before.querySelector(`input[name="before_${name}"][value="${Number(value)}"]`);
      if (input) input.checked = true;
    }
  }

  const saved = Number(localStorage.getItem(positionKey) || 0);
  const resumeAt = saved > 5 && (!duration || saved < duration - 5) ? saved : 0;
  if (resumeAt) {
    audio.currentTime = resumeAt;
    lastTime = resumeAt;
    status.textContent = i18n.resuming.replace("{at}", clock(resumeAt));
  }

  function saveDraft() {
    if (!session) return;
    session.log.listened_seconds = Math.round(session.listened);
    localStorage.setItem(draftKey, JSON.stringify({ log: session.log, label: session.label, owner: session.owner }));
  }

  function finish(ratingsAfter) {
    if (!session) return;
    const log = { ...session.log, listened_seconds: Math.round(session.listened) };
    const ratingsBefore = chosenRatings(before, "before");
    if (ratingsBefore) log.ratings_before = ratingsBefore;
    if (ratingsAfter) log.ratings_after = ratingsAfter;
    session = null;
    localStorage.removeItem(draftKey);
    after.hidden = true;
    for (const input of document.querySelectorAll("[data-before] input, [data-after] input")) input.checked = false;
    before.open = false; // its scales are blank now: the ratings went with the log
    const label = `${title}, ${i18n.minutes.replace("{n}", Math.max(1, Math.round(log.listened_seconds / 60)))}`;
    logPractice(log, label).then(() => {
      status.textContent = i18n.logged;
      const done = document.querySelector("[data-done]");
      if (done) { done.hidden = false; done.focus(); }
    });
  }

  function askAfter() {
    after.hidden = false;
    after.focus();
  }

  function updateUi() {
    const d = audio.duration && Number.isFinite(audio.duration) ? audio.duration : duration;
    duration = d;
    scrubber.max = String(Math.round(d));
    scrubber.value = String(Math.round(audio.currentTime));
    scrubber.setAttribute("aria-valuetext", i18n.position.replace("{at}", clock(audio.currentTime)).replace("{of}", clock(d)));
    $("[data-pos]").textContent = clock(audio.currentTime);
    $("[data-dur]").textContent = clock(d);
  }

  function setPlaying(playing) {
    toggle.setAttribute("aria-label", playing ? i18n.pause : i18n.play);
    toggle.classList.toggle("is-playing", playing);
    if ("mediaSession" in navigator) navigator.mediaSession.playbackState = playing ? "playing" : "paused";
  }

  const play = () => audio.play().catch(() => { status.textContent = i18n.tapToPlay; setPlaying(false); });
  const seekBy = (delta) => { audio.currentTime = Math.min(Math.max(0, audio.currentTime + delta), duration || audio.currentTime + delta); };

  toggle.addEventListener("click", () => (audio.paused ? play() : audio.pause()));
  $("[data-back]").addEventListener("click", () => seekBy(-15));
  $("[data-fwd]").addEventListener("click", () => seekBy(15));
  scrubber.addEventListener("input", () => { audio.currentTime = Number(scrubber.value); });
  $("[data-finish]").addEventListener("click", () => {
    audio.pause();
    if (!session) return;
    if (session.listened >= ASK_AFTER_SECONDS) askAfter();
    else if (session.listened >= LOG_FROM_SECONDS) finish(null);
    else { session = null; localStorage.removeItem(draftKey); }
  });
  $("[data-save-after]").addEventListener("click", () => finish(chosenRatings(after, "after")));
  $("[data-skip-after]").addEventListener("click", () => finish(null));

  audio.addEventListener("play", () => {
    if (!session) {
      session = {
        log: { id: crypto.randomUUID(), exercise_id: exerciseId, ...localNow(), listened_seconds: 0, completed: false },
        listened: 0, label: title, owner: document.getElementById("i18n").dataset.user || "",
      };
      after.hidden = true;
      const done = document.querySelector("[data-done]");
      if (done) done.hidden = true;
    }
    lastTime = audio.currentTime;
    status.textContent = "";
    setPlaying(true);
  });
  audio.addEventListener("pause", () => { setPlaying(false); saveDraft(); });
  audio.addEventListener("seeking", () => { lastTime = audio.currentTime; });
  audio.addEventListener("loadedmetadata", updateUi);
  audio.addEventListener("timeupdate", () => {
    const delta = audio.currentTime - lastTime;
    // Count only time that actually played: a jump (seek, skip) is not listening.
    if (session && !audio.paused && !audio.seeking && delta > 0 && delta < 1.5) session.listened += delta;
    lastTime = audio.currentTime;
    localStorage.setItem(positionKey, String(Math.floor(audio.currentTime)));
    updateUi();
    if (session && Math.floor(session.listened) % 5 === 0) saveDraft();
    if ("mediaSession" in navigator && duration && navigator.mediaSession.setPositionState) {
      try { navigator.mediaSession.setPositionState({ duration, position: Math.min(audio.currentTime, duration), playbackRate: 1 }); } catch { /* not ready */ }
    }
  });
  audio.addEventListener("ended", () => {
    localStorage.removeItem(positionKey);
    if (session) { session.log.completed = true; saveDraft(); askAfter(); }
  });
  // Leaving the page mid-practice keeps a draft; the next page that loads sends it.
  addEventListener("pagehide", saveDraft);

  if ("mediaSession" in navigator) {
    navigator.mediaSession.metadata = new MediaMetadata({
      title, artist: "Tend", album: root.dataset.week,
      artwork: [
        { src: "/static/icons/icon-192.png", sizes: "192x192", type: "image/png" },
        { src: "/static/icons/icon-512.png", sizes: "512x512", type: "image/png" },
      ],
    });
    const handlers = {
      play, pause: () => audio.pause(), stop: () => audio.pause(),
      seekbackward: (d) => seekBy(-(d.seekOffset || 15)), seekforward: (d) => seekBy(d.seekOffset || 15),
      seekto: (d) => { audio.currentTime = d.seekTime; },
    };
    for (const [action, handler] of Object.entries(handlers)) {
      try { navigator.mediaSession.setActionHandler(action, handler); } catch { /* unsupported */ }
    }
  }
  updateUi();
  if (new URLSearchParams(location.search).has("play")) play();
}

/** Send practices left unfinished when a page was closed mid-practice. */
export function recoverDrafts(currentUser) {
  for (const key of Object.keys(localStorage)) {
    if (!key.startsWith("tend.draft.")) continue;
    try {
      const draft = JSON.parse(localStorage.getItem(key));
      if (draft.owner !== currentUser) continue;
      localStorage.removeItem(key);
      if (draft.log.listened_seconds >= LOG_FROM_SECONDS) logPractice(draft.log, draft.label);
    } catch { localStorage.removeItem(key); }
  }
}
