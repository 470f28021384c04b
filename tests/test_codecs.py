"""CODECS strings from configuration records written by hand, then from real streams."""
import av
import pytest

from haema import codecs

from harness.clips import make_clip

# hvcC of an x265 Main 10 stream: profile 2, compatibility flag 2, constraints 0x90, level 3 (90)
HVCC_MAIN10 = bytes.fromhex("01022000000090000000000" "05a") + b"\0" * 10


def test_hevc_string_follows_iso_14496_15_annex_e():
    assert codecs.hevc(HVCC_MAIN10) == "hvc1.2.4.L90.90"


def test_hevc_high_tier_and_main_profile():
    # Main profile (1) at high tier, compatibility flags for profiles 1 and 2, level 5.1 (153)
    record = bytes([1, 0x21]) + bytes.fromhex("60000000") + bytes.fromhex("b00000000000") + bytes([153]) + b"\0" * 10
    assert codecs.hevc(record) == "hvc1.1.6.H153.B0"


def test_hevc_from_annex_b_parameter_sets():
    """MPEG-TS sources carry VPS/SPS/PPS in-band: the SPS holds the same fields,
    behind emulation prevention bytes."""
    ptl = bytes([0x01]) + bytes.fromhex("60000000") + bytes.fromhex("900000000000") + bytes([93])
    sps = bytes([0x42, 0x01, 0x01]) + ptl.replace(b"\0\0\0", b"\0\0\3\0")
    data = b"\0\0\0\1" + bytes([0x40, 0x01, 0x0c]) + b"\0\0\1" + sps + b"\0\0\1" + bytes([0x44, 0x01, 0xc1])
    assert codecs.hevc(data) == "hvc1.1.6.L93.90"


def test_av1_string_from_av1c():
    assert codecs.av1(bytes([0x81, 0x08, 0x0C, 0x00])) == "av01.0.08M.08"
    assert codecs.av1(bytes([0x81, 0x0D, 0xCC, 0x00])) == "av01.0.13H.10"  # high tier, 10-bit
    assert codecs.av1(b"") is None


def test_vp9_level_from_picture_size_and_rate():
    assert codecs.vp9("Profile 0", 1920, 1080, 24, 8) == "vp09.00.40.08"
    assert codecs.vp9("Profile 0", 1920, 1080, 60, 8) == "vp09.00.41.08"
    assert codecs.vp9("Profile 2", 3840, 2160, 30, 10) == "vp09.02.50.10"


def test_avc_string_from_avcc():
    assert codecs.avc(bytes([1, 0x64, 0x00, 0x28, 0xFF])) == "avc1.640028"


def test_audio_and_range():
    assert codecs.audio_codec("aac", "HE-AAC") == "mp4a.40.5"
    assert codecs.audio_codec("opus") == "opus"
    assert codecs.audio_codec("eac3") == "ec-3"
    assert codecs.audio_codec("pcm_s16le") is None
    assert codecs.video_range(codecs.TRANSFER_PQ) == "PQ"
    assert codecs.video_range(codecs.TRANSFER_HLG) == "HLG"
    assert codecs.video_range(1) == "SDR"


@pytest.mark.parametrize("name, options, expected", [
    ("hevc10.mkv", dict(video_codec="libx265", pix_fmt="yuv420p10le"), "hvc1.2.4.L"),
    ("hevc8.mp4", dict(video_codec="libx265"), "hvc1.1.6.L"),
    ("av1.mkv", dict(video_codec="libsvtav1"), "av01.0.00M.08"),
    ("vp9.webm", dict(video_codec="libvpx-vp9"), "vp09.00.10.08"),
    ("h264.mp4", dict(), "avc1.64000b"),
])
def test_strings_of_real_streams(tmp_path, name, options, expected):
    path = tmp_path / name
    make_clip(path, seconds=1, width=192, height=108, audio_codec=None, **options)
    with av.open(str(path)) as container:
        ctx = container.streams.video[0].codec_context
        found = codecs.video_codec(ctx.codec.canonical_name, ctx.extradata, ctx.profile, ctx.width, ctx.height, 24,
                                   codecs.bit_depth(ctx.pix_fmt))
    assert found.startswith(expected)
