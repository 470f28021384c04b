"""What the Jellyfin API costs: ``Items`` (a page of a view: again, as a client paging or a home
screen asks, and right after a change to the library or history, when it is built anew) and
``PlaybackInfo`` with a library of 1,000 videos, as p50/p95 and as ratios against
``System/Info/Public`` measured in the same run; and a direct-play viewer's share of a core (the
server's CPU time to send a whole file by 1 MiB ranges, over the file's duration).

    python scripts/bench_jellyfin.py [--videos 1000] [--requests 200]

The videos are hard links to one small clip (the scan probes each, as it would real files).
Requests go straight into the WSGI app (webtest): Haema's own work, without sockets.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

import webtest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from haema import accounts, models  # noqa: E402  (the repo root is not on sys.path for a script)
from haema.config import Config  # noqa: E402
from haema.jellyfin import ids  # noqa: E402
from haema.web import create_app  # noqa: E402
from tests.clips import make_clip  # noqa: E402

PASSWORD = "bench's long secret"
PROFILE = {"DirectPlayProfiles": [{"Container": "mp4,m4v", "Type": "Video", "VideoCodec": "h264",
                                   "AudioCodec": "aac"}],
           "TranscodingProfiles": [{"Container": "ts", "Type": "Video", "Protocol": "hls", "VideoCodec": "h264",
                                    "AudioCodec": "aac"}]}


def library(root, videos):
    """Half movies, half episodes of shows with ten episodes each, all links to one clip."""
    clip = os.path.join(root, "clip.mp4")
    make_clip(clip, seconds=10, width=320, height=180, gop=48)
    for n in range(videos):
        if n % 2 == 0:
            path = os.path.join(root, "media", "Movies", f"Film {n:04d} ({1950 + n % 70}).mp4")
        else:
            show, episode = divmod(n // 2, 10)
            path = os.path.join(root, "media", "Shows", f"Show {show:03d}", "Season 01",
                                f"Show {show:03d} - S01E{episode + 1:02d}.mp4")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.link(clip, path)
    return os.path.join(root, "media")


def timed(client, cases, count):
    """Seconds per request of each case ``(method, url, body, headers, before)``, taking turns in
    rounds of 10; ``before``, if any, is called untimed before each request."""
    times = {name: [] for name in cases}
    for _ in range(max(1, count // 10)):
        for name, (method, url, body, headers, before) in cases.items():
            for _ in range(10):
                if before is not None:
                    before()
                started = time.perf_counter()
                if method == "POST":
                    client.post_json(url, body, headers=headers)
                else:
                    client.get(url, headers=headers)
                times[name].append(time.perf_counter() - started)
    return times


def p95(values):
    return statistics.quantiles(values, n=20)[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        media = library(work, args.videos)
        config = Config(target_path=media, db=os.path.join(work, "haema.db"), cache_path=os.path.join(work, "cache"),
                        workers=1, prefetch=0, scan_on_start=False, watch=False, auth=True)
        app = create_app(config)
        try:
            started = time.perf_counter()
            app.config["haema.library"].background()
            print(f"scanned {args.videos} videos in {time.perf_counter() - started:.1f} s")
            with models.database.connection_context():
                accounts.add_user("bench", PASSWORD, admin=True)
            client = webtest.TestApp(app)
            signed = client.post_json("/Users/AuthenticateByName", {"Username": "bench", "Pw": PASSWORD}).json
            token = signed["AccessToken"]
            headers = {"Authorization": f'MediaBrowser Client="bench", Device="bench", DeviceId="b", '
                                        f'Version="1", Token="{token}"'}
            page = client.get(f"/Items?ParentId={ids.MOVIES_VIEW}&IncludeItemTypes=Movie&Recursive=true"
                              "&SortBy=SortName&Limit=100", headers=headers).json
            movie = page["Items"][0]
            positions = iter(range(10 ** 9))

            def change():
                """A progress report: the library's generation moves on, so the next listing is built anew."""
                client.post_json("/Sessions/Playing/Progress", {"ItemId": page["Items"][1]["Id"],
                                                                "PositionTicks": 10 ** 7 + next(positions)},
                                 headers=headers)
            listing = (f"/Users/{signed['User']['Id']}/Items?ParentId={ids.MOVIES_VIEW}&IncludeItemTypes=Movie"
                       "&Recursive=true&SortBy=SortName,ProductionYear&StartIndex=0&Limit=100")
            cases = {
                "System/Info/Public": ("GET", "/System/Info/Public", None, {}, None),
                "Items (100 of a view)": ("GET", listing, None, headers, None),
                "Items, after a change": ("GET", listing, None, headers, change),
                "PlaybackInfo": ("POST", f"/Items/{movie['Id']}/PlaybackInfo", {"DeviceProfile": PROFILE}, headers,
                                 None),
            }
            times = timed(client, cases, args.requests)
            base = statistics.median(times["System/Info/Public"])
            print(f"{'request':24} {'p50 ms':>8} {'p95 ms':>8} {'p50 ×base':>10} {'p95 ×base':>10}")
            for name, values in times.items():
                print(f"{name:24} {statistics.median(values) * 1000:8.2f} {p95(values) * 1000:8.2f} "
                      f"{statistics.median(values) / base:10.1f} {p95(values) / base:10.1f}")

            # a direct-play viewer: the whole file by 1 MiB ranges, CPU time over the video's duration
            url = f"/Videos/{movie['Id']}/stream.mp4?Static=true&api_key={token}"
            size = len(client.get(url).body)
            cpu = time.process_time()
            for _ in range(20):
                for start in range(0, size, 1 << 20):
                    client.get(url, headers={"Range": f"bytes={start}-{min(size, start + (1 << 20)) - 1}"})
            spent = (time.process_time() - cpu) / 20
            seconds = movie["RunTimeTicks"] / 10 ** 7
            info_cpu = time.process_time()
            for _ in range(200):
                client.get("/System/Info/Public")
            per_info = (time.process_time() - info_cpu) / 200
            print(f"direct play: {spent / seconds * 100:.3f} % of a core per viewer "
                  f"({size / seconds * 8 / 1e6:.2f} Mb/s file; one viewer-second = "
                  f"{spent / seconds / per_info:.1f} × System/Info/Public)")
        finally:
            app.close()


if __name__ == "__main__":
    main()
