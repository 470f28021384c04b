"""The benchmark's figures: each one's key, words, unit and target, and the table and JSON
rows they make; and the sizes of each mode."""

MODES = {
    # clip: seconds of each encoded clip; copies: clips per playback file; feature: copies
    # of a 4 s clip in the long file; reps: repetitions of each latency; api_seconds: of
    # the API under load; players_seconds: the four players play at most that long;
    # soak_seconds: of the soak (0: none); rounds: of the codec speed step. The smoke run's
    # pictures are about the smallest with a 720p variant, and its long GOP is a short one:
    # it proves every step runs, in a test.
    "full": dict(clip=8, long_gop=10, copies=15, feature=1350, files=1000, reps=5, api_seconds=20,
                 players_seconds=120, soak_seconds=600, rounds=3, size=(1920, 1080)),
    "quick": dict(clip=8, long_gop=10, copies=4, feature=450, files=1000, reps=2, api_seconds=8,
                  players_seconds=16, soak_seconds=0, rounds=3, size=(1920, 1080)),
    "smoke": dict(clip=2, long_gop=2, copies=2, feature=15, files=20, reps=1, api_seconds=1,
                  players_seconds=4, soak_seconds=0, rounds=1, size=(1296, 728)),
}


# -- Figures: every one is in the table and the JSON, measured or marked skipped


def _at_most(limit):
    return lambda v: v <= limit


def _at_least(limit):
    return lambda v: v >= limit


FIGURES = [
    # key, what, unit, target text, check
    ("machine_decode_1080p", "this machine: PyAV decodes the 1080p bench media", "fps", "", None),
    ("machine_encode_720p", "this machine: libx264 veryfast encodes it at 720p", "fps", "", None),
    ("machine_decode_1080p_testsrc2", "this machine: PyAV decodes FFmpeg's testsrc2 at 1080p", "fps", "", None),
    ("machine_encode_720p_testsrc2", "this machine: libx264 veryfast encodes it at 720p", "fps", "", None),
    ("first_segment_copy", "first segment, copy (master+stream+segment 0)", "s", "≤ 0.10", _at_most(0.10)),
    ("first_segment_720p", "first segment, 720p transcode", "s", "≤ 1.0", _at_most(1.0)),
    ("first_segment_copy_ffmpeg", "  ffmpeg baseline, copy segment 0", "s", "", None),
    ("first_segment_720p_ffmpeg", "  ffmpeg baseline, 720p segment 0", "s", "", None),
    ("first_segment_long_mp4", "first segment, copy, of a cold long file (MP4)", "s", "≤ 0.10", _at_most(0.10)),
    ("first_segment_long_mkv", "first segment, copy, of a cold long file (MKV)", "s", "≤ 0.10", _at_most(0.10)),
    ("copy_segment", "copy segment from the middle, over HTTP", "s", "", None),
    ("copy_segment_limit", "  the limit: PyAV reads its packets and muxes them to a null output", "s", "", None),
    ("copy_segment_send", "  the limit's sending: the same segment fetched again, from the cache", "s", "", None),
    ("copy_segment_vs_limit", "  Haema / (limit + sending), over HTTP", "×", "≤ 3",
     _at_most(3.0)),
    ("copy_segment_cpu", "copy segment from the middle, the workers' CPU time", "s", "", None),
    ("copy_segment_cpu_limit", "  the limit's CPU time", "s", "", None),
    ("copy_segment_cpu_vs_limit", "  Haema / limit, CPU", "×", "≤ 3", _at_most(3.0)),
    ("copy_segment_cpu_ts", "  PyAV muxing the same packets into an MPEG-TS file instead, CPU", "s", "", None),
    ("copy_segment_cpu_vs_ts", "  Haema / that, CPU", "×", "", None),
    ("copy_busy_cpu", "copy segments back to back (a busy copy worker), workers' CPU per segment", "s", "", None),
    ("copy_busy_cpu_limit", "  the limit back to back, CPU", "s", "", None),
    ("copy_busy_cpu_vs_limit", "  Haema / limit, CPU, back to back", "×", "≤ 3", _at_most(3.0)),
    ("seek_copy", "cold seek to the middle, copy", "s", "", None),
    ("seek_copy_ffmpeg", "  ffmpeg baseline, same interval", "s", "", None),
    ("seek_720p", "cold seek to the middle, 720p, 2 s GOP", "s", "≤ 1.0", _at_most(1.0)),
    ("seek_720p_ffmpeg", "  ffmpeg baseline, same interval", "s", "", None),
    ("seek_720p_vs_ffmpeg", "  Haema / ffmpeg", "×", "≤ 1.0", _at_most(1.0)),
    ("seek_720p_gop10", "cold seek, 720p, last piece of a 10 s GOP", "s", "≤ 2.0", _at_most(2.0)),
    ("seek_720p_gop10_ffmpeg", "  ffmpeg baseline, same interval", "s", "", None),
    ("seek_720p_gop10_vs_ffmpeg", "  Haema / ffmpeg", "×", "≤ 1.0", _at_most(1.0)),
    ("seek_720p_while_prefetching", "seek, 720p, right after segment 0 (prefetch running)", "s", "", None),
    ("playback_720p_realtime", "sequential 720p playback, realtime factor", "×", "≥ 4", _at_least(4.0)),
    ("playback_720p_ffmpeg_realtime", "  ffmpeg per segment, realtime factor", "×", "", None),
    ("playback_720p_vs_ffmpeg", "  Haema / ffmpeg throughput", "×", "≥ 1.5", _at_least(1.5)),
    ("playback_720p_codec_bound", "  the codecs alone on this media, realtime factor", "×", "", None),
    ("playback_720p_waited", "  segment requests that waited (> 50 ms)", "%", "", None),
    ("playback_720p_wait_p50", "  median segment request time", "s", "", None),
    ("playback_720p_gop10_realtime", "sequential 720p playback, 10 s GOP, realtime factor", "×", "", None),
    ("playback_720p_gop10_ffmpeg_realtime", "  ffmpeg per segment, realtime factor", "×", "", None),
    ("playback_720p_gop10_vs_ffmpeg", "  Haema / ffmpeg throughput", "×", "", None),
    ("playback_720p_testsrc2_realtime", "sequential 720p playback, testsrc2 picture, realtime factor", "×", "≥ 4",
     _at_least(4.0)),
    ("playback_720p_testsrc2_ffmpeg_realtime", "  ffmpeg per segment, realtime factor", "×", "", None),
    ("playback_720p_testsrc2_vs_ffmpeg", "  Haema / ffmpeg throughput", "×", "≥ 1.5", _at_least(1.5)),
    ("playback_720p_testsrc2_codec_bound", "  the codecs alone on this picture, realtime factor", "×", "", None),
    ("long_index_mp4", "long file, keyframe index (MP4, read_keyframes)", "s", "", None),
    ("long_index_mkv", "long file, keyframe index (MKV, read_keyframes)", "s", "", None),
    ("long_playlist_mp4", "long file, first master+media playlist over HTTP (MP4)", "s", "", None),
    ("long_playlist_mkv", "long file, first master+media playlist over HTTP (MKV)", "s", "", None),
    ("long_index_playlist_mp4", "long file, index + first playlist (MP4)", "s", "≤ 0.5", _at_most(0.5)),
    ("long_index_playlist_mkv", "long file, index + first playlist (MKV)", "s", "≤ 0.5", _at_most(0.5)),
    ("long_scan_packets_mp4", "long file, packet-scan fallback (MP4)", "s", "", None),
    ("long_scan_packets_mkv", "long file, packet-scan fallback (MKV)", "s", "", None),
    ("scan_cold", "library scan, cold", "s", "≤ 10", _at_most(10.0)),
    ("scan_rescan", "library rescan, no change", "s", "≤ 1", _at_most(1.0)),
    ("scan_background", "  then keyframes + thumbnails in the background", "s", "", None),
    ("api_shows_p50", "GET /api/v1/shows, 50 clients, p50", "ms", "", None),
    ("api_shows_p95", "GET /api/v1/shows, 50 clients, p95", "ms", "≤ 20", _at_most(20.0)),
    ("api_shows_p99", "GET /api/v1/shows, 50 clients, p99", "ms", "", None),
    ("api_search_p50", "GET /api/v1/shows?search=, 50 clients, p50", "ms", "", None),
    ("api_search_p95", "GET /api/v1/shows?search=, 50 clients, p95", "ms", "≤ 20", _at_most(20.0)),
    ("api_search_p99", "GET /api/v1/shows?search=, 50 clients, p99", "ms", "", None),
    ("api_requests_per_s", "  requests per second under that load", "1/s", "", None),
    ("api_shows_alone", "  GET /api/v1/shows, one client, no transcode, p50", "ms", "", None),
    ("api_search_alone", "  search, one client, no transcode, p50", "ms", "", None),
    ("rss_idle", "server RSS, idle after the scan", "MB", "≤ 80", _at_most(80.0)),
    ("rss_worker_busy", "encoder worker RSS, busy at 720p (max)", "MB", "≤ 150", _at_most(150.0)),
    ("rss_server_busy", "  server RSS during 720p playback (max)", "MB", "", None),
    ("players4_480p_slowest", "4 players at 480p, slowest one's realtime factor", "×", "≥ 1.0", _at_least(1.0)),
    ("players4_480p_stalls", "4 players at 480p, stalls (30 s buffer, 1× playback)", "", "0", lambda v: v == 0),
    ("soak_rss_growth", "10-minute soak of 4 players, RSS growth (server + workers)", "MB", "≤ 10 (noise)",
     _at_most(10.0)),
    ("soak_stalls", "  stalls during the soak", "", "0", lambda v: v == 0),
]
FIGURE_KEYS = [f[0] for f in FIGURES]


class Results:
    def __init__(self):
        self.values, self.notes = {}, {}

    def set(self, key, value, note=None):
        assert key in FIGURE_KEYS, key
        self.values[key] = value
        if note:
            self.notes[key] = note

    def skip(self, keys, why):
        for key in keys:
            self.values.setdefault(key, None)
            self.notes.setdefault(key, why)

    def rows(self):
        for key, what, unit, target, check in FIGURES:
            value = self.values.get(key)
            met = None if value is None or check is None else bool(check(value))
            yield {"key": key, "figure": what.strip(), "value": value, "unit": unit, "target": target or None,
                   "met": met, "note": self.notes.get(key, "not measured" if value is None else None)}

    def table(self):
        lines = [f"{'figure':<62} {'value':>10} {'unit':<4} {'target':<13} met?"]
        for (key, what, *_), row in zip(FIGURES, self.rows()):
            value = "—" if row["value"] is None else _fmt(row["value"])
            met = {True: "yes", False: "NO", None: ""}[row["met"]]
            if row["value"] is None:
                met = row["note"] or ""
            lines.append(f"{what:<62} {value:>10} {row['unit']:<4} {row['target'] or '':<13} {met}")
        return "\n".join(lines)


def _fmt(value):
    if isinstance(value, int):
        return str(value)
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def spread(values):
    return f"n={len(values)}, {min(values):.3f}–{max(values):.3f} s" if len(values) > 1 else f"n={len(values)}"


def percentile(values, q):
    if not values:
        return float("nan")
    rank = max(0, min(len(values) - 1, round(q / 100 * len(values) + 0.5) - 1))
    return values[rank]
