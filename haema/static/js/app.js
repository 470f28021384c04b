// Haema's web UI: a single page with hash routes, so it needs no server-side rendering.
//   #/?q=heat       library (search in the query)
//   #/show/<id>     a film or a series
//   #/play/<id>     the player
//   #/login, #/setup/<token>, #/users, #/password   accounts (account.js)
import { me, showLogin, showPassword, showSetup, showUsers, signOut, whoAmI } from "./account.js";
import { h } from "./dom.js";
import { showLibrary } from "./library.js";
import { showShow } from "./show.js";
import { showPlayer } from "./player.js";

const view = document.getElementById("view");
const accountMenu = document.getElementById("account");
const VIEWS = { library: showLibrary, show: showShow, play: showPlayer, login: showLogin, setup: showSetup,
  users: showUsers, password: showPassword };
const OPEN_TO_ALL = new Set(["login", "setup"]);
const WITH_ID = new Set(["show", "play"]);
let leave = null; // the open view's clean-up, e.g. the player saving its position

function parseHash() {
  const [path, query = ""] = location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean);
  return { name: parts[0] || "library", id: parts[1], query: new URLSearchParams(query) };
}

async function route() {
  if (leave) {
    const cleanUp = leave;
    leave = null;
    cleanUp();
  }
  const { name, id, query } = parseHash();
  if (!me && !OPEN_TO_ALL.has(name)) {
    signIn();
    return;
  }
  document.body.dataset.view = name;
  view.replaceChildren();
  const open = VIEWS[name];
  if (!open || (WITH_ID.has(name) && !/^[0-9a-f]{16}$/.test(id || ""))) {
    location.replace("#/");
    return;
  }
  leave = (await open(view, { id, query })) || null;
}

// To the sign-in page, coming back here afterwards.
function signIn() {
  if (!location.hash.startsWith("#/login")) {
    location.replace(`#/login?next=${encodeURIComponent(location.hash || "#/")}`);
  }
}

// The header's account corner: who is signed in (leading to their password), the admin's
// users page, sign out.
function showAccount() {
  const signedIn = me && me.auth;
  accountMenu.hidden = !signedIn;
  if (!signedIn) return;
  // (replaceChildren writes a null as the text "null": only elements go in)
  accountMenu.replaceChildren(...[
    h("a.who", { href: "#/password", id: "me", title: "Change your password" }, me.name),
    me.admin ? h("a.button", { href: "#/users", id: "users-link" }, "Users") : null,
    h("button.button", { type: "button", id: "sign-out", onclick: signOut }, "Sign out"),
  ].filter(Boolean));
}

window.addEventListener("haemaaccount", showAccount);
window.addEventListener("haemasignin", () => {
  showAccount();
  signIn();
});

// Typing in the search box from any page goes to the library's results.
document.getElementById("search").addEventListener("input", (event) => {
  if (document.body.dataset.view !== "library") {
    location.hash = `#/?q=${encodeURIComponent(event.target.value.trim())}`;
  }
});

window.addEventListener("hashchange", route);
whoAmI().catch(() => null).then(() => {
  showAccount();
  route();
});
