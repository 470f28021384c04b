// A film or a series: banner, the big play/resume button, episodes grouped by season.
import { REFRESH_EVERY, api } from "./api.js";
import { bar, clock, h, message, minutes, poster, seasonName } from "./dom.js";

const RESUME_FROM = 3; // s, as in the player: closer to the start plays from the start

// The page follows the folder as the library page does: asked again every few seconds,
// drawn again when the answer differs (an episode added or removed, progress saved).
export async function showShow(view, { id }) {
  let shown = null;
  async function load() {
    let show;
    try {
      show = await api(`/shows/${id}`);
    } catch (error) {
      if (shown === "") return;
      shown = "";
      const text = error.status === 404 ? "This title is not in the library any more." : error.message;
      view.replaceChildren(message(text, { retry: error.status === 404 ? null : load }),
        h("a.button", { href: "#/" }, "Back to the library"));
      return;
    }
    const text = JSON.stringify(show);
    if (text === shown) return;
    shown = text;
    view.replaceChildren();
    draw(view, show, load);
  }
  await load();
  const refresh = setInterval(() => {
    if (document.visibilityState === "visible") load();
  }, REFRESH_EVERY);
  return () => {
    clearInterval(refresh);
    document.title = "Haema";
  };
}

function draw(view, show, reload) {
  const info = show.info;
  document.title = `${info.title} · Haema`;
  const episodes = show.type === "series" ? show.episodes : [{ id: info.id, progress: show.progress }];
  const target = nextUp(episodes);

  view.append(
    h("section.hero" + (info.banner ? ".with-banner" : ""), {},
      info.banner ? h("div.banner", {}, h("img", { src: info.banner, alt: "", decoding: "async" })) : null,
      h("div.heading", {},
        poster(info.thumbnail, info.title, info.thumbnail_shape),
        h("div", {},
          h("h1", {}, info.title),
          info.original_title && info.original_title !== info.title ? h("p.original", {}, info.original_title) : null,
          h("p.sub", {}, [info.year, show.type === "series" ? `${show.episodes.length} episodes` : "Film",
            info.runtime ? minutes(info.runtime * 60) : null, info.rating ? `★ ${info.rating.toFixed(1)}` : null,
            info.genres.join(", ")].filter(Boolean).join(" · ")),
          info.plot ? h("p.plot", { id: "plot" }, info.plot) : null,
          target ? h("div.actions", {},
            h("a.button.primary", { href: `#/play/${target.episode.id}`, id: "play" }, playLabel(target, show.type)),
            target.progress ? h("a.button", { href: `#/play/${target.episode.id}?from=start` }, "Start over") : null,
            show.type === "movie" ? watchedToggle({ id: info.id, progress: show.progress }, reload) : null)
            : null))),
    ...(show.type === "series" ? seasons(show.episodes, reload) : []),
  );
}

// What the big button plays: the last watched episode if unfinished, else the one after it.
function nextUp(episodes) {
  if (!episodes.length) return null;
  const watched = episodes.filter((e) => e.progress && e.progress.updated_at);
  if (!watched.length) {
    const first = episodes.find((e) => e.season !== 0) || episodes[0];
    return { episode: first, progress: null };
  }
  const last = watched.reduce((a, b) => (a.progress.updated_at >= b.progress.updated_at ? a : b));
  if (!last.progress.finished) return { episode: last, progress: last.progress };
  const later = episodes.slice(episodes.indexOf(last) + 1).find((e) => !(e.progress && e.progress.finished));
  if (later) return { episode: later, progress: later.progress, next: true };
  return { episode: episodes.find((e) => e.season !== 0) || episodes[0], progress: null, again: true };
}

function playLabel(target, type) {
  const episode = target.episode;
  const name = type === "series" ? ` ${episode.index || ""}`.trimEnd() : "";
  if (target.progress && !target.progress.finished && target.progress.position >= RESUME_FROM) {
    return `▶ Resume${name} from ${clock(target.progress.position)}`;
  }
  if (target.again) return `▶ Watch again${name}`;
  return `▶ Play${name}`;
}

function seasons(episodes, reload) {
  const groups = new Map();
  for (const episode of episodes) {
    if (!groups.has(episode.season)) groups.set(episode.season, []);
    groups.get(episode.season).push(episode);
  }
  // specials (season 0) last, as Jellyfin and Kodi show them
  const order = [...groups.keys()].sort((a, b) => (a === 0) - (b === 0) || (a ?? 0) - (b ?? 0));
  return order.map((season) => h("section.season", {},
    h("h2", {}, seasonName(season)),
    h("ol.episodes", {}, groups.get(season).map((episode) => episodeRow(episode, reload)))));
}

// Watched (saved as played to its end) or not (its progress forgotten), by hand: also
// takes a video out of Continue watching.
function watchedToggle(video, reload) {
  const watched = Boolean(video.progress && video.progress.finished);
  const label = watched ? "Mark unwatched" : "Mark watched";
  // on a phone only the mark shows, green once watched (app.css): the words took a third of the row
  return h("button.button.watched" + (watched ? ".on" : ""), {
    type: "button", "aria-label": label, title: label, "data-id": video.id,
    onclick: async (event) => {
      event.currentTarget.disabled = true;
      const path = `/video/${video.id}/progress`;
      if (watched) {
        await api(path, { method: "DELETE" });
      } else {
        const duration = video.duration ?? (await api(`/video/${video.id}`)).duration; // a film's page has none
        await api(path, { method: "PUT", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ position: duration }) });
      }
      await reload();
    },
  }, h("span.mark", { "aria-hidden": "true" }, "✓"), h("span.label", {}, label));
}

function episodeRow(episode, reload) {
  const progress = episode.progress;
  let state = minutes(episode.duration);
  if (progress && progress.finished) state = `✓ Watched · ${state}`;
  else if (progress && progress.position > 0) state = `${clock(progress.position)} of ${clock(episode.duration)}`;
  return h("li", {},
    watchedToggle(episode, reload),
    h("a.episode", { href: `#/play/${episode.id}`, "data-id": episode.id },
      h("span.index", {}, episode.index || ""),
      h("span.title", {}, episode.title),
      episode.plot ? h("span.plot", {}, episode.plot) : null,
      h("span.state", {}, state),
      bar(progress)));
}
