"""The HLS plan as pure functions, on hand-made keyframe lists."""
import dataclasses
import fractions
import re

import pytest

from haema import hls, playlists, probe

MS = fractions.Fraction(1, 1000)


def timeline(keyframes, end, target=4, time_base=MS, frame=None, fine=None):
    return hls.plan_timeline(probe.Keyframes(time_base=time_base, pts=tuple(keyframes), end=end), target,
                             fine_seconds=fine, frame_duration=frame)


def copy_variant():
    return hls.Variant("original", True, 1920, 1080, 6_000_000, 4_000_000, "avc1.640028,mp4a.40.2", 24.0)


def transcode_variant():
    return hls.Variant("720p_h264", False, 1280, 720, 4_000_000, 2_500_000, "avc1.64001f,mp4a.40.2", 24.0)


def extinfs(text):
    return [float(x) for x in re.findall(r"#EXTINF:([\d.]+),", text)]


def test_copy_segments_merge_keyframes_up_to_the_target():
    plan = timeline(list(range(0, 20000, 1000)), 20000)
    assert plan.copy == (0, 4000, 8000, 12000, 16000, 20000)


def test_one_keyframe_gives_one_copy_segment_and_a_fine_grid():
    plan = timeline([0], 9000)
    assert plan.copy == (0, 9000)
    assert plan.fine == (0, 3000, 6000, 9000)


def test_huge_gop_keeps_long_copy_segments_but_short_transcoded_ones():
    plan = timeline([0, 10000, 20000], 30000)
    assert plan.copy == (0, 10000, 20000, 30000)
    assert max(b - a for a, b in zip(plan.fine, plan.fine[1:])) <= 4000
    assert set(plan.copy) <= set(plan.fine)


def test_fine_grid_has_its_own_shorter_target():
    plan = timeline(list(range(0, 12000, 2000)), 12000, target=4, fine=2)
    assert plan.copy == (0, 4000, 8000, 12000)
    assert plan.fine == (0, 2000, 4000, 6000, 8000, 10000, 12000)


def test_fine_grid_cuts_on_keyframes_inside_a_copy_segment_before_cutting_between_them():
    # keyframes every 2.5 s: copy segments of 5 s; fine pieces end on the keyframe at 2.5 s,
    # so a cold request for the second piece decodes from a keyframe at its own start
    plan = timeline([0, 2500, 5000, 7500], 10000, target=4, fine=2)
    assert plan.copy == (0, 5000, 10000)
    assert plan.fine == (0, 1250, 2500, 3750, 5000, 6250, 7500, 8750, 10000)


def test_fine_grid_merges_close_keyframes_up_to_its_target():
    # a scene cut 0.4 s after a keyframe makes no 0.4 s segment
    plan = timeline([0, 400, 2000, 2400, 4000], 6000, target=4, fine=2)
    assert plan.fine == (0, 2000, 4000, 6000)


def test_irregular_keyframes_keep_every_copy_boundary_in_the_fine_grid():
    keys = [0, 700, 3100, 3300, 6900, 7000, 12000, 12900, 13100, 19000]
    plan = timeline(keys, 21000, target=6, fine=2)
    assert set(plan.copy) <= set(plan.fine)
    assert max(b - a for a, b in zip(plan.fine, plan.fine[1:])) <= 2000
    assert min(b - a for a, b in zip(plan.fine, plan.fine[1:])) >= 500


def test_start_offset_playlist_starts_at_zero_and_totals_the_duration():
    plan = timeline([10000, 12000, 14000, 16000], 17500)
    text = playlists.media_playlist(plan, copy_variant())
    assert sum(extinfs(text)) == pytest.approx(7.5)
    assert plan.seconds(plan.copy[0]) == 0


def test_vfr_keyframes_at_irregular_times():
    keys = [0, 1300, 2100, 4700, 5000, 9100, 9900]
    plan = timeline(keys, 12000)
    assert plan.copy == (0, 4700, 9100, 12000)
    for variant in (copy_variant(), transcode_variant()):
        assert sum(extinfs(playlists.media_playlist(plan, variant))) == pytest.approx(12.0)


def test_a_sliver_of_a_last_segment_is_folded_into_the_one_before():
    plan = timeline([0, 4000, 8000], 8100)
    assert plan.copy == (0, 4000, 8100)


def test_target_duration_covers_every_rounded_extinf():
    plan = timeline([0, 4600, 9700], 10000)
    text = playlists.media_playlist(plan, copy_variant())
    target = int(re.search(r"#EXT-X-TARGETDURATION:(\d+)", text).group(1))
    assert all(round(d) <= target for d in extinfs(text))
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.rstrip().endswith("#EXT-X-ENDLIST")


def test_fine_boundaries_snap_to_whole_frames():
    plan = timeline([0], 10 * 12288, time_base=fractions.Fraction(1, 12288), frame=512, fine=3)
    assert len(plan.fine) == 5  # four pieces of 2.5 s, each a whole number of frames
    assert all(b % 512 == 0 for b in plan.fine)


def test_fine_boundaries_of_millisecond_timestamps_land_on_the_rounded_frame():
    # 23.976 fps in Matroska: frame n is at round(n * 1001/24) ms; a 4.004 s GOP cut in 3
    plan = timeline([0, 4004], 8008, frame=fractions.Fraction(1001, 24), fine=1.5)
    frames = [round(n * fractions.Fraction(1001, 24)) for n in range(193)]
    for cut in plan.fine:
        first = next(f for f in frames if f >= cut)
        assert first - cut <= 2  # the frame that starts the segment, a tick or two after
    assert plan.fine[1] == 1334  # frame 32 is at 1334.7 ms (1335), not 1344 (32 x 42 ms)


def test_variable_rate_fine_boundaries_are_real_frame_times():
    frames = [0, 30, 75, 100, 140, 190, 230, 290, 335, 360, 420, 455, 500, 540, 600]
    keyframes = probe.Keyframes(time_base=fractions.Fraction(1, 100), pts=(0,), end=630,
                                frames=probe.pack_times(frames))
    plan = hls.plan_timeline(keyframes, 10, fine_seconds=1.6, frame_duration=30)
    assert plan.fine == (0, 140, 335, 455, 630)  # the frames nearest to 1.575, 3.15 and 4.725 s
    assert set(plan.fine[1:-1]) <= set(frames)


def test_open_gop_copy_segments_start_at_their_keyframes_leading_frames():
    # keyframes at 0, 2000, 4000, 6000; each after the first shown from 125 ms before it
    keyframes = probe.Keyframes(time_base=MS, pts=(0, 2000, 4000, 6000), end=8000,
                                shown_from=(0, 1875, 3875, 5875))
    plan = hls.plan_timeline(keyframes, 4, fine_seconds=2)
    assert plan.copy == (0, 3875, 8000)
    assert plan.fine == (0, 2000, 3875, 4938, 6000, 8000)  # the copy boundary is a fine one
    copied = hls.segment(plan, copy_variant(), 1)
    assert (copied.start, copied.decode_from) == (3875, 4000)  # its own keyframe, copied from there
    transcoded = hls.segment(plan, transcode_variant(), 2)
    assert (transcoded.start, transcoded.decode_from) == (3875, 2000)  # decoded from the one before
    assert sum(extinfs(playlists.media_playlist(plan, copy_variant()))) == pytest.approx(8.0)


def test_segment_decodes_from_the_keyframe_at_or_before_its_start():
    plan = timeline([0, 10000, 20000], 30000)
    pieces = [hls.segment(plan, transcode_variant(), i) for i in range(len(plan.fine) - 1)]
    assert all(p.decode_from <= p.start for p in pieces)
    assert pieces[1].decode_from == 0 and pieces[3].decode_from == 10000
    assert pieces[0].first and pieces[-1].last
    with pytest.raises(IndexError):
        hls.segment(plan, transcode_variant(), len(plan.fine) - 1)


def info(width=1920, height=1080, codec="h264", audio=("aac",), rotation=0, pix_fmt="yuv420p",
         sample_aspect_ratio=(1, 1)):
    video = probe.VideoStream(
        index=0, codec=codec, codec_string=None, range="SDR", profile="High", profile_id=100, level=40,
        width=width, height=height, pix_fmt=pix_fmt, sample_aspect_ratio=sample_aspect_ratio, fps=23.976,
        time_base=(1, 1000), bit_rate=4_000_000, rotation=rotation, interlaced=False, has_b_frames=True)
    tracks = tuple(probe.AudioStream(index=i + 1, codec=c, codec_string=None, profile="LC", channels=2,
                                     sample_rate=48000, bit_rate=128_000, language=None, title=None, default=i == 0)
                   for i, c in enumerate(audio))
    return probe.MediaInfo(container="matroska,webm", duration=60.0, start_time=0.0, bit_rate=5_000_000,
                           video=video, audio=tracks, subtitles=())


@pytest.mark.parametrize("codec, profile, rate, copied", [
    ("aac", "LC", 48000, True), ("aac", "LC", 22050, True), ("aac", "LC", 11025, False), ("aac", "LC", 8000, False),
    ("aac", "HE-AAC", 48000, True), ("aac", "HE-AAC", 32000, False), ("ac3", None, 48000, False)])
def test_aac_is_copied_unless_its_frames_last_over_50_ms(codec, profile, rate, copied):
    track = dataclasses.replace(info().audio[0], codec=codec, profile=profile, sample_rate=rate)
    assert hls.aac_copied(track) is copied
    video = dataclasses.replace(info(), audio=(track,))
    declared = hls.plan_variants(video)[0].codecs
    assert declared.endswith("mp4a.40.5" if copied and profile == "HE-AAC" else "mp4a.40.2")


def test_ladder_for_1080p_h264_lists_original_first_and_nothing_above_the_source():
    names = [v.name for v in hls.plan_variants(info())]
    assert names == ["original", "720p_h264", "480p_h264", "360p_h264"]


def test_non_copyable_source_gets_a_rung_at_its_own_size():
    variants = hls.plan_variants(info(1280, 720, codec="hevc", pix_fmt="yuv420p10le"))
    assert [v.name for v in variants] == ["720p_h264", "480p_h264", "360p_h264"]
    assert (variants[0].width, variants[0].height) == (1280, 720)


@pytest.mark.parametrize("codec, codec_string, bit_rate", [
    ("hevc", "hvc1.2.4.L120.90", 2_000_000), ("av1", "av01.0.08M.10", 1_500_000), ("vp9", "vp09.00.40.08", 3_000_000),
    ("h264", None, 1_000_000), ("h264", None, 40_000_000)])
def test_no_rung_beside_a_copy_costs_more_bits_per_pixel_than_the_copy(codec, codec_string, bit_rate):
    """A player choosing by bandwidth (GStreamer's playbin) took the dearer 1080p
    transcode over the HEVC copy, back and forth, each time a change of codec, until it
    stalled. The rung at the copy's size costs what the copy does (Shaka then keeps the
    copy, the better codec); smaller rungs less, in proportion to their pixels."""
    source = info(pix_fmt="yuv420p10le" if codec != "h264" else "yuv420p")
    source = dataclasses.replace(source, video=dataclasses.replace(
        source.video, codec=codec, codec_string=codec_string, bit_rate=bit_rate))
    copy, *rungs = hls.plan_variants(source)
    assert copy.name == "original" and rungs
    for rung in rungs:
        share = rung.width * rung.height / (copy.width * copy.height)
        assert rung.bandwidth <= copy.bandwidth * share and rung.average_bandwidth <= copy.average_bandwidth * share
    same_size = [rung for rung in rungs if (rung.width, rung.height) == (copy.width, copy.height)]
    if codec != "h264":
        assert [(r.bandwidth, r.average_bandwidth) for r in same_size] == [(copy.bandwidth, copy.average_bandwidth)]


def test_odd_sizes_round_to_even_and_keep_the_aspect():
    variant = hls.plan_variants(info(638, 358, codec="mpeg4"))[0]
    assert (variant.width, variant.height) == (638, 358)
    assert hls.scaled_size(638, 358, 240) == (428, 240)
    assert hls.scaled_size(1080, 1920, 720) == (720, 1280)  # portrait: the short side counts


def test_portrait_rotation_swaps_the_size_and_rungs_count_the_short_side():
    """A phone's 1920x1080 turned upright is 1080x1920: 1080p, as players name it, not 1920p."""
    variants = hls.plan_variants(info(1920, 1080, rotation=90))
    assert [(v.name, v.width, v.height) for v in variants[:2]] == [("1080p_h264", 1080, 1920),
                                                                    ("720p_h264", 720, 1280)]


def test_master_playlist_has_every_attribute_players_need():
    text = playlists.master_playlist(hls.plan_variants(info()))
    for line in [l for l in text.splitlines() if l.startswith("#EXT-X-STREAM-INF")]:
        for attribute in ("BANDWIDTH=", "AVERAGE-BANDWIDTH=", "RESOLUTION=", "FRAME-RATE=", 'CODECS="avc1.'):
            assert attribute in line
    assert 'CODECS="avc1.640028,mp4a.40.2"' in text  # the source's own profile and level


def test_codec_string_level_fits_the_size():
    assert hls.h264_level(1280, 720, 30) == 31
    assert hls.h264_level(1920, 1080, 30) == 40
    assert hls.h264_level(640, 360, 30) == 30


def test_anamorphic_pixels_are_made_square():
    dvd = info(720, 576, codec="mpeg2video", sample_aspect_ratio=(64, 45))
    assert [(v.width, v.height) for v in hls.plan_variants(dvd)][:2] == [(1024, 576), (854, 480)]


@pytest.mark.parametrize("code, tag", [("eng", "en"), ("fre", "fr"), ("fra", "fr"), ("ger", "de"), ("en", "en"),
                                       ("und", "und"), (None, "und"), ("zxx-unknown", "zxx-unknown")])
def test_languages_are_rfc5646_tags(code, tag):
    assert hls.language_tag(code) == tag
