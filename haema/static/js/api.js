// Talking to Haema's JSON API, with errors turned into sentences a person can act on.

// ms: how often a page asks again, so files added to or removed from the watched folder
// show up (an unchanged answer is a 304)
export const REFRESH_EVERY = 5000;

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

export async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(`/api/v1${path}`, options);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError("Cannot reach the Haema server. Check that it is running and that you are online.", 0);
  }
  if (response.status === 204) return null;
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    // a proxy's HTML error page, or an empty body
  }
  if (response.status === 401 && path !== "/auth/login") {
    // the session ended (signed out elsewhere, revoked, expired): the app goes to the sign-in page
    window.dispatchEvent(new CustomEvent("haemasignin"));
  }
  if (!response.ok) {
    const detail = body && body.error ? body.error : `HTTP ${response.status}`;
    throw new ApiError(`The server said: ${detail}.`, response.status);
  }
  return body;
}

// Saving a position. `leaving`: the page is going away, so the request must outlive it.
export function saveProgress(videoId, position, leaving = false) {
  const body = JSON.stringify({ position });
  const url = `/api/v1/video/${videoId}/progress`;
  if (leaving) {
    // A beacon outlives the page (Haema takes POST there for it); fetch keepalive is the fallback.
    if (!(navigator.sendBeacon && navigator.sendBeacon(url, body))) {
      fetch(url, { method: "PUT", body, keepalive: true, headers: { "Content-Type": "application/json" } })
        .catch(() => {});
    }
    return Promise.resolve();
  }
  return api(`/video/${videoId}/progress`, {
    method: "PUT", body, headers: { "Content-Type": "application/json" },
  });
}
