"""Simulated players: each fetches a video's segments as hls.js does and plays them at 1x.

``Playhead`` is the one model of a player's buffer the benchmark, the soak and the
scale-out benchmark share; ``run_players`` is the benchmark's team of players.
"""
import threading
import time

from .viewer import Client, open_video

BUFFER_GOAL = 30.0  # seconds a player buffers ahead (hls.js maxBufferLength)


class Playhead:
    """A player's buffer and playhead at 1x. Playback starts when the first segment
    arrives; a stall is the playhead reaching the end of what has arrived before the next
    segment did, and playback goes on from there once it comes."""

    def __init__(self, goal=BUFFER_GOAL):
        self.goal = goal
        self.buffered = 0.0  # media seconds received
        self.position = 0.0  # the playhead
        self.clock = None  # wall time the playhead was last advanced
        self.stalls, self.stalled = 0, 0.0

    def ahead(self):
        """Seconds buffered ahead of the playhead now (0 before playback starts)."""
        if self.clock is None:
            return 0.0
        return self.buffered - (self.position + time.monotonic() - self.clock)

    def wait_for_room(self, deadline=None):
        """Sleep while the buffer holds more than its goal, as hls.js stops fetching then."""
        ahead = self.ahead()
        if ahead > self.goal:
            time.sleep(ahead - self.goal if deadline is None else
                       max(0.0, min(ahead - self.goal, deadline - time.monotonic())))

    def received(self, duration):
        """A segment of ``duration`` arrived now; returns the seconds stalled waiting for it."""
        now = time.monotonic()
        stalled = 0.0
        if self.clock is not None:
            self.position += now - self.clock
            if self.position > self.buffered:  # the playhead ran out of video while waiting
                stalled = self.position - self.buffered
                self.stalls += 1
                self.stalled += stalled
                self.position = self.buffered
        self.clock = now
        self.buffered += duration
        return stalled


class PlayerRun:
    """One simulated hls.js player: fetch ahead while the buffer holds under 30 s, play at 1×.

    A stall is the playhead reaching the end of the buffer before the next segment came.
    """

    def __init__(self):
        self.stalls = 0
        self.stall_seconds = 0.0
        self.greedy_media = 0.0  # seconds of video fetched while the buffer was below its goal
        self.greedy_wall = 0.0

    def greedy_rate(self):
        return self.greedy_media / self.greedy_wall if self.greedy_wall else float("inf")


def run_players(port, video_ids, variant, seconds, loop):
    runs = [PlayerRun() for _ in video_ids]
    deadline = time.monotonic() + seconds
    errors = []

    def play(video_id, run):
        client = Client(port)
        try:
            while True:
                stream, _ = open_video(client, video_id, variant)
                played = _play(client, stream, run, deadline)
                if not loop or not played:
                    return
        except Exception as error:  # reported after the join
            errors.append(error)
        finally:
            client.close()

    threads = [threading.Thread(target=play, args=(v, r)) for v, r in zip(video_ids, runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return runs


def _play(client, stream, run, deadline):
    """Play ``stream`` once (or until ``deadline``); True if it reached the end."""
    playhead = Playhead()
    for index in range(len(stream)):
        if time.monotonic() >= deadline:
            return False
        playhead.wait_for_room()
        greedy = playhead.clock is None or playhead.ahead() < playhead.goal
        seconds = stream.fetch(client, index)
        if greedy:
            run.greedy_media += stream.durations[index]
            run.greedy_wall += seconds
        stalled = playhead.received(stream.durations[index])
        if stalled:
            run.stalls += 1
            run.stall_seconds += stalled
    return True
