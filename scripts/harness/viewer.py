"""Haema over HTTP as a player sees it: one keep-alive connection, the master and media
playlists, segments fetched and timed."""
import http.client
import json
import re
import time


class Client:
    """One keep-alive connection, like one player; ``get`` returns (status, body, seconds)."""

    def __init__(self, port, timeout=300):
        self.port, self.timeout = port, timeout
        self.connection = None

    def get(self, path, method="GET"):
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            started = time.perf_counter()
            try:
                self.connection.request(method, path)
                response = self.connection.getresponse()
                body = response.read()
                return response.status, body, time.perf_counter() - started
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise

    def json(self, path, method="GET"):
        status, body, _ = self.get(path, method)
        if status >= 400:
            raise RuntimeError(f"{method} {path} → {status}: {body[:200]!r}")
        return json.loads(body)

    def ok(self, path):
        status, body, seconds = self.get(path)
        if status != 200:
            raise RuntimeError(f"GET {path} → {status}: {body[:300]!r}")
        return body, seconds

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class Stream:
    """A video's variant as a player sees it: segment URLs and their times.

    If the master playlist has separate audio renditions, ``audio`` is the default one,
    and ``fetch`` gets the audio segments of the same time along with each video segment.
    """

    def __init__(self, client, base, audio=None):
        self.base = base
        text = client.ok(f"{base}/stream.m3u8")[0].decode()
        self.durations = [float(m) for m in re.findall(r"#EXTINF:([0-9.]+)", text)]
        self.starts = [sum(self.durations[:i]) for i in range(len(self.durations))]
        self.uris = [line for line in text.splitlines() if line and not line.startswith("#")]
        self.audio = audio
        self.audio_done = set()

    def url(self, index):
        uri = self.uris[index]
        return uri if uri.startswith("/") else f"{self.base}/{uri}"

    def fetch(self, client, index, again=False):
        """GET segment ``index`` (and its audio); returns the seconds it took. ``again``
        fetches audio segments already fetched with an earlier video segment as well."""
        seconds = client.ok(self.url(index))[1]
        if self.audio is not None:
            start, end = self.starts[index], self.starts[index] + self.durations[index]
            for i, (a_start, a_length) in enumerate(zip(self.audio.starts, self.audio.durations)):
                if a_start < end and a_start + a_length > start and (again or i not in self.audio_done):
                    seconds += client.ok(self.audio.url(i))[1]
                    self.audio_done.add(i)
        return seconds

    @property
    def duration(self):
        return sum(self.durations)

    def __len__(self):
        return len(self.durations)


def open_video(client, video_id, variant):
    """master → media playlist(s), as a player starts; returns (Stream, seconds)."""
    started = time.perf_counter()
    base = f"/api/v1/video/{video_id}"
    master = client.ok(f"{base}/master.m3u8")[0].decode()
    names = [line.split("/")[0] for line in master.splitlines() if line and not line.startswith("#")]
    if variant not in names:
        raise RuntimeError(f"variant {variant} not in the master playlist ({names})")
    audio = None
    renditions = [line for line in master.splitlines() if line.startswith("#EXT-X-MEDIA:TYPE=AUDIO") and "URI=" in line]
    if renditions:
        chosen = next((r for r in renditions if "DEFAULT=YES" in r), renditions[0])
        uri = re.search(r'URI="([^"]+)"', chosen).group(1)
        audio = Stream(client, f"{base}/{uri.rsplit('/', 1)[0]}")
    stream = Stream(client, f"{base}/{variant}", audio)
    return stream, time.perf_counter() - started
