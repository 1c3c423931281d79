// Read right after the contact form written in index.html (a classic script: the relay's CSP
// forbids inline ones), before the application's code, which is much larger, has arrived. On a
// contact link's address (/c/<token>) it shows that form, so a visitor on a slow phone can type
// at once; opens the WebSocket the code will use (src/core/wire.ts earlySocket takes it); and holds
// a press on "Commencer" until the code takes the form over with what was typed (src/ui/visitor.ts).
// Elsewhere it removes the form. scripts/postbuild.mjs gives it a hashed name under /assets/.
(function () {
  var form = document.getElementById("early");
  if (!form) return;
  if (!/^\/c\/[^/]+$/.test(location.pathname)) return form.remove();
  var early = (window.cercleEarly = { submitted: false, socket: null });
  try {
    early.socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
    early.socket.binaryType = "arraybuffer";
  } catch (e) {
    early.socket = null;  // The code opens its own.
  }
  document.getElementById("early-form").addEventListener("submit", function (e) {
    e.preventDefault();  // Never sent as a form (the CSP forbids it anyway): the code sends it.
    early.submitted = true;
    document.getElementById("early-status").textContent = "Un instant…";
  });
  var boot = document.querySelector("#app .boot");
  if (boot) boot.hidden = true;
  form.hidden = false;
})();
