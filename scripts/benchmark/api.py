"""The JSON API under load: 50 clients while a transcode runs."""
import random
import statistics
import threading
import time
import urllib.parse

import benchmedia
from harness.viewer import Client, open_video

from .figures import percentile


def api(bench):
    queries = [w.lower() for w in benchmedia.ADJECTIVES + benchmedia.NOUNS] + ["the s", "ri", "zzz", "é"]
    alone = {"shows": [], "search": []}
    for n in range(20):
        alone["shows"].append(bench.client.get("/api/v1/shows")[2])
        alone["search"].append(bench.client.get(f"/api/v1/shows?search={urllib.parse.quote(queries[n])}")[2])
    bench.results.set("api_shows_alone", 1000 * statistics.median(alone["shows"]))
    bench.results.set("api_search_alone", 1000 * statistics.median(alone["search"]))
    shows = bench.client.json("/api/v1/shows")

    halt = threading.Event()
    transcoding = threading.Thread(target=_transcode_loop, args=(bench, halt), daemon=True)
    transcoding.start()
    time.sleep(0.5)  # the transcode is under way before the load starts
    latencies = {"shows": [], "search": []}
    errors = []
    end = time.monotonic() + bench.p["api_seconds"]

    def client_loop(number):
        client = Client(bench.server.port)
        rng = random.Random(number)
        try:
            while time.monotonic() < end:
                kind = "search" if rng.random() < 0.5 else "shows"
                path = "/api/v1/shows" if kind == "shows" else \
                    f"/api/v1/shows?search={urllib.parse.quote(rng.choice(queries))}"
                status, _, seconds = client.get(path)
                if status != 200:
                    errors.append(f"{path} → {status}")
                latencies[kind].append(seconds)
        except Exception as error:  # reported after the join
            errors.append(repr(error))
        finally:
            client.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    halt.set()
    transcoding.join()
    if errors:
        raise RuntimeError(f"API errors under load: {errors[:5]}")
    for kind in ("shows", "search"):
        values = sorted(latencies[kind])
        for q in (50, 95, 99):
            bench.results.set(f"api_{kind}_p{q}", 1000 * percentile(values, q),
                              f"{len(values)} requests, {len(shows)} shows" if q == 50 else None)
    bench.results.set("api_requests_per_s", sum(len(v) for v in latencies.values()) / wall)


def _transcode_loop(bench, halt):
    client = Client(bench.server.port)
    stream, _ = open_video(client, bench.id_of(bench.media["load"]), "720p_h264")
    index = 0
    while not halt.is_set():
        stream.fetch(client, index % len(stream))
        index += 1
    client.close()
