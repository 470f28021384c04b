"""Small real media files for tests, encoded with PyAV.

Each clip has moving content (so encoders make real P/B-frames), a frame counter baked
into its timestamps, and optional audio, so tests can check frame-exact cutting.
"""
import fractions
import math

import av
import numpy


def make_clip(path, seconds=4.0, width=320, height=240, fps=24, gop=24, bframes=2, video_codec="libx264",
              pix_fmt="yuv420p", audio_codec="aac", audio_tracks=1, sample_rate=48000, start=0.0,
              vfr=False, container_format=None, rotation=0, interlaced=False, options=None,
              container_options=None, audio_gap=None, audio_layout="stereo"):
    """Encode a clip; returns the number of video frames written.

    ``audio_gap`` (start, end) in seconds: audio packets there are left out, a hole in the
    audio as a damaged recording has."""
    out = av.open(str(path), "w", format=container_format, options=container_options or {})
    video = out.add_stream(video_codec, rate=fps)
    video.width, video.height, video.pix_fmt = width, height, pix_fmt
    video.codec_context.time_base = fractions.Fraction(1, fps)
    opts = {"g": str(gop), "bf": str(bframes)}
    if video_codec == "libx264":
        opts.update({"preset": "ultrafast" if not bframes else "veryfast", "x264-params": "scenecut=0"})
    if video_codec == "libx265":
        opts = {"preset": "ultrafast", "x265-params": f"keyint={gop}:min-keyint={gop}:bframes={bframes}:log-level=error"}
    if video_codec == "libvpx-vp9":
        opts = {"g": str(gop), "deadline": "realtime", "cpu-used": "8"}
    if interlaced:  # interlaced DCT and motion estimation mark the frames interlaced
        opts["flags"] = "+ildct+ilme"
    opts.update(options or {})
    video.options = opts
    if rotation:
        video.set_display_rotation(rotation) if hasattr(video, "set_display_rotation") else None
    audios = []
    for track in range(audio_tracks if audio_codec else 0):
        audio = out.add_stream(audio_codec, rate=sample_rate)
        audio.layout = audio_layout
        audio.metadata["language"] = ["eng", "fra", "deu"][track % 3]
        audios.append(audio)

    frames = int(round(seconds * fps))
    # VFR as phones record it: the stream states its nominal rate, while frame durations
    # jitter between 0.8x and 1.2x of it (times in tenths of a frame); "phone" is one in
    # dim light: irregular, often 1.5x, two frames dropped, drifting off the grid
    durations = (10, 9, 15, 10, 20, 8, 12, 9, 15, 11, 10, 20, 8, 10, 13, 11, 14) if vfr == "phone" else (8, 12, 10)
    jitter = [0]
    for n in range(frames):
        jitter.append(jitter[-1] + durations[n % len(durations)])
    # the audio lasts as long as the video really does
    samples = int(jitter[frames] / (10 * fps) * sample_rate) if vfr else int(seconds * sample_rate)
    audio_done = 0
    for n in range(frames):
        image = _picture(n, width, height)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format=pix_fmt)
        frame.pts = n + int(round(start * fps))
        frame.time_base = video.codec_context.time_base
        packets = video.encode(frame)
        if vfr:
            _retime(packets, jitter, fps)
        out.mux(packets)
        # audio up to this video time, so the file is interleaved as real files are
        until = min(samples, int((jitter[n + 1] / 10 if vfr else n + 1) / fps * sample_rate))
        for audio_index, audio in enumerate(audios):
            _write_audio(out, audio, audio_index, audio_done, until, sample_rate, start, audio_gap)
        audio_done = until
    packets = video.encode(None)
    if vfr:
        _retime(packets, jitter, fps)
    out.mux(packets)
    for audio_index, audio in enumerate(audios):
        _write_audio(out, audio, audio_index, audio_done, samples, sample_rate, start, audio_gap)
        out.mux(audio.encode(None))
    out.close()
    return frames


def _retime(packets, jitter, fps):
    """Move encoded frames to jittered times (decode times before the first frame, which
    B-frames give, keep the nominal spacing)."""
    for packet in packets:
        for name in ("pts", "dts"):
            frame_number = getattr(packet, name)
            setattr(packet, name, jitter[frame_number] if frame_number >= 0 else frame_number * 10)
        packet.time_base = fractions.Fraction(1, fps * 10)
        packet.duration = 10


def _write_audio(out, audio, track, begin, end, sample_rate, start, gap=None):
    if end <= begin:
        return
    t = (numpy.arange(begin, end) / sample_rate).astype(numpy.float32)
    tone = 0.2 * numpy.sin(2 * math.pi * (440 + 110 * track) * t).astype(numpy.float32)
    channels = numpy.stack([tone] * audio.layout.nb_channels)
    frame = av.AudioFrame.from_ndarray(_audio_layout(channels, audio), format=audio.format.name,
                                       layout=audio.layout.name)
    frame.sample_rate = sample_rate
    frame.pts = begin + int(round(start * sample_rate))
    frame.time_base = fractions.Fraction(1, sample_rate)
    packets = audio.encode(frame)
    if gap:
        packets = [p for p in packets if not gap[0] <= p.pts * p.time_base - start < gap[1]]
    out.mux(packets)


def _audio_layout(data, stream):
    dtype = _dtype(stream.format.name)
    if numpy.issubdtype(dtype, numpy.integer):
        data = data * numpy.iinfo(dtype).max
    if stream.format.is_planar:
        return numpy.ascontiguousarray(data.astype(dtype))
    return numpy.ascontiguousarray(data.T.reshape(1, -1).astype(dtype))


def _dtype(sample_format):
    return {"flt": numpy.float32, "fltp": numpy.float32, "s16": numpy.int16, "s16p": numpy.int16,
            "s32": numpy.int32, "s32p": numpy.int32, "dbl": numpy.float64}[sample_format]


def _picture(n, width, height):
    x = numpy.arange(width, dtype=numpy.int32)
    y = numpy.arange(height, dtype=numpy.int32)[:, None]
    image = numpy.empty((height, width, 3), dtype=numpy.uint8)
    image[..., 0] = (x + 4 * n) % 256
    image[..., 1] = (y + 2 * n) % 256
    image[..., 2] = ((x // 16 + y // 16 + n) % 2) * 255
    return image
