// The player: HLS through hls.js (or Safari's own), resume, progress saving, menus, keys.
//
// For tests and debugging, the open player is `window.haemaPlayer` (its `hls` is the Hls
// instance, null under native HLS; `video` is the element). A "haemaplayer" event on window
// announces it before the source loads, so a listener added then sees every hls.js event.
import { api, saveProgress } from "./api.js";
import { Captions } from "./captions.js";
import { Controls } from "./controls.js";
import { h, message } from "./dom.js";
import { loadChoices } from "./preferences.js";
import { Settings } from "./settings.js";

const SAVE_EVERY = 10000; // ms of playing between two saves
const RESUME_FROM = 3; // s: closer to the start than this plays from the start
const NEXT_AFTER = 10; // s of countdown before the next episode starts on its own
const SEEK_STEP = 10; // s per arrow key

let hlsScript = null;

const ORIGINAL = /\/original\/stream\.m3u8/;

/* hls.js has dropped the levels this browser cannot decode. Of the rest: the master lists
   each fMP4 variant once per audio group (the tracks untouched, then AAC), so keep one
   level per video playlist, with the original sound where it plays; drop the H.264 copy
   of the picture at the original's own size, made for players that cannot decode it; and
   start on the original. A copy costs the server next to nothing, a transcode a core. */
function preferOriginal(hls) {
  const levels = hls.levels;
  const aac = (level) => (level.audioGroups || []).includes("aac");
  const drop = new Set();
  const kept = new Map(); // video playlist → index of its level
  levels.forEach((level, index) => {
    const other = kept.get(level.uri);
    if (other === undefined) {
      kept.set(level.uri, index);
    } else if (aac(levels[other]) && !aac(level)) {
      drop.add(other);
      kept.set(level.uri, index);
    } else {
      drop.add(index);
    }
  });
  const original = levels.find((level, index) => ORIGINAL.test(level.uri) && !drop.has(index));
  if (original) {
    levels.forEach((level, index) => {
      if (level !== original && level.height === original.height) drop.add(index);
    });
  }
  [...drop].sort((a, b) => b - a).forEach((index) => hls.removeLevel(index));
  const start = hls.levels.findIndex((level) => ORIGINAL.test(level.uri));
  if (start >= 0) hls.startLevel = start;
}

function loadHls() {
  // hls.js is 600 kB; only browsers that use it load it, and only when a video opens
  if (!hlsScript) {
    hlsScript = new Promise((resolve, reject) => {
      const script = h("script", { src: "/static/vendor/hls.min.js" });
      script.onload = () => resolve(window.Hls);
      script.onerror = () => reject(new Error("The player could not be loaded. Reload the page to try again."));
      document.head.append(script);
    });
  }
  return hlsScript;
}

export async function showPlayer(view, { id, query }) {
  const video = h("video", { playsInline: true, preload: "auto", id: "video" });
  const title = h("div.title");
  const quality = h("select", { "aria-label": "Quality", id: "quality", hidden: true });
  const audio = h("select", { "aria-label": "Audio track", id: "audio", hidden: true });
  const subtitles = h("select", { "aria-label": "Subtitles", id: "subtitles", hidden: true });
  const next = h("a.button", { id: "next", hidden: true }, "Next ›");
  const overlay = h("div.overlay", { hidden: true });
  const back = h("a.button.back", { href: "#/", "aria-label": "Back" }, "‹ Back");
  const bar = h("div.player-bar", {}, back, title, h("div.menus", {}, quality, audio, subtitles, next));
  const root = h("div.player", {}, video, bar, overlay);
  view.append(root);

  const player = new Player({ video, root, overlay, quality, audio, subtitles, next, title, back });
  await player.open(id, query.get("from") === "start");
  return () => player.close();
}

class Player {
  constructor(parts) {
    Object.assign(this, parts);
    this.hls = null;
    this.info = null;
    this.nextEpisode = null;
    this.lastSaved = null;
    this.started = false; // no save before the resume point is reached, or leaving early would rewind
    this.timers = [];
    this.listeners = [];
    this.countdown = null;
    this.recoveredMediaError = false;
    this.leftTheCopy = false;
  }

  listen(target, event, handler, options) {
    target.addEventListener(event, handler, options);
    this.listeners.push(() => target.removeEventListener(event, handler, options));
  }

  async open(id, fromStart) {
    this.showMessage("Loading…", "info");
    const choices = loadChoices(); // asked for beside the video's facts, not after them
    try {
      this.info = await api(`/video/${id}`);
    } catch (error) {
      this.fail(error.status === 404 ? "This video is not in the library any more: its file was moved or deleted."
        : error.message, error.status !== 404);
      return;
    }
    const info = this.info;
    const label = info.type === "series" ? `${info.show_title} · ${info.index || ""} ${info.title}` : info.title;
    this.title.textContent = label;
    document.title = `${label} · Haema`;
    this.back.href = `#/show/${info.show_id}`;
    const progress = info.progress;
    const start = !fromStart && progress && !progress.finished && progress.position >= RESUME_FROM
      ? progress.position : 0;
    this.findNext();
    this.controls = new Controls(this.video, { thumbnails: info.trickplay, toggleFullscreen: () => this.toggleFullscreen() });
    this.root.append(this.controls.element);
    const listen = (target, event, handler) => this.listen(target, event, handler);
    this.controls.attach(listen);
    this.captions = new Captions(this.video, this.root, this.controls.element);
    this.captions.attach(listen);
    this.settings = new Settings(this.video, this.captions, info.id);
    this.controls.addMenu(this.settings.button, this.settings.panel);
    this.settings.attach(listen, this.root);
    this.wire();
    this.choices = await choices;
    await this.attach(start);
  }

  // -- Loading ---------------------------------------------------------------

  async attach(start) {
    const { video, info } = this;
    const hasMse = "MediaSource" in window || "ManagedMediaSource" in window;
    // Safari plays HLS itself, with less power and AirPlay; Chromium also claims native HLS now
    // (navigator.userAgentData marks it) but hls.js gives it the quality menu.
    const native = video.canPlayType("application/vnd.apple.mpegurl") && !navigator.userAgentData;
    if (hasMse && !native) {
      let Hls;
      try {
        Hls = await loadHls();
      } catch (error) {
        this.fail(error.message, true);
        return;
      }
      if (Hls.isSupported()) {
        this.attachHls(Hls, start);
        return;
      }
    }
    if (video.canPlayType("application/vnd.apple.mpegurl")) {
      this.listen(video, "loadedmetadata", () => {
        if (start) video.currentTime = start;
        this.nativeMenus();
      }, { once: true });
      this.announce();
      video.src = info.master;
      this.play();
      return;
    }
    this.fail("This browser cannot play HLS video. Try a current Firefox, Chrome, Edge or Safari.");
  }

  attachHls(Hls, start) {
    const hls = new Hls({ startPosition: start, capLevelToPlayerSize: false, enableWorker: true, autoStartLoad: false,
      ...this.choices.hlsConfig() });
    this.hls = hls;
    this.announce();
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      preferOriginal(hls);
      this.choices.applyQuality(hls); // before the first segment
      hls.startLoad(start || -1); // -1: from the start
      this.hlsMenus();
      this.play();
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, () => this.qualityLabel());
    hls.on(Hls.Events.AUDIO_TRACKS_UPDATED, () => this.hlsMenus());
    hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, () => this.hlsMenus());
    hls.on(Hls.Events.ERROR, (event, data) => {
      if (data.fatal) this.hlsError(Hls, data);
    });
    // a decode error hls.js does not see (Chromium's at an open GOP, see leaveTheCopy)
    this.listen(this.video, "error", () => {
      if (this.hls === hls) this.hlsError(Hls, { type: Hls.ErrorTypes.MEDIA_ERROR, details: "videoError", fatal: true });
    });
    hls.loadSource(this.info.master);
    hls.attachMedia(this.video);
  }

  announce() {
    window.haemaPlayer = this;
    window.dispatchEvent(new CustomEvent("haemaplayer", { detail: this }));
  }

  play() {
    const attempt = this.video.play();
    if (attempt && attempt.catch) {
      attempt.catch((error) => {
        // autoplay without a gesture is refused by some browsers: the controls' play button remains
        if (error.name === "NotAllowedError") this.showMessage("Press play to start.", "info", true);
      });
    }
  }

  // -- Saving progress -------------------------------------------------------

  wire() {
    const video = this.video;
    this.listen(video, "playing", () => {
      this.started = true;
      this.hideMessage();
    });
    this.listen(video, "canplay", () => {
      if (!this.overlay.classList.contains("info-tap")) this.hideMessage();
    });
    this.listen(video, "waiting", () => this.showMessage("Loading…", "info"));
    this.listen(video, "pause", () => this.save());
    this.listen(video, "seeked", () => {
      this.started = true;
      this.save();
    });
    this.listen(video, "ended", () => {
      // a player that gave up also ends the video, wherever it was: that is not watching it
      if (this.failed) return;
      this.save();
      this.offerNext();
    });
    this.listen(video, "error", () => this.nativeError());
    this.timers.push(setInterval(() => {
      if (!video.paused) this.save();
    }, SAVE_EVERY));
    // leaving the page or the app: the request must outlive the page
    this.listen(window, "pagehide", () => this.save(undefined, true));
    this.listen(document, "visibilitychange", () => {
      if (document.visibilityState === "hidden") this.save(undefined, true);
    });
    this.listen(window, "keydown", (event) => this.key(event), true);
    this.listen(window, "keyup", (event) => this.keyUp(event), true);
    this.listen(this.root, "pointermove", (event) => {
      if (event.pointerType === "mouse") this.wake();
    });
    this.listen(this.root, "pointerdown", (event) => { this.pointer = event.pointerType; });
    this.listen(this.root, "focusin", () => this.wake());
    // a menu chosen with the mouse gives the keys back to the player (arrows would change it)
    this.listen(this.root, "change", (event) => { if (event.target.tagName === "SELECT") event.target.blur(); });
    this.listen(video, "click", () => this.tap());
    this.listen(this.root, "click", (event) => { if (event.target !== video) this.wake(); });
    this.wake();
  }

  position(at) {
    const time = at === undefined ? this.video.currentTime : at;
    if (!Number.isFinite(time)) return null;
    return Math.min(Math.max(0, time), this.info.duration); // the media may run a few ms past the probed duration
  }

  save(at, leaving = false) {
    if (!this.info || !this.started) return;
    const position = this.position(at);
    if (position === null || Math.abs(position - (this.lastSaved ?? -1)) < 0.5) return;
    this.lastSaved = position;
    saveProgress(this.info.id, position, leaving).catch((error) => {
      this.lastSaved = null;
      console.warn("progress not saved:", error.message);
    });
  }

  close() {
    this.save(undefined, false);
    for (const remove of this.listeners) remove();
    for (const timer of this.timers) clearInterval(timer);
    clearInterval(this.countdown);
    if (this.captions) this.captions.close();
    if (this.hls) this.hls.destroy();
    if (window.haemaPlayer === this) window.haemaPlayer = null;
    this.video.removeAttribute("src");
    this.video.load();
    document.title = "Haema";
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  }

  // -- Menus -----------------------------------------------------------------

  hlsMenus() {
    const hls = this.hls;
    const levels = hls.levels.map((level, index) => ({ level, index }))
      .sort((a, b) => (b.level.height || 0) - (a.level.height || 0) || b.level.bitrate - a.level.bitrate);
    fill(this.quality, [["-1", "Auto"], ...levels.map(({ level, index }) => [String(index), levelName(level)])],
      String(hls.autoLevelEnabled ? -1 : hls.manualLevel), levels.length > 1);
    // The new quality starts with the next segment, the one playing plays out. Switching
    // at once (hls.currentLevel) empties the whole buffer, and Chromium does not decode
    // the replacement from its keyframe back before the playhead: the picture froze until
    // the segment after it came, and a video without sound stopped with a second "buffered".
    this.quality.onchange = () => {
      hls.nextLevel = Number(this.quality.value); // -1: automatic again
      this.qualityLabel();
      this.choices.choseQuality(hls.levels[Number(this.quality.value)] || null);
    };
    this.qualityLabel();

    const audio = hls.audioTracks || [];
    fill(this.audio, audio.map((track, index) => [String(index), trackName(track, index)]),
      String(hls.audioTrack), audio.length > 1);
    this.audio.onchange = () => {
      hls.audioTrack = Number(this.audio.value);
      this.choices.choseAudio(audio[Number(this.audio.value)]);
    };

    const subtitles = hls.subtitleTracks || [];
    fill(this.subtitles, [["-1", "Subtitles off"], ...subtitles.map((t, i) => [String(i), trackName(t, i)])],
      String(hls.subtitleDisplay ? hls.subtitleTrack : -1), subtitles.length > 0);
    this.subtitles.onchange = () => {
      const index = Number(this.subtitles.value);
      hls.subtitleTrack = index;
      hls.subtitleDisplay = index >= 0;
      this.choices.choseSubtitles(subtitles[index] || null);
    };
  }

  qualityLabel() {
    const hls = this.hls;
    const auto = this.quality.querySelector('option[value="-1"]');
    if (!hls || !auto) return;
    const playing = hls.levels[hls.currentLevel];
    auto.textContent = hls.autoLevelEnabled && playing ? `Auto (${levelName(playing)})` : "Auto";
  }

  nativeMenus() {
    const video = this.video;
    this.choices.applyNative(video);
    const audio = video.audioTracks ? [...video.audioTracks] : [];
    fill(this.audio, audio.map((track, index) => [String(index), trackName(track, index)]),
      String(Math.max(0, audio.findIndex((t) => t.enabled))), audio.length > 1);
    this.audio.onchange = () => {
      audio.forEach((track, index) => { track.enabled = index === Number(this.audio.value); });
      this.choices.choseAudio(audio[Number(this.audio.value)]);
    };
    const texts = [...video.textTracks].filter((t) => t.kind === "subtitles" || t.kind === "captions");
    fill(this.subtitles, [["-1", "Subtitles off"], ...texts.map((t, i) => [String(i), trackName(t, i)])],
      String(texts.findIndex((t) => t.mode === "showing")), texts.length > 0);
    this.subtitles.onchange = () => {
      const chosen = Number(this.subtitles.value);
      texts.forEach((track, index) => { track.mode = index === chosen ? "showing" : "disabled"; });
      this.choices.choseSubtitles(texts[chosen] || null);
    };
  }

  // -- Next episode ----------------------------------------------------------

  async findNext() {
    if (this.info.type !== "series") return;
    let show;
    try {
      show = await api(`/shows/${this.info.show_id}`);
    } catch (error) {
      return; // no next button; playing goes on
    }
    const episodes = show.episodes;
    const here = episodes.findIndex((e) => e.id === this.info.id);
    const following = here >= 0 ? episodes[here + 1] : null;
    if (!following || (following.season === 0) !== (this.info.season === 0)) return;
    this.nextEpisode = following;
    this.next.href = `#/play/${following.id}`;
    this.next.textContent = `Next: ${following.index || ""} ›`.replace("  ", " ");
    this.next.title = following.title;
    this.next.hidden = false;
  }

  offerNext() {
    const episode = this.nextEpisode;
    if (!episode) return;
    let left = NEXT_AFTER;
    const counter = h("span", {}, String(left));
    const cancel = () => {
      clearInterval(this.countdown);
      this.countdown = null;
      this.hideMessage();
    };
    this.overlay.replaceChildren(h("div.message.info", { role: "status" },
      h("p", {}, `Up next: ${episode.index || ""} ${episode.title}`),
      h("p.sub", {}, "Starting in ", counter, " s"),
      h("div.actions", {},
        h("a.button.primary", { href: `#/play/${episode.id}` }, "▶ Play now"),
        h("button.button", { type: "button", onclick: cancel }, "Cancel"))));
    this.overlay.hidden = false;
    this.countdown = setInterval(() => {
      left -= 1;
      counter.textContent = String(left);
      if (left <= 0) {
        clearInterval(this.countdown);
        location.hash = `#/play/${episode.id}`;
      }
    }, 1000);
  }

  // -- Keyboard and controls -------------------------------------------------

  key(event) {
    const target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    // typing keeps its keys; a slider (the volume) does not take them from the player
    if (target.closest && target.closest("input:not([type=range]), select, textarea")) return;
    const video = this.video;
    switch (event.key) {
      case " ":
      case "k":
        // space drives the player even on a button clicked last (full screen, next):
        // that button must not be pressed again (see keyUp)
        if (video.paused) this.play(); else video.pause();
        break;
      case "m":
        video.muted = !video.muted;
        break;
      case "ArrowLeft":
        video.currentTime = Math.max(0, video.currentTime - SEEK_STEP);
        break;
      case "ArrowRight":
        video.currentTime = Math.min(video.duration || Infinity, video.currentTime + SEEK_STEP);
        break;
      case "ArrowUp":
        video.volume = Math.min(1, video.volume + 0.1);
        break;
      case "ArrowDown":
        video.volume = Math.max(0, video.volume - 0.1);
        break;
      case "f":
        this.toggleFullscreen();
        break;
      case "n":
        if (this.nextEpisode) location.hash = `#/play/${this.nextEpisode.id}`;
        break;
      default:
        return;
    }
    event.preventDefault();
    event.stopPropagation();
    this.wake();
  }

  // A button is pressed by space on keyup: kept from the focused button, which keydown
  // already gave to the player.
  keyUp(event) {
    const target = event.target;
    if (event.key === " " && target.closest && target.closest("a, button")) {
      event.preventDefault();
      event.stopPropagation();
    }
  }

  toggleFullscreen() {
    const root = this.root;
    if (document.fullscreenElement || document.webkitFullscreenElement) {
      (document.exitFullscreen || document.webkitExitFullscreen).call(document);
    } else if (root.requestFullscreen) {
      root.requestFullscreen().catch(() => {});
    } else if (root.webkitRequestFullscreen) {
      root.webkitRequestFullscreen();
    } else if (this.video.webkitEnterFullscreen) {
      this.video.webkitEnterFullscreen(); // iPhone: only the video itself goes full screen
    }
  }

  // A tap on a phone brings the bars back, and a second one hides them, as phone players
  // do; a click with a mouse plays or pauses, as on desktop players.
  tap() {
    if (this.pointer !== "touch") {
      if (this.video.paused) this.play(); else this.video.pause();
      this.wake();
    } else if (this.root.classList.contains("idle")) {
      this.wake();
    } else {
      clearTimeout(this.idleTimer);
      this.root.classList.add("idle");
    }
  }

  // the bar fades while the film plays untouched
  wake() {
    this.root.classList.remove("idle");
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (!this.video.paused && !this.settings.open) this.root.classList.add("idle");
    }, 3000);
  }

  // -- Errors, in words ------------------------------------------------------

  async hlsError(Hls, data) {
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !this.recoveredMediaError) {
      this.recoveredMediaError = true; // one decoder hiccup is recoverable; two mean the format
      this.hls.recoverMediaError();
      return;
    }
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR && this.leaveTheCopy()) return;
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
      this.failed = true; // already, while the reason is asked for: no "Loading…", no "watched"
      this.fail(await this.serverReason(data), true);
    } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
      this.fail("This browser cannot play this video: its picture or sound format is not supported here.");
    } else {
      this.fail(`The video cannot be played (${data.details}).`, true);
    }
  }

  /* The copy of the original fails to decode twice where a transcode would play: Chromium
     cannot start decoding at an open GOP's keyframe, whose leading frames refer to the GOP
     before it (crbug.com/40625346; Firefox and Safari can), so a seek into the copy of such
     a film (many Blu-ray remuxes) stops with a decode error. Every transcoded segment starts
     afresh: the player moves to the best transcoded quality, once, and goes on from where
     it was. Returns whether it did. */
  leaveTheCopy() {
    const hls = this.hls;
    const playing = hls.levels[hls.currentLevel];
    if (this.leftTheCopy || !playing || !ORIGINAL.test(playing.uri)) return false;
    const transcoded = hls.levels
      .map((level, index) => ({ level, index }))
      .filter(({ level }) => !ORIGINAL.test(level.uri))
      .sort((a, b) => b.level.height - a.level.height)[0];
    if (!transcoded) return false;
    this.leftTheCopy = true;
    hls.currentLevel = transcoded.index;
    hls.recoverMediaError();
    this.quality.value = String(transcoded.index);
    this.qualityLabel();
    return true;
  }

  // What the server says about the playlist, in its own words.
  async serverReason(data) {
    const code = data.response && data.response.code;
    if (code === 0 || code === undefined) {
      try {
        await fetch("/api/v1/health", { cache: "no-store" });
      } catch (error) {
        return "Lost the connection to the Haema server. Check that it is running and try again.";
      }
    }
    try {
      await api(this.info.master.replace(/^\/api\/v1/, ""));
    } catch (error) {
      if (error.status === 404) return "This video's file is missing: it was moved or deleted from the library.";
      if (error.status) return `This video cannot be played. ${error.message}`;
      return error.message;
    }
    if (data.frag && code >= 400 && code < 500) {
      // a segment the server cannot make says why (a damaged file, say)
      try {
        await api(new URL(data.frag.url, location.href).pathname.replace(/^\/api\/v1/, ""));
      } catch (error) {
        if (error.status === code) return `Part of this video cannot be played. ${error.message}`;
      }
    }
    if (code === 404) return "Part of this video is missing on the server. Try again in a moment.";
    return `The server could not send this video${code ? ` (HTTP ${code})` : ""}. Try again in a moment.`;
  }

  nativeError() {
    if (this.hls) return; // hls.js reports its own errors
    const error = this.video.error;
    if (!error) return;
    const reasons = {
      1: "Playback was stopped.",
      2: "A network error stopped the video. Check the connection to the Haema server.",
      3: "This browser could not decode the video.",
      4: "This browser cannot play this video's format, or the file is missing.",
    };
    this.fail(reasons[error.code] || "The video cannot be played.", error.code === 2);
  }

  fail(text, canRetry = false) {
    this.failed = true;
    this.overlay.replaceChildren(message(text, { retry: canRetry ? () => location.reload() : null }));
    this.overlay.hidden = false;
    this.root.classList.add("failed");
  }

  showMessage(text, kind, tapToPlay = false) {
    if (this.failed) return;
    this.overlay.replaceChildren(message(text, { kind }));
    this.overlay.classList.toggle("info-tap", tapToPlay);
    this.overlay.hidden = false;
  }

  hideMessage() {
    if (this.failed || this.countdown) return;
    this.overlay.classList.remove("info-tap");
    this.overlay.hidden = true;
  }
}

function fill(select, options, value, visible) {
  select.replaceChildren(...options.map(([v, label]) => h("option", { value: v }, label)));
  select.value = options.some(([v]) => v === value) ? value : options.length ? options[0][0] : "";
  select.hidden = !visible;
}

function levelName(level) {
  // named by the short side, as a portrait phone video shot in 1080x1920 is "1080p"
  if (level.height) return `${Math.min(level.width || level.height, level.height)}p`;
  if (level.name) return level.name;
  return `${Math.round(level.bitrate / 1000)} kbit/s`;
}

function trackName(track, index) {
  const language = track.lang || track.language;
  const name = track.name || track.label;
  if (name && language && !name.toLowerCase().includes(language.toLowerCase())) return `${name} (${language})`;
  return name || language || `Track ${index + 1}`;
}

