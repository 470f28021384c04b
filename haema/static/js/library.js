// The library page: "Continue watching", then every film and series as a poster grid.
import { api } from "./api.js";
import { bar, h, message, minutes, poster } from "./dom.js";

const search = document.getElementById("search");
const TYPING_PAUSE = 150; // ms: search as you type without a request per key
const REFRESH_EVERY = 5000; // ms: files added to the watched folder appear; an unchanged listing is a 304

export async function showLibrary(view, { query }) {
  const continueRow = h("section.continue", { hidden: true, "aria-label": "Continue watching" });
  const heading = h("h2", {}, "Library");
  const grid = h("div.grid", { id: "shows" });
  const status = h("div");
  view.append(continueRow, h("section", {}, heading, status, grid));

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
      grid.replaceChildren(...shows.map(showCard));
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
  await Promise.all([load(text), loadContinue(continueRow, text)]);
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
  row.replaceChildren(h("h2", {}, "Continue watching"), h("div.row", {}, entries.map(continueCard)));
  row.hidden = Boolean(searching);
}

function continueCard(entry) {
  const episode = entry.episode;
  const label = episode ? `${episode.index ? episode.index + " · " : ""}${episode.title}` : "";
  const hint = entry.next ? "Next episode" : `${minutes(entry.duration - entry.position)} left`;
  return h("a.card.wide", { href: `#/play/${entry.video_id}`, title: `${entry.show.title} ${label}`.trim() },
    h("div.frame", {}, poster(entry.show.banner || entry.show.thumbnail, entry.show.title, "landscape"),
      bar(entry.next ? null : entry)),
    h("span.name", {}, entry.show.title),
    h("span.sub", {}, label ? `${label} — ${hint}` : hint));
}

function showCard(show) {
  const info = show.info;
  return h("a.card", { href: `#/show/${info.id}`, "data-title": info.title },
    h("div.frame", {}, poster(info.thumbnail, info.title), bar(showProgress(show))),
    h("span.name", {}, info.title),
    h("span.sub", {}, [info.year, show.type === "series" ? episodesLabel(show.episodes.length) : null]
      .filter(Boolean).join(" · ")));
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
