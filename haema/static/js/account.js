// Accounts in the web UI: sign in, the first admin's setup page, and the admin's users and sessions.
//   #/login?next=<hash>   sign in, then go back where the viewer was
//   #/setup/<token>       the one-time link the server prints when it has no user yet
//   #/users               admins: add and remove users, see and revoke sessions
//   #/password            anyone signed in: change their own password
import { api } from "./api.js";
import { librarySection } from "./admin.js";
import { h, message } from "./dom.js";

// Who is signed in: {name, admin, auth}, or null. Set by whoAmI() and by signing in or out.
export let me = null;

window.addEventListener("haemasignin", () => { me = null; });

export async function whoAmI() {
  try {
    me = await api("/auth/me");
  } catch (error) {
    me = null;
    if (error.status !== 401) throw error;
  }
  return me;
}

function field(label, attrs) {
  return h("label.field", {}, h("span", {}, label), h("input", attrs));
}

function form(id, title, fields, submitLabel, onSubmit) {
  const status = h("div.status");
  const button = h("button.button.primary", { type: "submit" }, submitLabel);
  const element = h("form.account", { id }, h("h1", {}, title), ...fields, button, status);
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    status.replaceChildren();
    try {
      await onSubmit(new FormData(element));
    } catch (error) {
      status.replaceChildren(message(error.message));
    } finally {
      button.disabled = false;
    }
  });
  return element;
}

function post(path, body, method = "POST") {
  return api(path, { method, body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });
}

export function showLogin(view, { query }) {
  const next = query.get("next") || "#/";
  const login = form("login", "Sign in", [
    field("User name", { name: "username", id: "username", autocomplete: "username", required: true,
      autocapitalize: "none", spellcheck: "false" }),
    field("Password", { name: "password", id: "password", type: "password", autocomplete: "current-password",
      required: true }),
  ], "Sign in", async (data) => {
    const answer = await post("/auth/login", { username: data.get("username"), password: data.get("password") });
    me = { ...answer.user, auth: true };
    window.dispatchEvent(new CustomEvent("haemaaccount"));
    location.hash = next.startsWith("#/login") ? "#/" : next;
  });
  view.append(login);
  login.querySelector("input").focus();
  // after this form, not into the view: when the page was drawn again meanwhile (a
  // second route to the sign-in page), this form is detached and the hint goes nowhere
  api("/auth/setup").then((state) => {
    if (state.needed) {
      login.after(message("No user yet: open the setup link that Haema printed when it started.", { kind: "info" }));
    }
  }).catch(() => {});
}

export async function showSetup(view, { id: token }) {
  const state = await api("/auth/setup");
  if (!state.needed) {
    view.append(message("Haema is set up already. Sign in with your account.", { kind: "info" }),
      h("a.button.primary", { href: "#/login" }, "Sign in"));
    return;
  }
  view.append(form("setup", "Create the first admin", [
    h("p.sub", {}, "This account manages the others. The link works once."),
    field("User name", { name: "username", id: "username", autocomplete: "username", required: true,
      autocapitalize: "none", spellcheck: "false" }),
    field("Password (8 characters or more)", { name: "password", id: "password", type: "password",
      autocomplete: "new-password", required: true, minLength: 8 }),
    field("Password again", { name: "again", id: "again", type: "password", autocomplete: "new-password",
      required: true }),
  ], "Create admin", async (data) => {
    if (data.get("password") !== data.get("again")) throw new Error("The two passwords differ.");
    const answer = await post("/auth/setup",
      { token, username: data.get("username"), password: data.get("password") });
    me = { ...answer.user, auth: true };
    window.dispatchEvent(new CustomEvent("haemaaccount"));
    location.replace("#/");
  }));
}

export async function showUsers(view) {
  const users = h("tbody");
  const sessions = h("tbody");
  const status = h("div.status");

  async function refresh() {
    try {
      const [userList, sessionList] = await Promise.all([api("/users"), api("/sessions")]);
      users.replaceChildren(...userList.map(userRow));
      sessions.replaceChildren(...sessionList.map(sessionRow));
      status.replaceChildren();
    } catch (error) {
      status.replaceChildren(message(error.message, { retry: refresh }));
    }
  }

  async function act(work) {
    try {
      await work();
    } catch (error) {
      status.replaceChildren(message(error.message));
      return;
    }
    await refresh();
  }

  function userRow(user) {
    const remove = h("button.button", {
      type: "button", "aria-label": `Remove ${user.name}`,
      onclick: () => {
        if (confirm(`Remove ${user.name} and their watch history?`)) {
          act(() => api(`/users/${encodeURIComponent(user.name)}`, { method: "DELETE" }));
        }
      },
    }, "Remove");
    const reset = h("button.button", {
      type: "button", "aria-label": `New password for ${user.name}`,
      onclick: () => {
        const password = prompt(`A new password for ${user.name} (8 characters or more). They are signed out everywhere.`);
        if (password) act(() => post(`/users/${encodeURIComponent(user.name)}/password`, { password }, "PUT"));
      },
    }, "New password");
    return h("tr", {}, h("td", {}, user.name), h("td", {}, user.admin ? "admin" : "user"),
      h("td", {}, user.created_at.slice(0, 10)), h("td", {}, user.name === me.name ? "" : [reset, " ", remove]));
  }

  function sessionRow(session) {
    const revoke = h("button.button", {
      type: "button", onclick: () => act(() => api(`/sessions/${session.id}`, { method: "DELETE" })),
    }, "Sign out");
    return h("tr", {}, h("td", {}, session.user), h("td", { title: session.agent }, deviceName(session.agent)),
      h("td.address", {}, session.address),
      h("td", {}, new Date(session.used_at).toLocaleString([], { dateStyle: "short", timeStyle: "short" })),
      h("td", {}, session.current ? "this one" : revoke));
  }

  const add = form("add-user", "Add a user", [
    field("User name", { name: "username", id: "new-username", autocomplete: "off", required: true,
      autocapitalize: "none", spellcheck: "false" }),
    field("Password (8 characters or more)", { name: "password", id: "new-password", type: "password",
      autocomplete: "new-password", required: true, minLength: 8 }),
    h("label.check", {}, h("input", { type: "checkbox", name: "admin", id: "new-admin" }), " May manage users"),
  ], "Add user", async (data) => {
    await post("/users", { username: data.get("username"), password: data.get("password"),
      admin: data.get("admin") === "on" });
    add.reset();
    await refresh();
  });

  view.append(h("section.admin", {},
    h("h1", {}, "Users"), status,
    h("table", { id: "users" }, h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Role"),
      h("th", {}, "Since"), h("th"))), users),
    add,
    h("h2", {}, "Signed-in browsers and apps"),
    h("table", { id: "sessions" }, h("thead", {}, h("tr", {}, h("th", {}, "User"), h("th", {}, "Browser or app"),
      h("th.address", {}, "Address"), h("th", {}, "Last used"), h("th"))), sessions)));
  view.append(librarySection(), passwordForm());
  await refresh();
}

// One's own password, with the current one: on the admin's users page and, for everyone,
// on #/password (the name in the header leads there).
function passwordForm() {
  const own = form("own-password", "Your password", [
    field("Current password", { name: "current", id: "current-password", type: "password",
      autocomplete: "current-password", required: true }),
    field("New password (8 characters or more)", { name: "password", id: "changed-password", type: "password",
      autocomplete: "new-password", required: true, minLength: 8 }),
  ], "Change password", async (data) => {
    await post("/auth/password", { current: data.get("current"), password: data.get("password") }, "PUT");
    own.reset();
    own.querySelector(".status").replaceChildren(message("Changed. Your other browsers and apps are signed out.",
      { kind: "info" }));
  });
  return own;
}

export function showPassword(view) {
  view.append(passwordForm());
}

// "Chrome on Android", "Jellyfin Web on Linux", "Safari on iPhone": a User-Agent as a
// person names the device; the whole string is the cell's tooltip.
const BROWSERS = [["Jellyfin", /Jellyfin[- ]?([A-Za-z]+)?/], ["Edge", /Edg\//], ["Firefox", /Firefox\//],
  ["Chrome", /Chrome\//], ["Safari", /Safari\//], ["GStreamer", /GStreamer/], ["VLC", /VLC/], ["curl", /curl\//],
  ["Python", /python/i]];
const SYSTEMS = [["iPhone", /iPhone/], ["iPad", /iPad/], ["Android", /Android/], ["Windows", /Windows/],
  ["Mac", /Macintosh|Mac OS X/], ["ChromeOS", /CrOS/], ["Linux", /Linux/]];

export function deviceName(agent) {
  if (!agent) return "unknown";
  const browser = BROWSERS.find(([, pattern]) => pattern.test(agent));
  const system = SYSTEMS.find(([, pattern]) => pattern.test(agent));
  const name = browser ? browser[0] : agent.split(/[/ ]/)[0];
  return system ? `${name} on ${system[0]}` : name;
}

export async function signOut() {
  try {
    await api("/auth/logout", { method: "POST" });
  } finally {
    me = null;
    window.dispatchEvent(new CustomEvent("haemaaccount"));
    location.hash = "#/login";
  }
}
