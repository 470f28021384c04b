"""GStreamer's playbin3 (adaptivedemux2) on an HLS master URL: start, play to the end, switch, seek, end again.

Run by tests/test_players.py with Debian's python3, which has PyGObject (python3-gi) and
GStreamer's introspection data (gir1.2-gstreamer-1.0); the tests' own Python may lack
both. Sinks do not sync to the clock, so the video plays as fast as it is decoded.

usage: gst_player.py MASTER_URL SEEK_SECONDS FIRST_KBPS THEN_KBPS
Prints one JSON object: what the video sink saw in each phase, the video decoders that
played (which tell the codec: the sink sees only raw frames), and bus errors/warnings.

playbin3, not playbin: after a variant switch, the older hlsdemux behind playbin fetched
the new variant's next segment but showed none of its frames and ended the stream (seen
on GStreamer 1.22; not yet explained).

Switches go from a higher variant to a lower one. hlsdemux2 goes on after a switch with
the new variant's first segment that starts at or after the position, and ends the
stream where none does, while hls.js and Shaka load the segment holding the position.
Every boundary of a copy variant is one of the transcodes, not the other way round, so
only a switch down is sure to find its segment.
"""
import json
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

TIMEOUT = 60 * Gst.SECOND  # per phase: a transcoded segment is made on demand


class Run:
    def __init__(self, url, kbps):
        self.pipeline = Gst.ElementFactory.make("playbin3", "player")
        self.pipeline.set_property("uri", url)
        # the link speed adaptive demuxing picks its first variant by
        self.pipeline.set_property("connection-speed", kbps)
        video = Gst.ElementFactory.make("fakesink", "video")
        video.set_property("sync", False)
        video.set_property("signal-handoffs", True)
        video.connect("handoff", self.on_video)
        audio = Gst.ElementFactory.make("fakesink", "audio")
        audio.set_property("sync", False)
        self.pipeline.set_property("video-sink", video)
        self.pipeline.set_property("audio-sink", audio)
        self.pipeline.connect("deep-element-added", self.on_element)
        self.bus = self.pipeline.get_bus()
        self.phase = None
        self.errors, self.warnings = [], []
        self.phases = {}
        self.video_decoders = set()

    def on_element(self, pipeline, parent, element):
        factory = element.get_factory()
        if factory is not None and {"Decoder", "Video"} <= set(factory.get_metadata("klass").split("/")):
            self.video_decoders.add(factory.get_name())

    def on_video(self, sink, buffer, pad):
        seen = self.phases[self.phase]
        caps = pad.get_current_caps()
        if caps is not None:
            structure = caps.get_structure(0)
            seen["heights"].append(structure.get_value("height"))
        if buffer.pts != Gst.CLOCK_TIME_NONE:
            seconds = buffer.pts / Gst.SECOND
            seen["first"] = seconds if seen["first"] is None else seen["first"]
            seen["last"] = seconds
            seen["frames"] += 1

    def begin(self, phase):
        self.phase = phase
        self.phases[phase] = {"first": None, "last": None, "frames": 0, "heights": [], "eos": False}

    def wait(self, *types):
        """Bus messages until one of ``types``; errors end the wait, warnings are kept."""
        while True:
            message = self.bus.timed_pop_filtered(TIMEOUT, Gst.MessageType.ANY)
            if message is None:
                self.errors.append(f"{self.phase}: no {types} in {TIMEOUT // Gst.SECOND} s")
                return None
            if message.type == Gst.MessageType.ERROR:
                error, debug = message.parse_error()
                self.errors.append(f"{self.phase}: {error.message} ({debug})")
                return None
            if message.type == Gst.MessageType.WARNING:
                warning, debug = message.parse_warning()
                self.warnings.append(f"{self.phase}: {warning.message} ({debug})")
            if message.type in types:
                return message

    def play(self, seek_seconds, kbps):
        self.begin("start")
        self.pipeline.set_state(Gst.State.PAUSED)
        if self.wait(Gst.MessageType.ASYNC_DONE) is None:
            return
        self.begin("to_end")
        self.pipeline.set_state(Gst.State.PLAYING)
        if self.wait(Gst.MessageType.EOS) is None:
            return
        self.phases["to_end"]["eos"] = True
        # another link speed: adaptive demuxing moves to another variant at its next segment
        # (playbin passes its own setting on only to elements it creates)
        def slower(element):
            factory = element.get_factory()
            if factory is not None and factory.get_name().startswith("hlsdemux"):
                element.set_property("connection-speed", kbps)

        self.pipeline.iterate_recurse().foreach(slower)
        self.begin("after_seek")
        self.pipeline.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT,
                                  int(seek_seconds * Gst.SECOND))
        if self.wait(Gst.MessageType.EOS) is None:
            return
        self.phases["after_seek"]["eos"] = True

    def close(self):
        self.pipeline.set_state(Gst.State.NULL)


def main():
    url, seek_seconds, first_kbps, then_kbps = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    Gst.init(None)
    run = Run(url, first_kbps)
    try:
        run.play(seek_seconds, then_kbps)
    finally:
        run.close()
    for seen in run.phases.values():
        heights = seen.pop("heights")
        seen["heights"] = sorted(set(heights))
    print(json.dumps({"phases": run.phases, "video_decoders": sorted(run.video_decoders), "errors": run.errors,
                      "warnings": run.warnings}))


if __name__ == "__main__":
    main()
