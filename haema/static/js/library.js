// The library page: "Continue watching", "Recently added", then every film and series as a
// poster grid that can be sorted and filtered by genre.
import { REFRESH_EVERY, api } from "./api.js";
import { bar, h, message, minutes, poster } from "./dom.js";

const search = document.getElementById("search");
const TYPING_PAUSE = 150; // ms: search as you type without a request per key
const RECENT = 12; // cards in the "Recently added" row
const SORTS = {
  title: { label: "Title", compare: () => 0 }, // the server's order: titles without "The", accents folded
  added: { label: "Recently added", compare: (a, b) => (b.info.added || "").localeCompare(a.info.added || "") },
  year: { label: "Year", compare: (a, b) => (b.info.year || 0) - (a.info.year || 0) },
};

export async function showLibrary(view, { query }) {
  const continueRow = h("section.continue", { hidden: true, "aria-label": "Continue watching" });
  const recentRow = h("section.recent", { hidden: true, "aria-label": "Recently added" });
  const heading = h("h2", {}, "Library");
  const sort = h("select", { id: "sort", "aria-label": "Sort by" },
    Object.entries(SORTS).map(([value, { label }]) => h("option", { value }, label)));
  const genre = h("select", { id: "genre", "aria-label": "Genre", hidden: true });
  const grid = h("div.grid", { id: "shows" });
  const status = h("div");
  view.append(continueRow, recentRow,
    h("section", {}, h("div.toolbar", {}, heading, h("div.filters", {}, sort, genre)), status, grid));
  sort.value = localStorage.getItem("haema.sort") in SORTS ? localStorage.getItem("haema.sort") : "title";
  let all = [];
  function render() {
    const chosen = genre.value;
    const shows = all.filter((s) => !chosen || s.info.genres.includes(chosen));
    grid.replaceChildren(...shows.slice().sort(SORTS[sort.value].compare).map(showCard));
    grid.classList.toggle("stills", grid.childElementCount > 0 && !grid.querySelector(".card:not(.still)"));
  }
  sort.onchange = () => {
    localStorage.setItem("haema.sort", sort.value);
    render();
  };
  genre.onchange = render;

  let pending = null;
  let timer = null;
  let shown = null; // the listing on screen, as JSON text: a refresh that finds the same changes nothing
  async function load(text) {
    if (pending) pending.abort();
    pending = new AbortController();
    const params = text ? `?search=${encodeURIComponent(text)}` : "";
    try {
      const shows = await api(`/shows${params}`, { signal: pending.signal });
      const listing = JSON.stringify([text, shows]);
      if (listing === shown) return;
      shown = listing;
      heading.textContent = text ? `Results for “${text}”` : "Library";
      continueRow.hidden = Boolean(text) || !continueRow.childElementCount;
      all = shows;
      fillGenres(genre, shows);
      fillRecent(recentRow, text ? [] : shows);
      render();
      status.replaceChildren();
      if (!shows.length) status.append(await emptyMessage(text));
    } catch (error) {
      if (error.name === "AbortError") return;
      shown = null;
      grid.replaceChildren();
      status.replaceChildren(message(error.message, { retry: () => load(text) }));
    }
  }

  function onInput() {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const text = search.value.trim();
      history.replaceState(null, "", text ? `#/?q=${encodeURIComponent(text)}` : "#/");
      load(text);
    }, TYPING_PAUSE);
  }

  search.value = query.get("q") || "";
  search.addEventListener("input", onInput);
  const text = search.value.trim();
  view.setAttribute("aria-busy", "true"); // until both rows are drawn
  await Promise.all([load(text), loadContinue(continueRow, text)]);
  view.removeAttribute("aria-busy");
  const refresh = setInterval(() => {
    if (document.visibilityState === "visible") load(search.value.trim());
  }, REFRESH_EVERY);
  return () => {
    search.removeEventListener("input", onInput);
    clearInterval(refresh);
    clearTimeout(timer);
    if (pending) pending.abort();
  };
}

async function loadContinue(row, searching) {
  let entries;
  try {
    entries = await api("/continue");
  } catch (error) {
    return; // the grid below says what is wrong
  }
  if (!entries.length) return;
  const cards = h("div.row", {}, entries.map((entry) => continueCard(entry, row)));
  row.replaceChildren(h("h2", {}, "Continue watching"), cards);
  row.hidden = Boolean(searching);
}

function continueCard(entry, row) {
  const episode = entry.episode;
  const label = episode ? `${episode.index ? episode.index + " · " : ""}${episode.title}` : "";
  const hint = entry.next ? "Next episode" : `${minutes(entry.duration - entry.position)} left`;
  const card = h("a.card.wide", { href: `#/play/${entry.video_id}`, title: `${entry.show.title} ${label}`.trim() },
    h("div.frame", {}, poster(entry.show.banner || entry.show.thumbnail, entry.show.title, "landscape"),
      bar(entry.next ? null : entry)),
    h("span.name", {}, entry.show.title),
    h("span.sub", {}, label ? `${label} — ${hint}` : hint));
  // An unfinished video's progress is forgotten; an entry offering the next episode has none
  // of its own (the one before was watched to its end), so the show is taken out until it is
  // watched again.
  const forget = entry.next
    ? `/continue/${entry.show.id}`
    : `/video/${entry.video_id}/progress`;
  const remove = h("button.remove", {
    type: "button", "aria-label": `Remove ${entry.show.title} from Continue watching`, "data-id": entry.video_id,
    onclick: async () => {
      remove.disabled = true;
      try {
        await api(forget, { method: "DELETE" });
      } catch (error) {
        remove.disabled = false;
        return;
      }
      remove.parentElement.remove();
      if (!row.querySelector(".card")) row.hidden = true;
    },
  }, "✕");
  return h("div.entry", {}, card, remove);
}

function fillGenres(select, shows) {
  const genres = [...new Set(shows.flatMap((s) => s.info.genres))].sort((a, b) => a.localeCompare(b));
  const chosen = select.value;
  select.replaceChildren(h("option", { value: "" }, "All genres"), ...genres.map((g) => h("option", { value: g }, g)));
  select.value = genres.includes(chosen) ? chosen : "";
  select.hidden = !genres.length;
}

// The newest files first; only worth a row when the library is more than what it would show.
function fillRecent(row, shows) {
  const recent = shows.filter((s) => s.info.added).sort(SORTS.added.compare).slice(0, RECENT);
  row.hidden = shows.length <= RECENT;
  row.replaceChildren(h("h2", {}, "Recently added"), h("div.row", {}, recent.map((show) => {
    const info = show.info;
    return h("a.card.wide", { href: `#/show/${info.id}`, "data-title": info.title },
      h("div.frame", {}, poster(info.banner || info.thumbnail, info.title, "landscape")),
      h("span.name", {}, info.title),
      h("span.sub", {}, cardLine(show)));
  })));
}

function cardLine(show) {
  return [show.info.year, show.type === "series" ? episodesLabel(show.episodes.length) : null]
    .filter(Boolean).join(" · ");
}

function showCard(show) {
  const info = show.info;
  // a poster is portrait; a frame from the video stays 16:9, on a card twice as wide
  const shape = info.thumbnail ? info.thumbnail_shape : "portrait";
  return h(`a.card${shape === "landscape" ? ".still" : ""}`, { href: `#/show/${info.id}`, "data-title": info.title },
    h("div.frame", {}, poster(info.thumbnail, info.title, shape), bar(showProgress(show))),
    h("span.name", {}, info.title),
    h("span.sub", {}, cardLine(show)));
}

// A series' bar is the share of its episodes watched to the end.
function showProgress(show) {
  if (show.type === "movie") return show.progress;
  const watched = show.episodes.filter((e) => e.progress);
  if (!watched.length) return null;
  const finished = watched.filter((e) => e.progress.finished).length;
  return { position: finished || 0.02 * show.episodes.length, duration: show.episodes.length,
    finished: finished === show.episodes.length };
}

function episodesLabel(count) {
  return count === 1 ? "1 episode" : `${count} episodes`;
}

async function emptyMessage(text) {
  if (text) return message(`Nothing matches “${text}”.`, { kind: "info" });
  let scanning = false;
  try {
    scanning = (await api("/health")).scanning;
  } catch (error) {
    // the empty library message still applies
  }
  return message(scanning
    ? "Haema is still reading your library folder. Films appear here as soon as they are indexed."
    : "Your library is empty. Put films and shows in the library folder; Haema lists them after its next scan.",
  { kind: "info", retry: scanning ? () => location.reload() : null });
}
