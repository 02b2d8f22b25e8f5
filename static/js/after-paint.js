// Written into the page (app/web/assets.py), with its hash in the CSP. The page works and
// reads without scripts, so they are fetched once it has painted: on a slow connection the
// first screen then waits for the HTML alone. data-after-paint names the module scripts;
// data-preload the modules they import, fetched alongside instead of one round trip later.
{
  const loader = document.currentScript;
  const names = (key) => (loader.dataset[key] || "").split(" ").filter(Boolean);
  const add = (tag, attributes) => document.head.append(Object.assign(document.createElement(tag), attributes));
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    for (const href of names("preload")) add("link", { rel: "modulepreload", href });
    const ran = names("afterPaint").map((src) => new Promise((done) => add("script", { type: "module", src, onload: done, onerror: done })));
    // Says the scripts have run (or failed): browser tests wait for it before they tap.
    Promise.all(ran).then(() => { document.documentElement.dataset.scriptsRan = ""; });
  };
  // The browser may offer to install the app before the scripts arrive: the install hint in
  // app.js takes the offer from here, and shows it instead of the browser's own bar.
  if (document.getElementById("install-hint")) {
    addEventListener("beforeinstallprompt", (event) => {
      event.preventDefault();
      self.tendInstallOffer = event;
    });
  }
  // Start when the browser says the page has painted. Firefox does not say so when it restores
  // a scrolled page (a reload, or Back), nor do older browsers: for them, 100 ms after the
  // first frame, when Chromium has reported its paint some 10-30 ms since. A hidden page
  // waits until it is shown, as its paint does.
  if (self.PerformanceObserver?.supportedEntryTypes?.includes("paint")) {
    new PerformanceObserver((entries) => {
      if (entries.getEntriesByName("first-contentful-paint").length) start();
    }).observe({ type: "paint", buffered: true });
  }
  requestAnimationFrame(() => setTimeout(start, 100));
}
