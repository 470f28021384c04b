"""Segments: make one segment of one variant (MPEG-TS, or fragmented MP4) by double seeking.

Seek to a keyframe before the segment, demux (and, for transcodes, decode) up to the
segment start, then copy or encode exactly the frames of ``[start, end)`` and mux them.
A segment depends only on its plan (hls.Segment), never on which segment was made
before or in which process, so segments made in any order join exactly and the same
segment made twice is byte-identical.

Timestamps keep the source's timeline, shifted by one constant per file: the first
keyframe lands at ``clock.OUTPUT_ORIGIN`` seconds. Each output stream counts at its own
rate: 90 kHz in MPEG-TS and for fMP4 video, the sample rate for fMP4 audio (so an audio
fragment's times are whole samples).

A fragmented MP4 segment is made the same way by a muxer of its own; its header is the
init section and the rest is the fragment (fmp4.py). An ``init`` job writes the header
alone, or, where FFmpeg needs packets to write it (AC-3), cuts the first segment and
keeps its header.

Audio joins exactly too. Copied AAC packets belong to the segment their timestamp falls
in. Other audio (AAC at a low rate too, see ``hls.aac_copied``) is encoded to AAC on a
grid of 1024-sample frames fixed for the whole file; a segment encodes the frames of
its interval, warmed up by a few frames before its start whose packets are dropped, so
there is no gap, overlap or priming silence at a join.

The modules, each importing only those after it:
- ``jobs``: what a worker is asked to make (``SegmentJob``, ``OpenJob``), the encoder
  settings, and ``segment_job``, which builds a rendition's job;
- ``cutter``: one segment's cut: seek, feed each stream's output, mux;
- ``video`` and ``audio``: the outputs, copied or encoded;
- ``state``: what a worker keeps between jobs (open inputs, a decode continuation);
- ``clock``: output timestamps, the same for every segment of a file.
"""
