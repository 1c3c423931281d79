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

// ---- Notifications (issue 15, items 2 and 3) --------------------------------------------------------
// The relay's push says only what happened and where: {"kind":"message"|"invitation"|"seance",
// "conversation":"<base64url id>"}, never content, sender or name. By default the notification says
// "Nouveau message" and nothing else, with the app's icon. Only where the person chose it on this
// device (src/ui/notifications.ts, kept in the page's IndexedDB, kv "notifications") does it name the
// other person (direct conversation) or the group, looked up in what this device keeps (convs).
// During a pause (kv "safety", src/ui/safety-prefs.ts) only the neutral words, silently. The browser
// requires a notification for every push (userVisibleOnly), so anything unreadable shows the neutral one.
const WORDS = {
  fr: { neutral: "Nouveau message", from: "Message de {name}", group: "Nouveau message dans {name}", seance: "{name} : la séance commence" },
  en: { neutral: "New message", from: "Message from {name}", group: "New message in {name}", seance: "{name}: the session is starting" },
};
const ICON = "/icons/icon-192.png";

/** One record of the page's IndexedDB ("cercle", src/core/store.ts); undefined when absent or unreadable. */
function stored(table, key) {
  return new Promise((resolve) => {
    const open = indexedDB.open("cercle", 1);
    open.onupgradeneeded = () => open.transaction.abort();  // No database yet: none is made here.
    open.onerror = () => resolve(undefined);
    open.onsuccess = () => {
      const db = open.result;
      try {
        const get = db.transaction(table, "readonly").objectStore(table).get(key);
        get.onsuccess = () => resolve(get.result);
        get.onerror = () => resolve(undefined);
      } catch {
        resolve(undefined);
      } finally {
        db.close();  // Closes once the transaction ends; the page's upgrades never wait on it.
      }
    };
  });
}

/** The payload, or null when it is not what the relay sends. The id comes back as hex (ConvMeta.id). */
function readPush(data) {
  let message;
  try {
    message = data?.json();
  } catch {
    return null;
  }
  if (!message || !["message", "invitation", "seance"].includes(message.kind)) return null;
  if (message.kind === "invitation") return { kind: "invitation" };
  const id = typeof message.conversation === "string" ? message.conversation.replace(/=+$/, "") : "";
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(id)) return null;
  let bytes;
  try {
    bytes = atob(id.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (id.length % 4)) % 4));
  } catch {
    return null;
  }
  return { kind: message.kind, conversation: [...bytes].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("") };
}

function paused(safety) {
  const p = safety?.pause;
  return !!p && (p.until === null || (typeof p.until === "number" && p.until > Date.now()));
}

/** Title and where a click leads; a name only where this device's choices allow it. */
async function describe(push, choices, quiet) {
  const words = WORDS[choices?.lang === "en" ? "en" : "fr"];
  const neutral = { title: words.neutral, route: "#/" };
  if (!push?.conversation) return neutral;
  const conv = await stored("convs", push.conversation);
  if (!conv || typeof conv.peer !== "string") return neutral;
  const route = conv.group ? `#/g/${conv.id}` : `#/t/${encodeURIComponent(conv.peer)}`;
  const name = conv.group ? conv.profile?.name : conv.peer;
  const allowed = !quiet && (conv.group ? choices?.showGroup === true : choices?.showSender === true);
  if (!allowed || typeof name !== "string" || name === "") return { title: words.neutral, route };
  const pattern = conv.group ? (push.kind === "seance" ? words.seance : words.group) : words.from;
  return { title: pattern.replace("{name}", name), route };
}

async function notify(data) {
  const push = readPush(data);
  const [choices, safety] = await Promise.all([stored("kv", "notifications"), stored("kv", "safety")]);
  const quiet = paused(safety);
  const { title, route } = await describe(push, choices, quiet);
  // One notification per conversation: a newer one replaces it (renotify: it still alerts, unless paused).
  const tag = push?.conversation ? `cercle-${push.conversation}` : push ? `cercle-${push.kind}` : "cercle";
  await self.registration.showNotification(title, { body: "", icon: ICON, tag, renotify: !quiet, silent: quiet, data: { route } });
}

self.addEventListener("push", (event) => {
  event.waitUntil(notify(event.data).catch(() => self.registration.showNotification(WORDS.fr.neutral, { body: "", icon: ICON, tag: "cercle" })));
});

/** A click opens Cercle at the conversation: the window already open, or a new one. */
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const route = typeof event.notification.data?.route === "string" ? event.notification.data.route : "#/";
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(async (windows) => {
      const open = windows.find((w) => new URL(w.url).origin === self.location.origin);
      if (!open) return void (await self.clients.openWindow(`/${route}`));
      open.postMessage({ open: route });  // The page (src/ui/app.ts) goes there.
      await open.focus();
    }),
  );
});
