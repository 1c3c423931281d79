// Cercle's service worker: lets the page open again while the relay, which also serves these files,
// does not answer (issue 14 point 5), so that what this device keeps in IndexedDB can be read.
// Network first, always: a page or file is taken from the cache only when the relay cannot be
// reached. Only Cercle's own public files are kept (the page and its code), never an answer of the
// relay (the WebSocket does not go through here) nor anything personal.
// Versioned (issue 15): scripts/postbuild.mjs stamps each build's version and first-load files
// below, so a new build is a new worker. It waits: it takes over only when the page asks, after
// the person chose "Mettre à jour" (src/ui/update.ts); the very first one takes over at once.
const VERSION = "dev";
const SHELL = [];  // The files a first visit loads (index.html's scripts and styles), under /assets/.
const CACHE = `cercle-files-${VERSION}`;
const PAGE = "/";  // Every address of the page (/, /c/<token>, #/...) is the same index.html.

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll([PAGE, ...SHELL])));
});

/** The files of older versions go; the pages open now are this version's from here on. */
self.addEventListener("activate", (event) => {
  const old = (key) => key.startsWith("cercle-files-") && key !== CACHE;
  event.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter(old).map((k) => caches.delete(k)))).then(() => self.clients.claim()));
});

self.addEventListener("message", (event) => {
  const data = event.data ?? {};
  if (data.skipWaiting === true) return void self.skipWaiting();  // The person chose "Mettre à jour".
  if (data.version === true) return void event.ports[0]?.postMessage(VERSION);
  // The page names the files it loaded before this worker was in charge (hashed, under /assets/).
  const urls = (Array.isArray(data.cache) ? data.cache : []).filter((u) => typeof u === "string" && new URL(u, self.location.origin).pathname.startsWith("/assets/"));
  event.waitUntil(caches.open(CACHE).then((cache) => Promise.all(urls.map((u) => cache.match(u).then((hit) => hit || cache.add(u).catch(() => {}))))));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || url.pathname === "/ws") return;
  const page = request.mode === "navigate";
  if (!page && !url.pathname.startsWith("/assets/")) return;
  const key = page ? PAGE : request;
  event.respondWith(
    fetch(request).then(
      (response) => {
        if (response.ok) {
          const copy = response.clone();
          event.waitUntil(caches.open(CACHE).then((cache) => cache.put(key, copy)));
        }
        return response;
      },
      async () => (await caches.open(CACHE).then((cache) => cache.match(key))) ?? Response.error(),
    ),
  );
});
