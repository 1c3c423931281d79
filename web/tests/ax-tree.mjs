// What a screen reader is given, read from Chromium's own accessibility tree through the DevTools
// protocol (issue 13, item 5): every control a person can reach with Tab has a role that says what
// it is and a name, and a message's node is read in one go. axe-core checks the DOM; this checks
// what Chromium computed from it.
import assert from "node:assert/strict";

/** What a keyboard reaches: the elements that are focusable in the tab order. */
export const FOCUSABLE = 'a[href], button, input:not([type="hidden"]), select, textarea, summary, [tabindex]:not([tabindex="-1"]), [contenteditable]:not([contenteditable="false"])';
/** Roles that say nothing about what a control does. */
const VAGUE = new Set(["", "generic", "none", "presentation", "StaticText", "InlineTextBox", "GenericContainer"]);

/** Runs `use(cdp)` with a DevTools session on the page, detached afterwards. */
export async function withCdp(page, use) {
  const cdp = await page.context().newCDPSession(page);
  try {
    return await use(cdp);
  } finally {
    await cdp.detach().catch(() => {});
  }
}

/** The start of an element's HTML, to name it in a message. */
async function describe(cdp, backendNodeId) {
  const { outerHTML } = await cdp.send("DOM.getOuterHTML", { backendNodeId });
  return outerHTML.replace(/\s+/g, " ").slice(0, 160);
}

/** The backend node ids of the page's focusable elements, in DOM order. */
async function focusableNodes(cdp) {
  const { root } = await cdp.send("DOM.getDocument", { depth: 0 });
  const { nodeIds } = await cdp.send("DOM.querySelectorAll", { nodeId: root.nodeId, selector: FOCUSABLE });
  const out = [];
  for (const nodeId of nodeIds) out.push((await cdp.send("DOM.describeNode", { nodeId })).node.backendNodeId);
  return out;
}

/**
 * Every focusable element whose node in Chromium's accessibility tree has a vague role (generic,
 * none, text) or no name, as `{ role, name, element }` with the start of the element's HTML.
 * Elements Chromium leaves out of the tree (hidden, in a closed disclosure, behind a modal dialog)
 * are not controls a person meets, and are skipped; one hidden only from screen readers
 * (aria-hidden) while the keyboard reaches it is reported.
 */
export async function controlsWithoutNameOrRole(page) {
  return withCdp(page, async (cdp) => {
    await cdp.send("DOM.enable");
    await cdp.send("Accessibility.enable");
    const { nodes } = await cdp.send("Accessibility.getFullAXTree");
    const byBackend = new Map(nodes.filter((n) => n.backendDOMNodeId).map((n) => [n.backendDOMNodeId, n]));
    const backendIds = await focusableNodes(cdp);
    assert.ok(backendIds.length > 0, "the page has focusable elements");
    const found = [];
    for (const id of backendIds) {
      const ax = byBackend.get(id);
      // aria-hidden on a control the keyboard reaches: the reader is taken to something it cannot say.
      const hiddenFromReaders = ax?.ignored && ax.ignoredReasons?.some((r) => /^ariaHidden/.test(r.name));
      if (hiddenFromReaders) found.push({ role: "(aria-hidden)", name: "", element: await describe(cdp, id) });
      if (!ax || ax.ignored) continue;
      const role = String(ax.role?.value ?? "");
      const name = String(ax.name?.value ?? "").trim();
      if (VAGUE.has(role) || !name) found.push({ role, name, element: await describe(cdp, id) });
    }
    return found;
  });
}

/** Asserts that every control of the page has a role and a name, naming the ones that do not. */
export async function expectNamedControls(page, screen) {
  const found = await controlsWithoutNameOrRole(page);
  assert.deepEqual(found, [], `controls without a name or a role on "${screen}":\n${found.map((f) => `  ${f.role || "(no role)"} "${f.name}": ${f.element}`).join("\n")}`);
}

/**
 * What a screen reader reads for the element matched by `selector` (the first one): its accessible
 * name and the names of the text nodes under it, in the tree's order, joined with spaces.
 */
export async function spokenText(page, selector) {
  return withCdp(page, async (cdp) => {
    await cdp.send("DOM.enable");
    await cdp.send("Accessibility.enable");
    const { root } = await cdp.send("DOM.getDocument", { depth: 0 });
    const { nodeId } = await cdp.send("DOM.querySelector", { nodeId: root.nodeId, selector });
    assert.ok(nodeId, `an element matches ${selector}`);
    const { node } = await cdp.send("DOM.describeNode", { nodeId });
    const { nodes } = await cdp.send("Accessibility.getFullAXTree");
    const byId = new Map(nodes.map((n) => [n.nodeId, n]));
    const top = nodes.find((n) => n.backendDOMNodeId === node.backendNodeId);
    assert.ok(top && !top.ignored, `${selector} is in the accessibility tree`);
    const parts = [];
    const walk = (n) => {
      if (!n || n.ignored && !n.childIds?.length) return;
      if (!n.ignored && n.role?.value === "StaticText") parts.push(String(n.name?.value ?? ""));
      for (const c of n.childIds ?? []) walk(byId.get(c));
    };
    walk(top);
    return { role: String(top.role?.value ?? ""), name: String(top.name?.value ?? ""), text: parts.join(" ").replace(/\s+/g, " ").trim() };
  });
}
