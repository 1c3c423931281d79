// Cercle's service worker: lets the page open again while the relay, which also serves these files,
// does not answer (issue 14 point 5), so that what this device keeps in IndexedDB can be read.
// Network first, always: a page or file is taken from the cache only when the relay cannot be
// reached. Only Cercle's own public files are kept (the page and its code), never an answer of the
// relay (the WebSocket does not go through here) nor anything personal.
const CACHE = "cercle-files-v1";
const PAGE = "/";  // Every address of the page (/, /c/<token>, #/...) is the same index.html.

self.addEventListener("install", (event) => {
  self.skipWaiting();
  event.waitUntil(caches.open(CACHE).then((cache) => cache.add(PAGE)));
});

self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

/** The page names the files it loaded before this worker was in charge (hashed, under /assets/). */
self.addEventListener("message", (event) => {
  const urls = (Array.isArray(event.data?.cache) ? event.data.cache : []).filter((u) => typeof u === "string" && new URL(u, self.location.origin).pathname.startsWith("/assets/"));
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
      async () => (await caches.match(key)) ?? Response.error(),
    ),
  );
});
