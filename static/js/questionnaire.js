// A questionnaire on the phone. A safety answer above its threshold shows the support text the
// moment it is chosen (the text came with the page, so no signal is needed). With no signal,
// "Send" and "Save" keep the answers in the outbox (owner-tagged, like practice logs), which
// sends them when the phone is back online.
import { enqueue } from "./outbox.js";

const form = document.querySelector("form.questionnaire[data-api]");
const support = document.getElementById("support-now");
const queued = document.getElementById("queued-offline");

function answers() {
  const result = {};
  for (const [name, value] of new FormData(form)) {
    if (name.startsWith("q_") && /^\d+$/.test(value)) result[name.slice(2)] = Number(value);
  }
  return result;
}

function showSupportIfNeeded() {
  if (!support) return;
  const thresholds = JSON.parse(form.dataset.safetyItems || "{}");
  const given = answers();
  const risk = Object.entries(thresholds).some(([item, above]) => item in given && given[item] > above);
  if (risk && support.hidden) {
    support.hidden = false;
    support.setAttribute("role", "alert");
    support.scrollIntoView({ block: "start" });
    support.focus({ preventScroll: true });
  }
}

if (form) {
  // This script comes once the page has painted: an answer chosen before it arrived counts.
  showSupportIfNeeded();
  form.addEventListener("change", showSupportIfNeeded);
  form.addEventListener("submit", async (event) => {
    if (navigator.onLine) return; // online, the page's own form posts and the server answers
    event.preventDefault();
    const sending = event.submitter && event.submitter.value === "submit";
    const { api, instrument, timepoint, label } = form.dataset;
    // One entry per questionnaire: a later save or send replaces the one still waiting.
    await enqueue({
      id: `questionnaire:${instrument}:${timepoint}`,
      method: sending ? "POST" : "PUT",
      url: sending ? `${api}/submit` : `${api}/answers`,
      body: { answers: answers() },
      label,
    });
    showSupportIfNeeded();
    queued.hidden = false;
    queued.focus?.();
  });
}
