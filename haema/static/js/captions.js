// Subtitles drawn by the page from the showing text track's cues, not by the browser.
//
// The browser draws cues at the bottom of the video element: under the player's own
// controls (and their shading) whenever the bar is shown, and at the bottom of a portrait
// phone's screen, far below the picture. Here the cue lines sit on the picture, above the
// seek bar while the controls are shown, at a size that follows the picture; and they can
// be shifted in time (a delay) and scaled, which native cues cannot. The track stays
// "showing" (hls.js reads a "hidden" one as subtitles turned off), so its cues keep
// loading; the browser's own drawing of them is hidden by app.css (.own-captions).
import { h } from "./dom.js";

const MARGIN = 0.05; // of the picture's height, under the lowest line when the controls are hidden
const GAP = 8; // px between the lines and the seek bar above which they move
const FONT = 0.045; // of the picture's height, at 100 %
const MIN_FONT = 16; // px at 100 %: a portrait phone's picture is only ~220 px high

export class Captions {
  // `controls`: the element of the player's controls, whose seek bar the lines keep above.
  constructor(video, root, controls) {
    this.video = video;
    this.root = root;
    this.seek = controls.querySelector(".seek");
    this.delay = 0; // s: positive shows each line later
    this.scale = 1;
    this.shown = []; // the cues on screen
    this.frame = null;
    this.element = h("div.captions", { id: "captions", hidden: true, "aria-hidden": "true" });
    video.after(this.element); // under the bars and messages
    root.classList.add("own-captions");
  }

  // `listen` registers a listener for removal when the player closes.
  attach(listen) {
    const video = this.video;
    const update = () => this.update();
    for (const event of ["timeupdate", "seeked", "pause", "loadedmetadata"]) listen(video, event, update);
    listen(video, "play", () => this.follow());
    listen(video.textTracks, "change", update);
    // cues arrive as hls.js loads the subtitles, even while paused: a track tells of them
    // when they are due now
    const watch = (track) => listen(track, "cuechange", update);
    [...video.textTracks].forEach(watch);
    listen(video.textTracks, "addtrack", (event) => {
      watch(event.track);
      update();
    });
    const layout = () => this.layout();
    listen(video, "resize", layout);
    listen(window, "resize", layout);
    listen(document, "fullscreenchange", layout);
    listen(this.root, "focusin", layout);
    listen(this.root, "focusout", layout);
    // the controls are shown or hidden by the player's "idle" class
    this.observer = new MutationObserver(layout);
    this.observer.observe(this.root, { attributes: true, attributeFilter: ["class"] });
    // an iPhone's full screen is the video element alone, which draws its own cues
    listen(video, "webkitbeginfullscreen", () => this.root.classList.remove("own-captions"));
    listen(video, "webkitendfullscreen", () => this.root.classList.add("own-captions"));
  }

  close() {
    if (this.observer) this.observer.disconnect();
    cancelAnimationFrame(this.frame);
  }

  setDelay(seconds) {
    this.delay = seconds;
    this.update();
  }

  setScale(scale) {
    this.scale = scale;
    this.layout();
  }

  // Every frame while playing: timeupdate comes only every 250 ms, late for a line.
  follow() {
    cancelAnimationFrame(this.frame);
    const step = () => {
      this.update();
      if (!this.video.paused && this.root.isConnected) this.frame = requestAnimationFrame(step);
    };
    this.frame = requestAnimationFrame(step);
  }

  // The cues due at the current time less the delay, from every showing subtitle track.
  active() {
    const time = this.video.currentTime - this.delay;
    const due = [];
    for (const track of this.video.textTracks) {
      if (track.mode !== "showing" || !(track.kind === "subtitles" || track.kind === "captions") || !track.cues) continue;
      for (const cue of track.cues) {
        if (cue.startTime > time) break; // a track's cues are kept in order of their start
        if (time < cue.endTime) due.push(cue);
      }
    }
    return due;
  }

  update() {
    const due = this.active();
    if (due.length === this.shown.length && due.every((cue, index) => cue === this.shown[index])) return;
    this.shown = due;
    this.element.replaceChildren(...due.map((cue) => h("div.line", {}, h("span.cue", {}, cueContent(cue)))));
    this.element.hidden = !due.length;
    if (due.length) this.layout();
  }

  // Over the picture (the video is letterboxed inside its element), above the seek bar
  // while the controls are shown.
  layout() {
    if (this.element.hidden) return;
    const root = this.root.getBoundingClientRect();
    const picture = pictureBox(this.video);
    let bottom = picture.bottom - MARGIN * picture.height;
    const controlsShown = !this.root.classList.contains("idle") || this.root.matches(":has(:focus-visible)");
    if (controlsShown) bottom = Math.min(bottom, this.seek.getBoundingClientRect().top - GAP);
    Object.assign(this.element.style, {
      left: `${picture.left - root.left}px`,
      width: `${picture.width}px`,
      bottom: `${root.bottom - bottom}px`,
      fontSize: `${Math.max(MIN_FONT, FONT * picture.height) * this.scale}px`,
    });
  }
}

// The rectangle the picture fills inside the video element (object-fit: contain).
function pictureBox(video) {
  const box = video.getBoundingClientRect();
  const { videoWidth: width, videoHeight: height } = video;
  if (!width || !height) return box;
  const scale = Math.min(box.width / width, box.height / height);
  const w = width * scale;
  const hh = height * scale;
  const left = box.left + (box.width - w) / 2;
  const top = box.top + (box.height - hh) / 2;
  return { left, top, width: w, height: hh, right: left + w, bottom: top + hh };
}

// A VTTCue's text as elements (its <i>, <b>, <v> tags), never as HTML source.
function cueContent(cue) {
  return cue.getCueAsHTML ? cue.getCueAsHTML() : cue.text || "";
}
