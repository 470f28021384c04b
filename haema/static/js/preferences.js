// The viewer's playback choices: audio language, subtitle language and quality.
//
// The server keeps them per user (/api/v1/preferences, haema/preferences.py), so a reload,
// another browser or a TV app starts a film the same way, and subtitles chosen in one film
// are on in the next. The player (player.js) hands each menu choice to `chose*`, and sets a
// film up with `hlsConfig` (the tracks) and `applyQuality` before it plays, so nothing
// undoes a choice made while it plays. Under Safari's own HLS, `applyNative` does the
// tracks, once each, when the video's track lists are known.
import { api } from "./api.js";

const OFF = "none"; // subtitles off, chosen so
const AS_THE_FILM_COMES = { audio_language: null, subtitle_language: null, quality: "auto" };

// What the user chose before; if the server cannot say, the film plays as it comes.
export async function loadChoices() {
  try {
    return new Choices(await api("/preferences"));
  } catch (error) {
    console.warn("playback preferences not loaded:", error.message);
    return new Choices(AS_THE_FILM_COMES);
  }
}

export class Choices {
  constructor(saved) {
    this.saved = saved;
    this.applied = new Set();
  }

  // hls.js's own start-up choice of tracks: it picks them as it builds its track lists, and
  // keeps them in step with the video's text tracks (a track set from outside before those
  // exist is turned off again).
  hlsConfig() {
    const { audio_language: audio, subtitle_language: subtitles } = this.saved;
    const config = {};
    if (audio) config.audioPreference = { lang: audio };
    // off needs nothing: Haema's master marks no subtitle track DEFAULT, so hls.js shows none
    if (subtitles && subtitles !== OFF) config.subtitlePreference = { lang: subtitles, forced: false };
    return config;
  }

  // The saved quality, which must be set before hls.js loads the first segment: call this
  // once the levels are known (MANIFEST_PARSED), before startLoad.
  applyQuality(hls) {
    const index = nearestLevel(hls.levels, this.saved.quality);
    if (index < 0) return;
    hls.startLevel = index;
    hls.loadLevel = index; // a choice, as in the menu: no automatic switching away from it
  }

  // Safari's own HLS: the saved tracks, on the element's track lists (no quality menu there)
  applyNative(video) {
    const { audio_language: audio, subtitle_language: subtitles } = this.saved;
    const audioTracks = video.audioTracks ? [...video.audioTracks] : [];
    this.once("audio", audioTracks, () => {
      const index = findLanguage(audioTracks, audio);
      if (index >= 0) audioTracks.forEach((track, i) => { track.enabled = i === index; });
    });
    const texts = [...video.textTracks].filter((t) => t.kind === "subtitles" || t.kind === "captions");
    this.once("subtitles", texts, () => {
      const index = subtitles === OFF ? -1 : findLanguage(texts, subtitles);
      if (subtitles !== OFF && index < 0) return;
      texts.forEach((track, i) => { track.mode = i === index ? "showing" : "disabled"; });
    });
  }

  once(kind, list, apply) {
    if (this.applied.has(kind) || !list || !list.length) return;
    this.applied.add(kind);
    apply();
  }

  // `level`: the hls.js level chosen, or null for automatic
  choseQuality(level) {
    this.save({ quality: level ? shortSide(level) : "auto" });
  }

  choseAudio(track) {
    const language = languageOf(track);
    if (language) this.save({ audio_language: language });
  }

  // `track`: null for subtitles off
  choseSubtitles(track) {
    const language = track ? languageOf(track) : OFF;
    if (language) this.save({ subtitle_language: language });
  }

  save(change) {
    Object.assign(this.saved, change);
    const headers = { "Content-Type": "application/json" };
    api("/preferences", { method: "PUT", body: JSON.stringify(change), headers })
      .catch((error) => console.warn("playback preference not saved:", error.message));
  }
}

// The short side, as the quality menu names a level ("720p") and the server keeps it.
export function shortSide(level) {
  return Math.min(level.width || level.height, level.height);
}

// The level for a saved height: that one, else the highest below it (a viewer who chose 480p
// to spare the line never gets more), else the lowest; -1 for automatic or without heights.
export function nearestLevel(levels, height) {
  if (typeof height !== "number") return -1;
  let best = -1;
  let lowest = -1;
  levels.forEach((level, index) => {
    if (!level.height) return;
    const side = shortSide(level);
    if (side <= height && (best < 0 || side > shortSide(levels[best]))) best = index;
    if (lowest < 0 || side < shortSide(levels[lowest])) lowest = index;
  });
  return best >= 0 ? best : lowest;
}

// Tracks are tagged as the master tags them ("fr", "pt-BR"); the server keeps the language part.
function languageOf(track) {
  const tag = (track.lang || track.language || "").toLowerCase().split("-")[0];
  return /^[a-z]{2,3}$/.test(tag) && tag !== "und" ? tag : null;
}

// The first track in `language`, one not forced first (forced subtitles only cover signs).
function findLanguage(tracks, language) {
  if (!language) return -1;
  const indexes = tracks.map((track, index) => index).filter((index) => languageOf(tracks[index]) === language);
  const full = indexes.find((index) => !tracks[index].forced);
  return full !== undefined ? full : indexes.length ? indexes[0] : -1;
}
