"""What this machine's codecs do alone: the floor under every transcode figure."""
import fractions
import os
import time

import av

import benchmedia


def codec_speed(bench):
    """What one process gets from the codecs on each picture: the floor under every transcode figure.

    The issue's reference for this machine class is about 380 fps decoding 1080p H.264 and
    250 fps encoding 720p; a harder picture (film grain, motion) costs more of both.
    Best of three, as these are rates of the machine, not of Haema."""
    rounds = bench.p["rounds"]
    for source, suffix in (("playback", ""), ("testsrc2", "_testsrc2")):
        decoded, encoded = [], []
        for _ in range(rounds):
            frames, fps = _decode_rate(bench.media["sources"][source])
            decoded.append(fps)
            small = [frame.reformat(width=1280, height=720) for frame in frames]
            del frames
            fps, bitrate = _encode_rate(bench, small)
            encoded.append(fps)
        bench.results.set("machine_decode_1080p" + suffix, max(decoded), f"{len(small)} frames, best of {rounds}")
        bench.results.set("machine_encode_720p" + suffix, max(encoded),
                          f"CRF 23, {bitrate:.1f} Mbit/s, best of {rounds}")


def _decode_rate(path):
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        started = time.perf_counter()
        frames = [frame for frame, _ in zip(container.decode(stream), range(8 * benchmedia.FPS))]
        return frames, len(frames) / (time.perf_counter() - started)


def _encode_rate(bench, frames):
    target = os.path.join(bench.work, "machine.ts")
    with av.open(target, "w", format="mpegts") as out:
        encoder = out.add_stream("libx264", rate=benchmedia.FPS)
        encoder.width, encoder.height, encoder.pix_fmt = 1280, 720, "yuv420p"
        encoder.options = {"preset": "veryfast", "crf": "23"}
        started = time.perf_counter()
        for number, frame in enumerate(frames):
            frame.pts, frame.time_base = number, fractions.Fraction(1, benchmedia.FPS)
            out.mux(encoder.encode(frame))
        out.mux(encoder.encode(None))
        seconds = time.perf_counter() - started
    bitrate = os.path.getsize(target) * 8 * benchmedia.FPS / len(frames) / 1e6
    os.remove(target)
    return len(frames) / seconds, bitrate
