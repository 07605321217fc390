/* Suyang service worker {{ version }}: the app shell (versioned cache), the pages (network
   first, kept for offline) and the outbox drain. Queued answers live in IndexedDB, never in
   these caches, so replacing this worker cannot lose them (docs/respondent.md). */
"use strict";
var SHELL = "suyang-shell-{{ version }}", PAGES = {{ pages|safe }}, FILES = {{ files|safe }};
var STATIC = {{ static_prefix|safe }};
importScripts({{ store|safe }});

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (c) { return c.addAll(FILES); }).then(function () { return self.skipWaiting(); }));
});

/* Fetch the cached pages again (they name the new shell's files); drop old shells only then. */
function refreshPages() {
  return caches.open(PAGES).then(function (cache) {
    return cache.keys().then(function (reqs) {
      return Promise.all(reqs.map(function (req) {
        return fetch(req.url, { headers: { "X-Suyang-Precache": "1" }, credentials: "same-origin", redirect: "manual" })
          .then(function (r) { if (r.status === 200) return cache.put(req.url, r).then(function () { return true; }); return r.status < 500; })
          .catch(function () { return false; });
      }));
    });
  }).then(function (oks) { return oks.every(Boolean); });
}

/* Claim the open pages at once (the static files of the old shell stay in its cache, which
   caches.match still reads, until the pages are refreshed); waiting for the refresh's network
   fetches first left a page uncontrolled, so not yet offline-safe, on a slow network. */
self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim().then(refreshPages).then(function (fresh) {
    return caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return fresh && k.indexOf("suyang-shell-") === 0 && k !== SHELL; })
        .map(function (k) { return caches.delete(k); }));
    });
  }).then(function () { return self.SuyangStore.drain(); }));
});

function fromNetwork(request) {
  return fetch(request).then(function (response) {
    if (response.status === 200 && !response.redirected && response.type === "basic") {
      var copy = response.clone();
      caches.open(PAGES).then(function (c) { return c.put(request.url, copy); });
    }
    return response;
  });
}

function offlinePage() {
  return new Response("<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'><title>离线 Offline</title>" +
    "<main style='font:18px/1.6 system-ui;padding:1rem'><h1>没有网络 · Offline</h1><p>这个页面还没有保存到本手机上，请联网后再打开。</p>" +
    "<p lang=en>This page has not been saved on this phone yet. Open it again when online.</p></main>",
    { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.indexOf(STATIC) === 0) {
    event.respondWith(caches.match(request).then(function (hit) {
      return hit || fetch(request).then(function (response) {
        if (response.ok) { var copy = response.clone(); caches.open(SHELL).then(function (c) { return c.put(request, copy); }); }
        return response;
      });
    }));
    return;
  }
  if (/^\/(r|field)\//.test(url.pathname)) {
    event.respondWith(fromNetwork(request).catch(function () {
      return caches.open(PAGES).then(function (c) { return c.match(request.url); }).then(function (hit) {
        return hit || (request.mode === "navigate" ? offlinePage() : Response.error());
      });
    }));
  }
});

self.addEventListener("sync", function (event) {
  if (event.tag === "suyang-outbox") event.waitUntil(self.SuyangStore.drain());
});
self.addEventListener("message", function (event) {
  if (event.data === "drain") event.waitUntil(self.SuyangStore.drain());
  /* A page whose navigation began while this worker was activating missed its claim() above. */
  if (event.data === "claim") event.waitUntil(self.clients.claim());
});
