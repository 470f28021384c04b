#!/usr/bin/env python3
"""What one viewer costs the server, per source codec: encoder CPU seconds per minute of
playback while Chromium (hls.js, through Haema's own web player) plays the film to the
end, against the same film with its copy variant hidden, so that it must be transcoded.

    python scripts/cost_per_viewer.py [--seconds 30] [--height 720]

Both runs of a film are measured in the same server, cold (no segment cache), with the
encoder processes started beforehand (their start is a cost per server, not per viewer).
The player plays at 4x, so it fetches as fast as the server makes segments; CPU time
does not depend on the rate. This Chromium has no HEVC decoder, so for HEVC its "own
choice" row is a transcode, and a third row fetches what a player that decodes HEVC
(Safari, Apple TV, GStreamer, most TVs) fetches: every segment of the copy variant and
of its audio. Needs Debian's chromium and playwright.
"""
import argparse
import os
import tempfile
import time
import urllib.request

from benchmark.server import Server
from harness.chromium import AUTOPLAY, launched
from harness.clips import make_clip  # small real media, encoded with PyAV

FILMS = {
    "H.264 + AAC (MP4)": ("h264.mp4", dict()),
    "HEVC 8-bit + AAC (MP4)": ("hevc8.mp4", dict(video_codec="libx265")),
    "HEVC 10-bit + AC-3 (MKV)": ("hevc10.mkv", dict(video_codec="libx265", pix_fmt="yuv420p10le", audio_codec="ac3")),
    "VP9 + Opus (WebM)": ("vp9.webm", dict(video_codec="libvpx-vp9", audio_codec="libopus")),
    "AV1 + Opus (MKV)": ("av1.mkv", dict(video_codec="libsvtav1", audio_codec="libopus")),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=30, help="length of each film")
    parser.add_argument("--height", type=int, default=720, help="picture height (16:9)")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="haema-cost-")
    root = os.path.join(work, "media", "Movies")
    os.makedirs(root)
    width = args.height * 16 // 9 // 2 * 2
    print(f"encoding {len(FILMS)} films of {args.seconds} s at {width}x{args.height}, 24 fps ...", flush=True)
    for label, (name, options) in FILMS.items():
        make_clip(os.path.join(root, f"{name.split('.')[0]} (2020).{name.split('.')[1]}"), seconds=args.seconds,
                  width=width, height=args.height, fps=24, gop=48, **options)
    make_clip(os.path.join(root, "Warmup (2000).mp4"), seconds=2, width=192, height=108)
    server = Server(os.path.join(work, "media"), work, log=False)
    try:
        server.scan()
        server.wait_background()
        rows = measure(server, args.seconds)
    finally:
        server.stop()
    print(f"\nencoder CPU seconds per minute of playback ({width}x{args.height}, 24 fps, {os.cpu_count()} cores)")
    print(f"{'source':28} {'what the player took':44} {'CPU s/min':>9} {'vs transcode':>12}")
    for label, played, cpu, ratio in rows:
        print(f"{label:28} {played:44} {cpu:9.2f} {ratio:>12}")


def measure(server, seconds):
    ids = {show["info"]["title"].lower(): show["info"]["id"] for show in server.client.json("/api/v1/shows")}
    warm_up(server, [ids["warmup"], ids["h264"]])
    rows = []
    with launched(AUTOPLAY) as browser:
        for label, (name, _) in FILMS.items():
            video_id = ids[name.split(".")[0]]
            own, own_cpu = play(browser, server, video_id, hide_copy=False)
            forced, forced_cpu = play(browser, server, video_id, hide_copy=True)
            rows.append((label, f"Chromium: {own}", own_cpu / seconds * 60, f"{own_cpu / forced_cpu:.2f}x"))
            rows.append((label, f"Chromium, copy hidden: {forced}", forced_cpu / seconds * 60, "1.00x"))
            if "HEVC" in label:
                cpu = fetch_copy(server, video_id)
                rows.append((label, "a player decoding HEVC: original + audio", cpu / seconds * 60,
                             f"{cpu / forced_cpu:.2f}x"))
            print(f"{label}: {own_cpu / seconds * 60:.2f} CPU s/min as Chromium chose ({own}), "
                  f"{forced_cpu / seconds * 60:.2f} with the copy hidden ({forced})", flush=True)
    return rows


def warm_up(server, video_ids):
    """One copy segment of two films: each goes to its own encoder process."""
    for video_id in video_ids:
        base = f"/api/v1/video/{video_id}"
        server.client.get(f"{base}/original/stream.m3u8")
        server.client.get(f"{base}/original/0.ts")
    server.wait_idle()


def worker_cpu(server):
    return server.cpu_seconds(server.workers())


def play(browser, server, video_id, hide_copy):
    """Play the film to its end in the web player; ``(what played, encoder CPU s)``."""
    page = browser.new_page()
    base = f"http://127.0.0.1:{server.port}"
    if hide_copy:  # what a player that cannot decode the source's codec is offered
        def without_copy(route):
            lines = route.fetch().text().splitlines()
            kept = [line for i, line in enumerate(lines)
                    if not line.startswith("original/") and not (i + 1 < len(lines) and lines[i + 1].startswith("original/"))]
            route.fulfill(body="\n".join(kept) + "\n", content_type="application/vnd.apple.mpegurl")
        page.route("**/master.m3u8", without_copy)
    server.wait_idle()
    before = worker_cpu(server)
    page.goto(base + "/")
    page.goto(f"{base}/#/play/{video_id}?from=start")
    # functions, not bare expressions: the page's CSP forbids the eval those need
    page.wait_for_function("() => window.haemaPlayer && window.haemaPlayer.hls && window.haemaPlayer.video.currentTime > 0",
                           timeout=120_000)
    page.evaluate("window.haemaPlayer.video.playbackRate = 4")
    page.wait_for_function("() => window.haemaPlayer.video.ended", timeout=600_000)
    level = page.evaluate("(() => { const l = window.haemaPlayer.hls.levels[window.haemaPlayer.hls.currentLevel];"
                          " return `${l.uri.split('/').slice(-2)[0]} ${l.videoCodec.split('.')[0]}+${l.audioCodec}`; })()")
    page.close()
    server.wait_idle()
    return level, worker_cpu(server) - before


def fetch_copy(server, video_id):
    """Every segment of the copy variant and of the first audio rendition, in order."""
    base = f"http://127.0.0.1:{server.port}/api/v1/video/{video_id}"
    server.wait_idle()
    before = worker_cpu(server)
    for rendition in ("original", "audio_0"):
        playlist = urllib.request.urlopen(f"{base}/{rendition}/stream.m3u8").read().decode()
        urllib.request.urlopen(f"{base}/{rendition}/init.mp4").read()
        for line in playlist.splitlines():
            if line.endswith(".m4s"):
                urllib.request.urlopen(f"{base}/{rendition}/{line}").read()
    time.sleep(0.5)
    server.wait_idle()
    return worker_cpu(server) - before


if __name__ == "__main__":
    main()
