"""What accounts cost per request: a cached segment fetched with accounts off (the baseline,
measured in the same run), from a signed URL, with a bearer token and with the cookie;
and one scrypt password hash, the price of every sign-in.

    python scripts/bench_auth.py [--requests 500]

Requests go straight into the WSGI app (webtest), so the figures are Haema's own work,
without sockets. Printed as ratios against the baseline: the machine's speed cancels out.
"""
import argparse
import os
import statistics
import tempfile
import time

import webtest

from haema import accounts, models
from haema.config import Config
from haema.web import create_app
from harness.clips import make_clip

ORIGIN = {"Origin": "http://localhost:80"}


def app_over(root, work, auth):
    """An app on ``work``'s one database (peewee's is process-wide, and video ids are keyed
    by a secret kept in it), with a cache of its own."""
    config = Config(target_path=root, db=os.path.join(work, "haema.db"), cache_path=os.path.join(work, f"cache-{auth}"),
                    workers=1, prefetch=0, scan_on_start=False, auth=auth)
    app = create_app(config)
    app.config["haema.library"].background()
    return app


def interleaved(cases, count):
    """Median seconds per request of each case ``(client, url, headers)``, in rounds of 50 that take
    turns, so a machine that gets busier mid-run slows every case alike."""
    rounds = {name: [] for name in cases}
    for _ in range(max(1, count // 50)):
        for name, (client, url, headers) in cases.items():
            started = time.perf_counter()
            for _ in range(50):
                client.get(url, headers=headers)
            rounds[name].append((time.perf_counter() - started) / 50)
    return {name: statistics.median(times) for name, times in rounds.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        root = os.path.join(work, "media", "Movies")
        os.makedirs(root)
        make_clip(os.path.join(root, "Heat (1995).mp4"), seconds=4, width=320, height=180, gop=48)
        media = os.path.dirname(root)

        off = app_over(media, work, auth=False)
        client = webtest.TestApp(off)
        [show] = client.get("/api/v1/shows").json
        video = show["info"]["id"]
        segment = f"/api/v1/video/{video}/original/0.ts"
        client.get(segment)  # made once, then from the cache

        on = app_over(media, work, auth=True)
        with models.database.connection_context():
            accounts.add_user("ada", "ada's long secret", admin=True)
        browser = webtest.TestApp(on)
        token = browser.post_json("/api/v1/auth/login", {"username": "ada", "password": "ada's long secret"},
                                  headers=ORIGIN).json["token"]
        signed = segment + "?" + browser.get(f"/api/v1/video/{video}").json["master"].split("?")[1]
        player = webtest.TestApp(on)
        player.get(signed)
        figures = interleaved({
            "accounts off": (client, segment, {}),
            "signed URL": (player, signed, {}),
            "bearer token": (player, segment, {"Authorization": f"Bearer {token}"}),
            "session cookie": (browser, segment, {}),
        }, args.requests)
        off.close()
        on.close()

        started = time.perf_counter()
        for _ in range(5):
            accounts.hash_password("correct horse battery staple")
        scrypt = (time.perf_counter() - started) / 5

    baseline = figures.pop("accounts off")
    print(f"cached segment, accounts off (baseline): {baseline * 1e3:.2f} ms per request")
    for name, seconds in figures.items():
        print(f"cached segment, {name}: {seconds * 1e3:.2f} ms, {seconds / baseline:.2f} x the baseline")
    print(f"one scrypt hash (n={accounts.SCRYPT['n']}, r={accounts.SCRYPT['r']}): {scrypt * 1e3:.0f} ms, "
          f"{scrypt / baseline:.0f} x a cached segment")


if __name__ == "__main__":
    main()
