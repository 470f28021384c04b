"""Simulated players: each fetches a video's segments as hls.js does and plays them at 1x."""
import threading
import time

from .viewer import Client, open_video

BUFFER_GOAL = 30.0  # seconds a player buffers ahead (hls.js maxBufferLength)


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
    buffered = 0.0  # media seconds received
    position = 0.0  # the playhead
    clock = None  # wall time the playhead was last advanced
    for index in range(len(stream)):
        if time.monotonic() >= deadline:
            return False
        if clock is not None:
            ahead = buffered - (position + time.monotonic() - clock)
            if ahead > BUFFER_GOAL:
                time.sleep(ahead - BUFFER_GOAL)
        greedy = clock is None or buffered - (position + time.monotonic() - clock) < BUFFER_GOAL
        seconds = stream.fetch(client, index)
        now = time.monotonic()
        if greedy:
            run.greedy_media += stream.durations[index]
            run.greedy_wall += seconds
        if clock is None:
            clock = now  # playback starts with the first segment
        else:
            position += now - clock
            clock = now
            if position > buffered:  # the playhead ran out of video while waiting
                run.stalls += 1
                run.stall_seconds += position - buffered
                position = buffered
        buffered += stream.durations[index]
    return True
