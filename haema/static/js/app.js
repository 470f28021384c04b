// Haema's web UI: a single page with hash routes, so it needs no server-side rendering.
//   #/?q=heat       library (search in the query)
//   #/show/<id>     a film or a series
//   #/play/<id>     the player
import { showLibrary } from "./library.js";
import { showShow } from "./show.js";
import { showPlayer } from "./player.js";

const view = document.getElementById("view");
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
  document.body.dataset.view = name;
  view.replaceChildren();
  const open = { library: showLibrary, show: showShow, play: showPlayer }[name];
  if (!open || (name !== "library" && !/^[0-9a-f]{16}$/.test(id || ""))) {
    location.replace("#/");
    return;
  }
  leave = (await open(view, { id, query })) || null;
}

// Typing in the search box from any page goes to the library's results.
document.getElementById("search").addEventListener("input", (event) => {
  if (document.body.dataset.view !== "library") {
    location.hash = `#/?q=${encodeURIComponent(event.target.value.trim())}`;
  }
});

window.addEventListener("hashchange", route);
route();
