"""What the Jellyfin API costs: ``Items`` (a page of a view: again, as a client paging or a home
screen asks, and right after a change to the library or history, when it is built anew) and
``PlaybackInfo`` with a library of 1,000 videos, as p50/p95 and as ratios against
``System/Info/Public`` measured in the same run; and a direct-play viewer's share of a core (a
running server's CPU time to send a whole film, and by 1 MiB ranges, over the film's duration).

    python scripts/bench_jellyfin.py [--videos 1000] [--requests 200]

The videos are hard links to one small clip (the scan probes each, as it would real files).
Those requests go straight into the WSGI app (webtest): Haema's own work, without sockets. The
direct-play part runs the installed ``haema`` (harness/server.py), on Linux (/proc).
"""
import argparse
import http.client
import json
import os
import statistics
import tempfile
import time

import webtest

from haema import accounts, models
from haema.config import Config
from haema.jellyfin import ids
from haema.web import create_app
from harness.clips import make_clip
from harness.server import add_user, running_server

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

        finally:
            app.close()
        direct_play(work)


def server_cpu(pid):
    """``(user, system)`` CPU seconds the process ``pid`` has used (its own, not its encoders')."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / os.sysconf("SC_CLK_TCK"), int(fields[12]) / os.sysconf("SC_CLK_TCK")


def cpu_of(pid, work, times):
    """``(user, system)`` CPU seconds of ``pid`` per call of ``work``, over ``times`` calls."""
    before = server_cpu(pid)
    for _ in range(times):
        work()
    after = server_cpu(pid)
    return (after[0] - before[0]) / times, (after[1] - before[1]) / times


def direct_play(work, rounds=5):
    """A direct-play viewer on a running server (gevent, sendfile, real sockets): a 65 Mb/s film
    (a remux's rate) fetched whole, as a browser does, and by 1 MiB ranges, as some TVs do; the
    server's CPU time over the film's duration is the share of a core one viewer costs. Baseline
    in the same run: the server's CPU time for one System/Info/Public."""
    media, workdir = os.path.join(work, "served"), os.path.join(work, "server")
    os.makedirs(os.path.join(media, "Movies"))
    os.makedirs(workdir)
    seconds = 10
    make_clip(os.path.join(media, "Movies", "Remux (2020).mp4"), seconds=seconds, width=1280, height=720, gop=48,
              options={"qp": "0"})  # lossless: a remux's bitrate
    add_user(workdir, "bench", PASSWORD, admin=True)
    with running_server(media, workdir, user=("bench", PASSWORD)) as server:
        host, port = server.url.split("//")[1].split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=60)

        def fetch(path, headers=None):
            connection.request("GET", path, headers=dict(headers or {}, **{"X-Emby-Token": server.token}))
            response = connection.getresponse()
            body = response.read()
            assert response.status in (200, 206), (path, response.status)
            return body

        found = json.loads(fetch("/Items?Recursive=true&IncludeItemTypes=Movie"))["Items"][0]
        url = f"/Videos/{found['Id']}/stream.mp4?Static=true"
        size = len(fetch(url))
        ways = {"whole file": lambda: fetch(url),
                "1 MiB ranges": lambda: [fetch(url, {"Range": f"bytes={start}-{min(size, start + (1 << 20)) - 1}"})
                                         for start in range(0, size, 1 << 20)]}
        spent = {name: cpu_of(server.process.pid, way, rounds) for name, way in ways.items()}
        per_info = sum(cpu_of(server.process.pid, lambda: fetch("/System/Info/Public"), 1000))
        connection.close()
    rate = size * 8 / seconds / 1e6
    print(f"direct play of a {rate:.0f} Mb/s film on a running server, the server's CPU time over the film's "
          f"duration (Python's / the kernel's sending; clock {1000 / os.sysconf('SC_CLK_TCK'):.0f} ms):")
    for name, (user, system) in spent.items():
        print(f"  {name:14} {(user + system) / seconds * 100:6.3f} % of a core per viewer "
              f"({user / seconds * 100:.3f} + {system / seconds * 100:.3f}; "
              f"{(user + system) / seconds * 100 / rate:.4f} % per Mb/s; one viewer-second = "
              f"{(user + system) / seconds / per_info:.1f} x System/Info/Public)")


if __name__ == "__main__":
    main()
