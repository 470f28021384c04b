"""Scale-out with real processes: PostgreSQL, nginx (conf/nginx.conf) and two Haema nodes.

A player goes through nginx only. The node serving its video is killed with SIGKILL
mid-playback; the other node must make the rest, and the same bytes.
"""
import json
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from haema import signing
from harness import cluster

from harness.clips import make_clip
from harness.server import add_user


def _requirements():
    bin_dir, reason = cluster.postgres_binaries()
    if bin_dir is None:
        return reason
    if not shutil.which("nginx"):
        return "nginx is not installed (apt-get install nginx)"
    return None


pytestmark = pytest.mark.skipif(_requirements() is not None, reason=str(_requirements()))


def get(url):
    """``(status, headers, body)``; an HTTP error status is returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def send(url, method, payload):
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def _video_id(proxy):
    status, _, body = get(proxy.url + "/api/v1/shows")
    return json.loads(body)[0]["info"]["id"]


def playlist_uris(url):
    status, _, body = get(url)
    assert status == 200, url
    return [urllib.parse.urljoin(url, line) for line in body.decode().splitlines() if line and line[0] != "#"]


@pytest.fixture(scope="module")
def running_cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster") / "media"
    (root / "Movies").mkdir(parents=True)
    # MPEG-4 part 2 cannot be copied: every segment is a real H.264 encode
    make_clip(root / "Movies" / "Relay (2020).avi", seconds=10, width=160, height=96, gop=24, bframes=0,
              video_codec="mpeg4", audio_codec="libmp3lame")
    with cluster.cluster(root, nodes=2, workers=1, durable=False, extra=("--auth", "false")) as parts:
        yield parts


def test_progress_saved_through_one_node_is_read_through_another(running_cluster):
    """(Runs first: the next test kills a node.)"""
    postgres, (one, two), proxy = running_cluster
    video_id = _video_id(proxy)
    saved = send(f"{one.url}/api/v1/video/{video_id}/progress", "PUT", {"position": 3.25})
    status, _, body = get(f"{two.url}/api/v1/video/{video_id}/progress")
    assert (status, json.loads(body)) == (200, saved)


def test_each_node_makes_thumbnails_for_its_own_cache(running_cluster):
    """The film has no poster: the scanning node made a frame thumbnail in its cache, and
    the other node, whose pass found the index up to date, made its own."""
    postgres, nodes, proxy = running_cluster
    video_id = _video_id(proxy)
    answers = [get(f"{node.url}/api/v1/shows/{video_id}/thumbnail") for node in nodes]
    assert [status for status, _, _ in answers] == [200, 200]
    assert answers[0][2][:2] == answers[1][2][:2] == b"\xff\xd8"  # JPEG


def test_playback_survives_the_death_of_its_node(running_cluster):
    postgres, nodes, proxy = running_cluster
    video_id = _video_id(proxy)
    variants = playlist_uris(f"{proxy.url}/api/v1/video/{video_id}/master.m3u8")
    segments = playlist_uris(next(v for v in variants if "h264" in v))
    assert len(segments) >= 4

    played, failed = {}, []

    def play(uris):
        for uri in uris:
            status, _, body = get(uri)
            if status != 200:
                failed.append((uri, status))
            played[uri] = body

    half = len(segments) // 2
    play(segments[:half])
    paths = {urllib.parse.urlsplit(uri).path: uri for uri in segments}
    first = {upstream for _, uri, _, upstream, _ in proxy.served() if uri in paths}
    assert len(first) == 1, first  # one node serves the video's segments
    serving = next(node for node in nodes if node.address in first)
    other = next(node for node in nodes if node is not serving)

    serving.kill()
    play(segments[half:])
    assert failed == []
    after = [upstream for _, uri, _, upstream, _ in proxy.served()
             if uri in {urllib.parse.urlsplit(u).path for u in segments[half:]}]
    assert after and all(upstream.split(", ")[-1] == other.address for upstream in after)

    # the other node makes the first half too, fresh in its own cache: the same bytes
    for uri in segments[:half]:
        path = urllib.parse.urlsplit(uri).path
        status, _, body = get(other.url + path)
        assert status == 200 and body == played[uri], path
    # and nginx answers a segment it has seen from its cache, whichever node is gone
    status, headers, body = get(segments[0])
    assert (status, headers["X-Cache-Status"], body) == (200, "HIT", played[segments[0]])


# -- With accounts: nginx's cache checks every request ----------------------------------

VIEWER = ("ada", "ada's long secret")


@pytest.fixture(scope="module")
def cluster_with_accounts(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster-accounts") / "media"
    (root / "Movies").mkdir(parents=True)
    make_clip(root / "Movies" / "Heat (1995).mp4", seconds=4, width=160, height=96, gop=12)
    with cluster.cluster(root, nodes=2, workers=1, durable=False) as parts:
        postgres, _, _ = parts
        add_user(str(tmp_path_factory.mktemp("cluster-users")), *VIEWER, admin=True, db=postgres.url("haema"))
        yield parts


def _signed_in(url, credentials):
    request = urllib.request.Request(url + "/api/v1/auth/login", method="POST", headers={"Content-Type": "application/json"},
                                     data=json.dumps({"username": credentials[0], "password": credentials[1]}).encode())
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["token"]


def _get_as(url, token=None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def _signing_key(postgres):
    import psycopg

    with psycopg.connect(postgres.url("haema")) as connection:
        [value] = connection.execute("SELECT value FROM secret WHERE name = %s", (signing.KEY_NAME,)).fetchone()
    return bytes.fromhex(value)


def test_a_cached_segment_goes_only_to_those_who_may_have_it(cluster_with_accounts):
    """Once a viewer has had a segment, nginx holds it under its path alone. The same path
    without credentials, with a forged signature or with an expired one must still be
    refused: nginx asks Haema (auth_request) before it answers from its cache."""
    postgres, _, proxy = cluster_with_accounts
    token = _signed_in(proxy.url, VIEWER)
    [show] = json.loads(_get_as(proxy.url + "/api/v1/shows", token)[2])
    video_id = show["info"]["id"]
    master = json.loads(_get_as(f"{proxy.url}/api/v1/video/{video_id}", token)[2])["master"]
    path, query = master.split("?")
    segment = f"{proxy.url}{path.rsplit('/', 1)[0]}/original/0.ts"

    status, headers, first = _get_as(f"{segment}?{query}")
    assert (status, headers["X-Cache-Status"]) == (200, "MISS") and first[0] == 0x47
    status, headers, again = _get_as(f"{segment}?{query}")
    assert (status, headers["X-Cache-Status"], again) == (200, "HIT", first)
    status, headers, again = _get_as(segment, token)  # the session's bearer token: the cached copy too
    assert (status, headers["X-Cache-Status"], again) == (200, "HIT", first)

    grant = dict(urllib.parse.parse_qsl(query))
    forged = urllib.parse.urlencode(dict(grant, sig="A" * len(grant["sig"])))
    expired = signing.Signer(_signing_key(postgres), clock=lambda: time.time() - 2 * signing.VALID_FOR)
    for refused, expected in ((segment, 401), (f"{segment}?{forged}", 403),
                              (f"{segment}?{expired.query(video_id, int(grant['u']))}", 403),
                              (f"{segment}?{query}".replace(video_id, "0" * 16), 403)):
        status, _, body = _get_as(refused)
        assert status == expected and body[:1] != b"\x47", refused
    # asked twice (the second from nginx's short-lived record of the check): still refused
    assert _get_as(segment)[0] == 401
    assert _get_as(segment, "not-a-token")[0] == 401
