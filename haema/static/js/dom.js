// Building the page without innerHTML, so a title like "Rock 'n' <Roll>" stays text.

export function h(tag, attrs = {}, ...children) {
  const [name, ...classes] = tag.split(".");
  const element = document.createElement(name || "div");
  if (classes.length) element.className = classes.join(" ");
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "style") Object.assign(element.style, value);
    else if (key in element && typeof value !== "string") element[key] = value;
    else element.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

export function clock(seconds) {
  seconds = Math.max(0, Math.floor(seconds || 0));
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = String(seconds % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}

// A length in words: "30 s", "12 min", "1 h 52 min", "2 h".
export function minutes(seconds) {
  seconds = Math.max(0, seconds || 0);
  if (seconds < 59.5) return `${Math.max(1, Math.round(seconds))} s`;
  const total = Math.round(seconds / 60);
  if (total < 60) return `${total} min`;
  return total % 60 ? `${Math.floor(total / 60)} h ${total % 60} min` : `${total / 60} h`;
}

// A progress bar, or nothing for something never watched.
export function bar(progress) {
  if (!progress) return null;
  const fraction = progress.finished ? 1 : Math.min(1, progress.position / (progress.duration || 1));
  if (!progress.finished && fraction <= 0) return null;
  return h("div.bar" + (progress.finished ? ".done" : ""), { role: "presentation" },
    h("span", { style: { width: `${(fraction * 100).toFixed(1)}%` } }));
}

// A poster box with a fixed aspect ratio: the page does not jump while images arrive.
export function poster(src, title, shape = "portrait") {
  const box = h(`div.poster.${shape}`, {}, h("span.initial", {}, (title || "?").trim().charAt(0).toUpperCase()));
  if (src) {
    const image = h("img", { src, alt: "", loading: "lazy", decoding: "async" });
    image.addEventListener("error", () => image.remove());
    image.addEventListener("load", () => box.classList.add("loaded"));
    box.append(image);
  }
  return box;
}

export function message(text, { retry = null, kind = "error" } = {}) {
  return h(`div.message.${kind}`, { role: kind === "error" ? "alert" : "status" },
    h("p", {}, text),
    retry ? h("button.button", { type: "button", onclick: retry }, "Try again") : null);
}

export function seasonName(season) {
  return season === 0 ? "Specials" : season === null || season === undefined ? "Episodes" : `Season ${season}`;
}
