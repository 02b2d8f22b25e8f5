// The patient journeys in Firefox (Debian firefox-esr), driven by puppeteer-core over
// WebDriver BiDi, with axe-core on every page. Run by tests/browser/test_firefox.py, which
// serves the app and answers "server:stop" / "server:start" on stdin when this script needs
// "no signal" and the engine cannot simulate it.
//
// Usage: TEND_START_AT=ISO-INSTANT node tests/firefox/journeys.mjs BASE_URL LOGIN PASSWORD SCREENSHOT_DIR
// TEND_START_AT is the instant the phone's clock starts at (the test passes the app clock's).
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import puppeteer from 'puppeteer-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const [base, login, password, shots] = process.argv.slice(2);
const FIREFOX = process.env.TEND_FIREFOX || '/usr/bin/firefox-esr';
const PHONE = { width: 390, height: 844, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function askHarness(request) {
  console.log(`server:${request}`);
  const { value } = await lines.next();
  if (value !== `server:${request === 'stop' ? 'stopped' : 'started'}`) {
    throw new Error(`the harness answered ${value} to ${request}`);
  }
}

const step = (name) => console.log(`ok ${name}`);

// The phone's clock: every page's Date starts at TEND_START_AT and keeps ticking from there,
// as Playwright's clock does in Chromium (Firefox over BiDi has no clock of its own to set).
// Timers and performance.now() stay real; they measure intervals, not dates. The service worker
// keeps the real time, since a preload script reaches pages only; Tend's worker reads no time.
const START_AT = process.env.TEND_START_AT;
const CLOCK_OFFSET = START_AT ? Date.parse(START_AT) - Date.now() : 0;

function shiftClock(offset) {
  const RealDate = Date;
  const now = () => RealDate.now() + offset;
  globalThis.Date = new Proxy(RealDate, {
    // new Date() is now; new Date(anything) means what it always meant.
    construct: (target, args, newTarget) =>
      Reflect.construct(target, args.length ? args : [now()], newTarget),
    apply: () => new RealDate(now()).toString(), // Date() called without new
    get: (target, key, receiver) => (key === 'now' ? now : Reflect.get(target, key, receiver)),
  });
}

async function newPhonePage(browser) {
  const page = await browser.newPage();
  await page.setViewport(PHONE);
  await page.evaluateOnNewDocument(shiftClock, CLOCK_OFFSET);
  return page;
}
// A page fetches its scripts once it has painted (app/web/assets.py) and marks <html> when
// they have run: a tap before that would find the page not yet enhanced.
const scriptsRan = (page) =>
  page.waitForFunction(
    () => !document.querySelector('script[data-after-paint]') || 'scriptsRan' in document.documentElement.dataset,
  );

// A person scrolls a button clear of the fixed tab bar before tapping it; puppeteer taps the
// point where the element is, whatever covers it, so the element is centred first.
async function tap(page, target) {
  await scriptsRan(page);
  const handle = typeof target === 'string' ? await page.waitForSelector(target) : target;
  await handle.evaluate((element) => element.scrollIntoView({ block: 'center' }));
  await handle.click();
}
async function waitForText(page, text, timeout = 15000) {
  try {
    await page.waitForFunction((t) => document.body.innerText.includes(t), { timeout }, text);
  } catch (error) {
    const seen = await page.evaluate(() => document.querySelector('main')?.innerText ?? '');
    throw new Error(`"${text}" never appeared on ${page.url()}; the page said:\n${seen}`);
  }
}

async function checkAccessible(page, where) {
  // Evaluated by the driver, not inserted as a <script>: the app's CSP allows no inline script.
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) {
    await page.evaluate(AXE_SOURCE);
  }
  const violations = await page.evaluate(
    (tags) =>
      window.axe
        .run(document, { runOnly: { type: 'tag', values: tags } })
        .then((r) => r.violations.map((v) => `${v.id}: ${v.help} (${v.nodes[0].target})`)),
    AXE_TAGS,
  );
  if (violations.length) throw new Error(`axe in Firefox on ${where}:\n${violations.join('\n')}`);
  step(`axe ${where}`);
}

async function rate(page, prefix, values) {
  for (const [name, value] of Object.entries(values)) {
    await tap(page, `label.rating-option:has(input[name="${prefix}_${name}"][value="${value}"])`);
  }
}

async function myLogs(page) {
  return page.evaluate(() =>
    fetch('/api/v1/practice-logs', { cache: 'no-store' }).then((r) => r.json()),
  );
}

// The outbox sends in the background: "noted" shows when an entry is safe on the phone, not
// when the server has it. The server's list, once it holds `count` logs (or after 30 s).
async function logsOnceStored(page, count) {
  let logs = await myLogs(page);
  for (const deadline = Date.now() + 30000; logs.length < count && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    logs = await myLogs(page);
  }
  return logs;
}

async function goOffline(page) {
  // Firefox's BiDi offline emulation, if it really cuts the page and its worker off;
  // otherwise stop the server, which is what "no signal" looks like to the phone.
  await page.setOfflineMode(true);
  const cut = await page.evaluate(() =>
    fetch('/healthz', { cache: 'no-store' }).then(() => false, () => true),
  );
  if (cut) {
    step('offline by Firefox network emulation');
    return async () => page.setOfflineMode(false);
  }
  await page.setOfflineMode(false);
  step('offline by stopping the server');
  await askHarness('stop');
  return async () => askHarness('start');
}

const launch = (prefs = {}) =>
  puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    // A test page may start audio from a click without the user-gesture heuristics.
    extraPrefsFirefox: { 'media.autoplay.default': 0, ...prefs },
  });

async function signIn(page, who) {
  await page.goto(`${base}/login`);
  await page.type('#login', who);
  await page.type('#password', password);
  await Promise.all([page.waitForNavigation(), tap(page, 'main button[type=submit]')]);
  if (!page.url().endsWith('/today')) throw new Error(`${who} signed in to ${page.url()}`);
}

async function tapOwnPractice(page) {
  const [own] = await page.$$('xpath/.//button[contains(., "I practised without the app")]');
  await tap(page, own);
}

const browser = await launch();
try {
  const page = await newPhonePage(browser);

  // Sign in, through the form.
  await signIn(page, login);
  step('sign in');
  const phoneNow = await page.evaluate(() => new Date().toISOString());
  if (START_AT && Math.abs(Date.parse(phoneNow) - Date.now() - CLOCK_OFFSET) > 60000) {
    throw new Error(`the phone's clock says ${phoneNow}, not about ${START_AT}`);
  }
  step(`phone clock ${phoneNow}`);

  // Today, with the service worker in control (needed for offline later).
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  if (!(await page.evaluate(() => !!navigator.serviceWorker.controller))) await page.reload();
  await page.waitForFunction(() => navigator.serviceWorker.controller?.state === 'activated');
  await page.waitForSelector('main h1');
  await checkAccessible(page, '/today');
  await page.screenshot({ path: `${shots}/firefox-today.png`, fullPage: true });
  step('today');

  // Play, with seeking: Firefox plays the Opus/WebM rendition and seeks by Range requests.
  await Promise.all([page.waitForNavigation(), tap(page, 'main a[aria-label^="Play "]')]);
  await page.waitForFunction(() => {
    const a = document.querySelector('[data-audio]');
    return a && !a.paused && a.currentTime > 0.3;
  });
  const src = await page.evaluate(() => document.querySelector('[data-audio]').currentSrc);
  if (!src.endsWith('.webm')) throw new Error(`Firefox was given ${src}, not the Opus rendition`);
  await page.evaluate(() => {
    document.querySelector('[data-audio]').currentTime = 6;
  });
  await page.waitForFunction(() => {
    const a = document.querySelector('[data-audio]');
    return !a.seeking && !a.paused && a.currentTime > 6.3;
  });
  step('play with seeking');

  // Log with ratings, before and after.
  await tap(page, '[data-before] summary');
  await rate(page, 'before', { pain_intensity: 7, pain_distress: 6, mood: 4 });
  await tap(page, 'button[aria-label="Forward 15 seconds"]');
  await page.waitForSelector('[data-after]', { visible: true, timeout: 20000 });
  await rate(page, 'after', { pain_intensity: 5, pain_distress: 3, mood: 6 });
  await checkAccessible(page, 'the player');
  await tap(page, '[data-save-after]');
  await waitForText(page, 'Your practice is noted. Thank you.');
  await page.waitForFunction(() => document.getElementById('outbox-card')?.hidden !== false);
  let logs = await logsOnceStored(page, 1);
  if (logs.length !== 1 || !logs[0].completed) throw new Error(`logs: ${JSON.stringify(logs)}`);
  step('log with ratings');

  // Save the week for offline.
  await page.goto(`${base}/today`);
  await tap(page, '[data-save-offline]');
  await waitForText(page, "This week's audio is saved on this phone.", 60000);
  step('save week offline');

  // No signal: Today opens from the phone's copy and a practice is logged into the outbox.
  const backOnline = await goOffline(page);
  await page.reload();
  await page.waitForSelector('main h1');
  await tapOwnPractice(page);
  await waitForText(page, '1 waiting to be sent.');
  await page.screenshot({ path: `${shots}/firefox-offline.png`, fullPage: true });
  await checkAccessible(page, '/today offline');
  step('offline log');

  // Back online: the outbox sends it, and it is stored once however often it is sent.
  // The outbox card starts hidden in the HTML and the scripts come after the first paint, so
  // wait for the server to hold both logs, then for the card to say nothing is waiting.
  await backOnline();
  await page.reload();
  await scriptsRan(page);
  logs = await logsOnceStored(page, 2);
  await page.waitForFunction(() => document.getElementById('outbox-card')?.hidden === true, {
    timeout: 30000,
  });
  await page.reload();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const again = await myLogs(page);
  const kinds = again.map((l) => l.kind).sort();
  if (logs.length !== 2 || again.length !== 2 || kinds.join() !== 'exercise,own') {
    throw new Error(`after reconnecting: ${JSON.stringify(again)}`);
  }
  step('back online, stored once');

  // Reflections.
  await page.goto(`${base}/reflections`);
  const box = await page.waitForSelector('main form textarea');
  await box.type('Breathing out slowly when the pain rose.');
  // The outbox sends it (no page load); without JavaScript the form would post.
  await box.evaluate((field) => field.form.querySelector('button[type=submit]').click());
  await waitForText(page, 'Kept. Only you can see it');
  await checkAccessible(page, '/reflections');
  step('reflections');

  // Questionnaires: the baseline PHQ-9, refused until complete, then sent.
  await page.goto(`${base}/questionnaires`);
  await checkAccessible(page, '/questionnaires');
  await Promise.all([page.waitForNavigation(), tap(page, 'main a[href="/questionnaires/phq9/baseline"]')]);
  await checkAccessible(page, 'the PHQ-9');
  const questions = await page.$$('fieldset.question');
  for (const question of questions.slice(0, -1)) {
    const [answer] = await question.$$('xpath/.//label[contains(., "Several days")]');
    await tap(page, answer);
  }
  const [send] = await page.$$('xpath/.//button[contains(., "Send")]');
  await Promise.all([page.waitForNavigation(), tap(page, send)]);
  await waitForText(page, 'Please answer every question before sending');
  await checkAccessible(page, 'the PHQ-9 with an error');
  const last = (await page.$$('fieldset.question')).at(-1);
  const [none] = await last.$$('xpath/.//label[contains(., "Not at all")]');
  await tap(page, none);
  const [sendAgain] = await page.$$('xpath/.//button[contains(., "Send")]');
  await Promise.all([page.waitForNavigation(), tap(page, sendAgain)]);
  await waitForText(page, 'Your PHQ-9 has been sent');
  step('questionnaires');

  await page.goto(`${base}/progress`);
  await checkAccessible(page, '/progress');
} finally {
  await browser.close();
}

// Private browsing: the outbox lives in IndexedDB, which older Firefox refused there.
const privately = await launch({ 'browser.privatebrowsing.autostart': true });
try {
  const page = await newPhonePage(privately);
  await signIn(page, process.env.TEND_SECOND_LOGIN || login);
  const before = (await myLogs(page)).length;
  await tapOwnPractice(page);
  await page.waitForFunction(
    (n) => fetch('/api/v1/practice-logs').then((r) => r.json()).then((logs) => logs.length > n),
    { timeout: 15000, polling: 500 },
    before,
  );
  step('log in private browsing');
} finally {
  await privately.close();
  lines.return?.();
}
console.log('done');
process.exit(0);
