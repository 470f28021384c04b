// The player's own controls: play, a seek bar with previews, time, volume, full screen.
//
// The browser's built-in controls keep taps to themselves on phones (the page never gets
// a click to bring its own bar back), focus a slider that swallows arrow keys, and give
// no hook to show a preview over their timeline; these are plain elements the page owns.
import { clock, h } from "./dom.js";

const PREVIEW_WIDTH = 200; // px of the preview box; the sheet's tiles are scaled to it

// Icons as SVG paths (24x24): fonts on TVs and minimal Linux systems often lack the symbols.
const ICONS = {
  play: "M8 5v14l11-7z",
  pause: "M6 5h4v14H6zm8 0h4v14h-4z",
  volume: "M3 9v6h4l5 5V4L7 9H3zm13.5 3A4.5 4.5 0 0 0 14 8v8a4.5 4.5 0 0 0 2.5-4z",
  muted: "M3 9v6h4l5 5V4L7 9H3zm13.6 3 2.7-2.7-1.4-1.4-2.7 2.7-2.7-2.7-1.4 1.4 2.7 2.7-2.7 2.7 1.4 1.4 2.7-2.7 2.7 2.7 1.4-1.4z",
  fullscreen: "M4 4h6v2H6v4H4zm10 0h6v6h-2V6h-4zM4 14h2v4h4v2H4zm14 0h2v6h-6v-2h4z",
};

function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

export class Controls {
  // `thumbnails`: URL of the WebVTT thumbnails track (cues point into sprite sheets), or null.
  // `toggleFullscreen`: the player's, which knows what to make full screen.
  constructor(video, { thumbnails, toggleFullscreen }) {
    this.video = video;
    this.thumbnailsUrl = thumbnails;
    this.cues = null;
    this.play = h("button.control", { type: "button", id: "play-pause", "aria-label": "Play" }, icon("play"));
    this.current = h("span.time", { id: "current-time" }, "0:00");
    this.total = h("span.time", { id: "total-time" }, "0:00");
    this.played = h("div.played");
    this.buffered = h("div.buffered");
    this.previewImage = h("div.preview-image");
    this.previewTime = h("span.preview-time");
    this.preview = h("div.preview", { hidden: true, "aria-hidden": "true" }, this.previewImage, this.previewTime);
    this.seek = h("div.seek", {
      id: "seek", role: "slider", tabIndex: 0, "aria-label": "Seek", "aria-valuemin": "0",
      "aria-valuemax": "0", "aria-valuenow": "0", "aria-valuetext": "0:00",
    }, h("div.track", {}, this.buffered, this.played), this.preview);
    this.mute = h("button.control", { type: "button", id: "mute", "aria-label": "Mute" }, icon("volume"));
    this.volume = h("input", { type: "range", id: "volume", min: "0", max: "1", step: "0.05", value: "1",
      "aria-label": "Volume" });
    this.fullscreen = h("button.control", { type: "button", id: "fullscreen", "aria-label": "Full screen" }, icon("fullscreen"));
    this.element = h("div.player-controls", {}, this.seek,
      h("div.buttons", {}, this.play, this.current, h("span.time.separator", {}, "/"), this.total,
        h("span.spacer"), this.mute, this.volume, this.fullscreen));

    this.play.onclick = () => (video.paused ? video.play().catch(() => {}) : video.pause());
    this.mute.onclick = () => { video.muted = !video.muted; };
    this.volume.oninput = () => {
      video.volume = Number(this.volume.value);
      video.muted = video.volume === 0;
    };
    this.fullscreen.onclick = toggleFullscreen;
    this.wireSeek();
  }

  // A menu (the settings): its button beside the volume, its panel above the bar.
  addMenu(button, panel) {
    this.mute.before(button);
    this.element.append(panel);
  }

  // Media events the player listens to on its own behalf; `listen` registers them for removal.
  attach(listen) {
    const video = this.video;
    const paint = () => this.paint();
    for (const event of ["timeupdate", "durationchange", "progress", "seeking", "loadedmetadata"]) {
      listen(video, event, paint);
    }
    const state = () => {
      this.play.replaceChildren(icon(video.paused ? "play" : "pause"));
      this.play.setAttribute("aria-label", video.paused ? "Play" : "Pause");
    };
    listen(video, "play", state);
    listen(video, "pause", state);
    listen(video, "volumechange", () => {
      this.mute.replaceChildren(icon(video.muted || video.volume === 0 ? "muted" : "volume"));
      this.mute.setAttribute("aria-label", video.muted ? "Unmute" : "Mute");
      if (!video.muted) this.volume.value = String(video.volume);
    });
    state();
    paint();
  }

  paint() {
    const video = this.video;
    const duration = Number.isFinite(video.duration) ? video.duration : 0;
    const time = video.currentTime || 0;
    this.played.style.width = duration ? `${(100 * time / duration).toFixed(2)}%` : "0";
    const ranges = video.buffered;
    const end = ranges.length ? ranges.end(ranges.length - 1) : 0;
    this.buffered.style.width = duration ? `${Math.min(100, 100 * end / duration).toFixed(2)}%` : "0";
    this.current.textContent = clock(time);
    this.total.textContent = clock(duration);
    this.seek.setAttribute("aria-valuemax", String(Math.round(duration)));
    this.seek.setAttribute("aria-valuenow", String(Math.round(time)));
    this.seek.setAttribute("aria-valuetext", `${clock(time)} of ${clock(duration)}`);
  }

  // -- Seeking and previews ---------------------------------------------------

  wireSeek() {
    const seek = this.seek;
    let dragging = false;
    seek.addEventListener("pointerdown", (event) => {
      dragging = true;
      seek.setPointerCapture(event.pointerId);
      this.showPreview(event);
      event.preventDefault(); // no text selection while dragging
    });
    seek.addEventListener("pointermove", (event) => this.showPreview(event));
    seek.addEventListener("pointerup", (event) => {
      if (!dragging) return;
      dragging = false;
      this.video.currentTime = this.timeAt(event);
      if (event.pointerType !== "mouse") this.preview.hidden = true;
    });
    seek.addEventListener("pointercancel", () => { dragging = false; this.preview.hidden = true; });
    seek.addEventListener("pointerleave", () => { if (!dragging) this.preview.hidden = true; });
  }

  timeAt(event) {
    const box = this.seek.getBoundingClientRect();
    const fraction = Math.min(1, Math.max(0, (event.clientX - box.left) / (box.width || 1)));
    return fraction * (Number.isFinite(this.video.duration) ? this.video.duration : 0);
  }

  async showPreview(event) {
    const time = this.timeAt(event);
    const box = this.seek.getBoundingClientRect();
    const x = Math.min(Math.max(event.clientX - box.left, PREVIEW_WIDTH / 2), box.width - PREVIEW_WIDTH / 2);
    this.preview.style.left = `${x}px`;
    this.previewTime.textContent = clock(time);
    this.preview.hidden = false;
    const cue = (await this.thumbnailCues()).find((c) => c.start <= time && time < c.end);
    this.previewImage.hidden = !cue;
    if (!cue) return;
    const scale = PREVIEW_WIDTH / cue.w;
    Object.assign(this.previewImage.style, {
      width: `${PREVIEW_WIDTH}px`,
      height: `${Math.round(cue.h * scale)}px`,
      backgroundImage: `url("${cue.url}")`,
      backgroundPosition: `-${cue.x * scale}px -${cue.y * scale}px`,
      backgroundSize: cue.sheetWidth ? `${cue.sheetWidth * scale}px auto` : "auto",
    });
    this.previewImage.dataset.src = cue.url;
  }

  // The thumbnails track, read once on the first hover; no previews if it cannot be read.
  thumbnailCues() {
    if (!this.cues) {
      this.cues = this.thumbnailsUrl
        ? fetch(this.thumbnailsUrl).then((r) => (r.ok ? r.text() : "")).then((text) => parseThumbnails(text, this.thumbnailsUrl))
          .catch(() => [])
        : Promise.resolve([]);
    }
    return this.cues;
  }
}

// WebVTT cues whose text is `sheet.jpg#xywh=x,y,w,h`, the convention of Jellyfin, Kyoo and Video.js.
export function parseThumbnails(text, base) {
  const cues = [];
  const blocks = text.replace(/\r/g, "").split(/\n\n+/);
  for (const block of blocks) {
    const lines = block.split("\n").filter(Boolean);
    const timing = lines.findIndex((line) => line.includes("-->"));
    if (timing < 0 || !lines[timing + 1]) continue;
    const [start, end] = lines[timing].split("-->").map((t) => seconds(t.trim().split(/\s/)[0]));
    const [file, fragment = ""] = lines[timing + 1].trim().split("#xywh=");
    const [x, y, w, hh] = fragment.split(",").map(Number);
    if (!(w > 0 && hh > 0)) continue;
    cues.push({ start, end, url: new URL(file, new URL(base, location.href)).href, x, y, w, h: hh });
  }
  // every sheet has the same number of columns, so the rightmost tile's edge is a sheet's width
  const width = Math.max(0, ...cues.map((cue) => cue.x + cue.w));
  for (const cue of cues) cue.sheetWidth = width;
  return cues;
}

function seconds(stamp) {
  return stamp.split(":").reduce((total, part) => total * 60 + Number(part), 0);
}
