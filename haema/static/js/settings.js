// The player's settings menu: playback speed, subtitle size and subtitle delay.
//
// Kept in this browser (localStorage): the speed and the size for every video, the delay
// for the one video it was set for (another file's subtitles are off by another amount,
// or not at all).
import { h } from "./dom.js";

const SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 1.75, 2];
const SIZES = [0.5, 0.75, 1, 1.25, 1.5, 2];
const DELAY_STEP = 0.25; // s per press
const KEYS = { speed: "haema.speed", size: "haema.subtitleSize", delay: "haema.subtitleDelay." };

const GEAR = "M19.4 13a7.5 7.5 0 0 0 0-2l2.1-1.6-2-3.5-2.5 1a7.6 7.6 0 0 0-1.7-1L15 3.3h-4l-.4 2.6a7.6 7.6 0 0 0-1.7 1l-2.5-1-2 "
  + "3.5L6.6 11a7.5 7.5 0 0 0 0 2l-2.1 1.6 2 3.5 2.5-1a7.6 7.6 0 0 0 1.7 1l.4 2.6h4l.4-2.6a7.6 7.6 0 0 0 1.7-1l2.5 1 "
  + "2-3.5zM13 15.5a3.5 3.5 0 1 1 0-7 3.5 3.5 0 0 1 0 7z";

function stored(key, allowed, fallback) {
  const value = Number(localStorage.getItem(key));
  return localStorage.getItem(key) !== null && (allowed ? allowed.includes(value) : Number.isFinite(value))
    ? value : fallback;
}

function gear() {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 26 24");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", GEAR);
  svg.append(path);
  return svg;
}

export class Settings {
  constructor(video, captions, videoId) {
    this.video = video;
    this.captions = captions;
    this.delayKey = KEYS.delay + videoId;
    this.button = h("button.control", { type: "button", id: "settings", "aria-label": "Settings",
      "aria-expanded": "false", "aria-controls": "settings-panel" }, gear());
    this.speed = h("select", { id: "speed", "aria-label": "Playback speed" },
      SPEEDS.map((speed) => h("option", { value: String(speed) }, speed === 1 ? "Normal" : `${speed}×`)));
    this.size = h("select", { id: "subtitle-size", "aria-label": "Subtitle size" },
      SIZES.map((size) => h("option", { value: String(size) }, `${Math.round(size * 100)} %`)));
    this.delayText = h("output", { id: "subtitle-delay" });
    this.earlier = h("button.button", { type: "button", id: "delay-earlier",
      "aria-label": `Subtitles ${DELAY_STEP} s earlier` }, `−${DELAY_STEP}`);
    this.later = h("button.button", { type: "button", id: "delay-later",
      "aria-label": `Subtitles ${DELAY_STEP} s later` }, `+${DELAY_STEP}`);
    this.panel = h("div.settings", { id: "settings-panel", hidden: true, role: "group", "aria-label": "Settings" },
      h("label", {}, h("span", {}, "Speed"), this.speed),
      h("label", {}, h("span", {}, "Subtitle size"), this.size),
      h("div.delay", {}, h("span", {}, "Subtitle delay"),
        h("div.stepper", {}, this.earlier, this.delayText, this.later)));

    this.button.onclick = () => this.toggle();
    this.speed.onchange = () => this.setSpeed(Number(this.speed.value), true);
    this.size.onchange = () => this.setSize(Number(this.size.value), true);
    this.earlier.onclick = () => this.setDelay(this.captions.delay - DELAY_STEP, true);
    this.later.onclick = () => this.setDelay(this.captions.delay + DELAY_STEP, true);
    this.setSpeed(stored(KEYS.speed, SPEEDS, 1));
    this.setSize(stored(KEYS.size, SIZES, 1));
    this.setDelay(stored(this.delayKey, null, 0));
  }

  get open() {
    return !this.panel.hidden;
  }

  toggle(open = !this.open) {
    this.panel.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
  }

  // A click or tap anywhere else closes the menu, as Escape does.
  attach(listen, root) {
    listen(root, "pointerdown", (event) => {
      if (this.open && !this.panel.contains(event.target) && !this.button.contains(event.target)) this.toggle(false);
    });
    listen(root, "keydown", (event) => {
      if (event.key === "Escape" && this.open) {
        this.toggle(false);
        this.button.focus();
      }
    });
  }

  setSpeed(speed, remember = false) {
    // the default rate too: loading a source (hls.js attaching, a retry) resets the rate to it
    this.video.defaultPlaybackRate = speed;
    this.video.playbackRate = speed;
    this.speed.value = String(speed);
    if (remember) localStorage.setItem(KEYS.speed, String(speed));
  }

  setSize(size, remember = false) {
    this.captions.setScale(size);
    this.size.value = String(size);
    if (remember) localStorage.setItem(KEYS.size, String(size));
  }

  setDelay(seconds, remember = false) {
    seconds = Math.round(seconds * 100) / 100;
    this.captions.setDelay(seconds);
    this.delayText.textContent = seconds ? `${seconds > 0 ? "+" : "−"}${Math.abs(seconds)} s` : "0 s";
    if (!remember) return;
    if (seconds) localStorage.setItem(this.delayKey, String(seconds));
    else localStorage.removeItem(this.delayKey);
  }
}
