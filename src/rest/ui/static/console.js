import { ApiClient, Unauthorized } from "./api.js";
import { FeedsView } from "./feedsView.js";
import { InstrumentView } from "./instrumentView.js";
import { OverviewView } from "./overviewView.js";
import { StateFeed } from "./stateFeed.js";

/**
 * The console's shell: asks for the token when the service wants one, then shows one view at a time
 * (#overview, #feeds, #instrument). A view follows its streams only while shown; a refused token stops every
 * view, clears what they showed and asks again.
 */

/** @typedef {{ element: HTMLElement, start(): void, stop(): void, clear(): void }} View */

const login = /** @type {HTMLFormElement} */ (document.getElementById("login"));
const tokenInput = /** @type {HTMLInputElement} */ (document.getElementById("token"));
const loginError = /** @type {HTMLElement} */ (document.getElementById("login-error"));
const nav = /** @type {HTMLElement} */ (document.getElementById("nav"));
const main = /** @type {HTMLElement} */ (document.getElementById("views"));
const connection = /** @type {HTMLElement} */ (document.getElementById("connection"));

const api = new ApiClient(() => signOut("The service refused the token."));

const state = new StateFeed(api);
/** @type {Record<string, View>} */
const views = {
  overview: new OverviewView(state, (text) => (connection.textContent = text)),
  feeds: new FeedsView(state),
  instrument: new InstrumentView(api),
};
for (const view of Object.values(views)) {
  view.element.hidden = true;
  main.append(view.element);
}

/** @type {View | undefined} */
let shown;
let signedIn = false;

function viewOfHash() {
  const name = location.hash.replace(/^#/, "");
  return name in views ? name : "overview";
}

function show() {
  if (!signedIn) return;
  const name = viewOfHash();
  const next = views[name];
  if (next === shown) return;
  shown?.stop();
  if (shown) shown.element.hidden = true;
  shown = next;
  next.element.hidden = false;
  for (const link of nav.querySelectorAll("a")) link.classList.toggle("active", link.dataset.view === name);
  next.start();
}

/** @param {string} message */
function signOut(message) {
  if (!signedIn && !login.hidden) {
    api.setToken(undefined);
    loginError.textContent = message;
    return;
  }
  signedIn = false;
  api.setToken(undefined);
  for (const view of Object.values(views)) {
    view.stop();
    view.clear();
    view.element.hidden = true;
  }
  shown = undefined;
  nav.hidden = true;
  connection.textContent = "";
  loginError.textContent = message;
  login.hidden = false;
  tokenInput.value = "";
  tokenInput.focus();
}

function signIn() {
  signedIn = true;
  login.hidden = true;
  loginError.textContent = "";
  nav.hidden = false;
  show();
}

/** Whether the service answers with the token as it stands (none, when it asks for none). */
async function accepted() {
  try {
    await api.json("/api/exchanges/runtime-proof");
    return true;
  } catch (err) {
    if (err instanceof Unauthorized) return false;
    // Reachable but failing (e.g. 503 while the Gateway connects): the views say so themselves.
    return true;
  }
}

login.addEventListener("submit", async (event) => {
  event.preventDefault();
  api.setToken(tokenInput.value.trim());
  loginError.textContent = "";
  if (await accepted()) signIn();
  else signOut("The service refused this token.");
});

window.addEventListener("hashchange", show);

if (await accepted()) signIn();
else signOut("");
