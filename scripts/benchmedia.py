"""Media for the benchmark, generated with PyAV: 1080p clips, long files by stream copy, a big library.

Encoding 1080p is the slow part (about 20 fps here), so each kind of clip is encoded
once, a few seconds long, and longer files are made by repeating its packets with
shifted timestamps (a remux, no encoding). The 90-minute feature takes seconds that way.
The 1,000-file library is hard links of a few tiny clips from ``harness/clips.py``.
"""
import fractions
import math
import os
import time

import av
import numpy

from harness.clips import make_clip

FPS = 24
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # in titles rather than numbers, which guessit reads as episodes
SAMPLE_RATE = 48000

ADJECTIVES = ("Silent", "Crimson", "Hidden", "Broken", "Golden", "Last", "Northern", "Wild", "Hollow", "Bright",
              "Distant", "Frozen", "Lonely", "Burning", "Secret", "Little", "Iron", "Velvet", "Electric", "Pale",
              "Ancient", "Restless", "Scarlet", "Quiet", "Savage", "Gentle", "Fallen", "Endless", "Wandering", "Shining",
              "Bitter", "Lucky", "Hungry", "Midnight", "Painted", "Sleeping", "Stolen", "Twisted", "Winter", "Paper")
NOUNS = ("River", "Empire", "Garden", "Station", "Harbor", "Kingdom", "Orchard", "Mirror", "Signal", "Frontier",
         "Lantern", "Valley", "Circus", "Island", "Machine", "Theatre", "Compass", "Forest", "Highway", "Tower",
         "Desert", "Engine", "Letter", "Moon", "Voyage")


# ---------------------------------------------------------------------------
# Clips


def encode_clip(path, seconds, width=1920, height=1080, gop=48, crf=20, audio=True, picture="grain"):
    """A moving picture, H.264 High with B-frames, AAC stereo.

    ``picture`` "grain": a panning textured scene with a little film grain (real motion
    for the encoder, and hard to compress, as grainy film is); "testsrc2": FFmpeg's
    standard test pattern, a clean picture that compresses well.
    """
    frames = int(round(seconds * FPS))
    pictures = _grain(width, height, frames) if picture == "grain" else _testsrc2(width, height, frames)
    out = av.open(str(path), "w")
    video = out.add_stream("libx264", rate=FPS)
    video.width, video.height, video.pix_fmt = width, height, "yuv420p"
    video.codec_context.time_base = fractions.Fraction(1, FPS)
    video.options = {"preset": "veryfast", "crf": str(crf), "g": str(gop), "bf": "2",
                     "x264-params": f"scenecut=0:keyint={gop}:min-keyint={gop}"}
    sound = None
    if audio:
        sound = out.add_stream("aac", rate=SAMPLE_RATE)
        sound.layout = "stereo"
    samples_done = 0
    total_samples = int(round(seconds * SAMPLE_RATE))
    for n, frame in enumerate(pictures):
        frame.pts = n
        frame.time_base = video.codec_context.time_base
        out.mux(video.encode(frame))
        if sound is not None:
            until = min(total_samples, int((n + 1) * SAMPLE_RATE / FPS))
            _write_tone(out, sound, samples_done, until)
            samples_done = until
    out.mux(video.encode(None))
    if sound is not None:
        out.mux(sound.encode(None))
    out.close()
    return path


def _grain(width, height, frames):
    """Frames made directly in yuv420p from a pre-computed texture, so the time goes
    into libx264 rather than into drawing."""
    rng = numpy.random.default_rng(7)
    pan_x, pan_y = 5, 3  # pixels per frame
    luma = _texture(rng, height + pan_y * frames + 2, width + pan_x * frames + 2)
    chroma_u = _texture(rng, height // 2 + pan_y * frames + 2, width // 2 + pan_x * frames + 2)
    chroma_v = _texture(rng, height // 2 + pan_y * frames + 2, width // 2 + pan_x * frames + 2)
    for n in range(frames):
        x, y = pan_x * n, pan_y * n
        half_x, half_y = x // 2, y // 2
        picture = numpy.concatenate([
            luma[y:y + height, x:x + width],
            chroma_u[half_y:half_y + height // 2, half_x:half_x + width // 2].reshape(height // 4, width),
            chroma_v[half_y:half_y + height // 2, half_x:half_x + width // 2].reshape(height // 4, width),
        ])
        _moving_box(picture, n, width, height)
        yield av.VideoFrame.from_ndarray(picture, format="yuv420p")


def _testsrc2(width, height, frames):
    graph = av.filter.Graph()
    source = graph.add("testsrc2", f"size={width}x{height}:rate={FPS}")
    convert = graph.add("format", "yuv420p")
    sink = graph.add("buffersink")
    source.link_to(convert)
    convert.link_to(sink)
    graph.configure()
    for _ in range(frames):
        frame = graph.pull()
        frame.pts = None
        yield frame


def _texture(rng, height, width):
    """Smooth random shapes, like a photographed scene rather than noise (noise would not compress)."""
    small = rng.integers(0, 256, (height // 16 + 2, width // 16 + 2), dtype=numpy.uint8)
    frame = av.VideoFrame.from_ndarray(small, format="gray")
    big = frame.reformat(width=(width + 1) // 2 * 2, height=(height + 1) // 2 * 2, interpolation="BICUBIC")
    detail = rng.integers(0, 6, big.to_ndarray().shape, dtype=numpy.uint8)  # film grain, a little
    return (big.to_ndarray()[:height, :width] // 8 * 7 + detail[:height, :width]).astype(numpy.uint8)


def _moving_box(picture, n, width, height):
    size = height // 6
    x = (n * 17) % (width - size)
    y = (n * 7) % (height - size)
    picture[y:y + size, x:x + size] = 235 if (n // 12) % 2 else 16


def _write_tone(out, stream, begin, end):
    if end <= begin:
        return
    t = numpy.arange(begin, end) / SAMPLE_RATE
    tone = (0.2 * numpy.sin(2 * math.pi * 440 * t)).astype(numpy.float32)
    frame = av.AudioFrame.from_ndarray(numpy.stack([tone, tone]), format="fltp", layout="stereo")
    frame.sample_rate = SAMPLE_RATE
    frame.pts = begin
    frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
    out.mux(stream.encode(frame))


# ---------------------------------------------------------------------------
# Long files by stream copy


def repeat(source, target, copies):
    """``source`` played ``copies`` times in a row, as one file (MP4 or MKV by the extension).

    Every packet is copied with its timestamps shifted by a whole clip length per copy.
    Audio packets that would overlap the next copy's first one are dropped, so timestamps
    only grow.
    """
    with av.open(str(source)) as inp:
        streams = [s for s in inp.streams if s.type in ("video", "audio")]
        length = {s.index: _length(inp, s) for s in streams}
        packets = [p for p in inp.demux(streams) if p.dts is not None]
        out = av.open(str(target), "w")
        outs = {s.index: out.add_stream_from_template(s) for s in streams}
        last_dts = {}
        for copy in range(copies):
            for packet in packets:
                index = packet.stream.index
                shift = copy * length[index]
                dts = packet.dts + shift
                if dts <= last_dts.get(index, -math.inf):
                    continue
                last_dts[index] = dts
                clone = av.Packet(bytes(packet))
                clone.pts = packet.pts + shift
                clone.dts = dts
                clone.duration = packet.duration
                clone.is_keyframe = packet.is_keyframe
                clone.time_base = packet.time_base
                clone.stream = outs[index]
                out.mux(clone)
        out.close()
    return target


def _length(container, stream):
    """The clip's length in ``stream``'s time base: a whole number of video frames."""
    seconds = container.duration / av.time_base
    if stream.type == "video":
        frames = round(seconds * FPS)
        return round(fractions.Fraction(frames, FPS) / stream.time_base)
    video = container.streams.video[0]
    return round(fractions.Fraction(_length(container, video)) * video.time_base / stream.time_base)


# ---------------------------------------------------------------------------
# The library


def title(number):
    """A distinct two-word title per number, so search terms match a realistic handful of shows."""
    adjective = ADJECTIVES[number % len(ADJECTIVES)]
    noun = NOUNS[(number // len(ADJECTIVES)) % len(NOUNS)]
    round_ = number // (len(ADJECTIVES) * len(NOUNS))
    return f"The {adjective} {noun}" + (f" {round_ + 1}" if round_ else "")


def build_library(root, work, files, *, size, clip_seconds, copies, long_gop_seconds, feature_copies, extra, reps,
                  players, log=print):
    """Make the whole library under ``root`` (scratch files in ``work``); returns paths and facts.

    Layout: ``Bench …`` movies, hard links of the playback file with one purpose each (a
    video nobody has played yet is a cold start), then movies and single-episode series
    of tiny clips, hard-linked, up to ``files`` files and as many shows.
    """
    os.makedirs(work, exist_ok=True)
    width, height = size
    started = time.monotonic()

    def step(what):
        log(f"  media: {what} ({time.monotonic() - started:.0f} s)")

    gop = min(10, long_gop_seconds)
    normal = encode_clip(os.path.join(work, "normal.mp4"), clip_seconds, width, height, gop=2 * FPS)
    step(f"{clip_seconds:g} s {height}p clip, 2 s GOP")
    long_gop = encode_clip(os.path.join(work, "longgop.mp4"), long_gop_seconds, width, height, gop=gop * FPS)
    step(f"{long_gop_seconds:g} s {height}p clip, {gop} s GOP")
    testsrc2 = encode_clip(os.path.join(work, "testsrc2.mp4"), clip_seconds, width, height, gop=2 * FPS,
                           picture="testsrc2")
    step(f"{clip_seconds:g} s {height}p clip of FFmpeg's test pattern, 2 s GOP")
    feature_clip = encode_clip(os.path.join(work, "feature.mp4"), 4, width, height, gop=2 * FPS, crf=28)
    step("4 s feature clip (CRF 28)")
    playback = repeat(normal, os.path.join(work, "playback.mp4"), copies)
    longgop_file = repeat(long_gop, os.path.join(work, "playback-longgop.mp4"),
                          max(2, round(copies * clip_seconds / long_gop_seconds)))
    testsrc2_file = repeat(testsrc2, os.path.join(work, "playback-testsrc2.mp4"), copies)
    step("playback files")
    feature_mp4 = repeat(feature_clip, os.path.join(work, "feature-long.mp4"), feature_copies)
    feature_mkv = repeat(feature_clip, os.path.join(work, "feature-long.mkv"), feature_copies)
    step(f"{feature_copies * 4 / 60:g}-minute MP4 and MKV")

    def place(relpath, source):
        path = os.path.join(root, relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.link(source, path)
        return relpath

    def movie(name, source, ext=".mp4"):
        return place(f"Movies/Bench {name} (2024)/Bench {name} (2024){ext}", source)

    media = {
        "longgop": movie("Long GOP", longgop_file),
        "sequential longgop": movie("Sequential Long GOP", longgop_file),
        "sequential testsrc2": movie("Sequential Test Pattern", testsrc2_file),
        "feature_mp4": movie("Feature MP4", feature_mp4),
        "feature_mkv": movie("Feature MKV", feature_mkv, ".mkv"),
        "players": [movie(f"Player {letter}", playback) for letter in LETTERS[:players]],
        "sources": {"playback": playback, "longgop": longgop_file, "testsrc2": testsrc2_file},
        "feature_sources": {"mp4": feature_mp4, "mkv": feature_mkv},
        "facts": {"size": f"{width}x{height}", "fps": FPS, "clip_seconds": clip_seconds,
                  "playback_seconds": copies * clip_seconds, "long_gop_seconds": gop,
                  "long_gop_file_seconds": max(2, round(copies * clip_seconds / long_gop_seconds)) * long_gop_seconds,
                  "feature_minutes": feature_copies * 4 / 60,
                  "playback_mbps": round(os.path.getsize(playback) * 8 / (copies * clip_seconds) / 1e6, 2),
                  "feature_mbps": round(os.path.getsize(feature_mp4) * 8 / (feature_copies * 4) / 1e6, 2)},
    }
    for purpose in extra:
        label = purpose.title()
        media[purpose] = [movie(f"{label} {letter}", playback) for letter in LETTERS[:reps]] \
            if purpose.startswith("first") else movie(label, playback)

    tiny = []
    for n, (ext, options) in enumerate([(".mp4", {}), (".mkv", {}), (".mkv", {"audio_codec": "ac3"})]):
        path = os.path.join(work, f"tiny{n}{ext}")
        make_clip(path, seconds=2.0, width=320, height=180, gop=24, **options)
        tiny.append((path, ext))
    bench_files = sum(len(v) if isinstance(v, list) else 1 for k, v in media.items() if k not in (
        "sources", "feature_sources", "facts"))
    for number in range(max(0, files - bench_files)):
        source, ext = tiny[number % len(tiny)]
        name = title(number)
        year = 1950 + number % 70
        if number % 2:
            place(f"Shows/{name} ({year})/Season 01/{name} - S01E01 - Pilot{ext}", source)
        else:
            place(f"Movies/{name} ({year})/{name} ({year}){ext}", source)
    media["files"] = max(files, bench_files)
    media["facts"]["library_files"] = media["files"]
    step(f"{media['files']} library files")
    return media
