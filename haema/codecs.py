"""RFC 6381 codec strings (the CODECS attribute of HLS) read from the bitstream.

A player decides from CODECS alone whether it can play a variant: Safari picks the
``hvc1`` variant only if it can decode that profile and level, hls.js asks
``MediaSource.isTypeSupported`` with the string as written. A guessed string either
hides a variant that would play or offers one that then fails, so every field here is
read from the stream's own configuration record (``hvcC``, ``av1C``, ``avcC``, or the
parameter sets of an Annex B stream) and only VP9's level, which WebM does not store,
is derived from the picture size and rate, as the VP9 level definitions do.

Pure functions over bytes and numbers: probe.py hands them what PyAV reads.
"""
# transfer characteristics (ITU-T H.273, FFmpeg's AVColorTransferCharacteristic)
TRANSFER_PQ = 16  # SMPTE ST 2084
TRANSFER_HLG = 18  # ARIB STD-B67

HEVC_SPS = 33

# VP9 levels: (level * 10, max luma samples per second, max luma picture size)
VP9_LEVELS = (
    (10, 829_440, 36_864), (11, 2_764_800, 73_728), (20, 4_608_000, 122_880), (21, 9_216_000, 245_760),
    (30, 20_736_000, 552_960), (31, 36_864_000, 983_040), (40, 83_558_400, 2_228_224),
    (41, 160_432_128, 2_228_224), (50, 311_951_360, 8_912_896), (51, 588_251_136, 8_912_896),
    (52, 1_176_502_272, 8_912_896), (60, 1_176_502_272, 35_651_584), (61, 2_353_004_544, 35_651_584),
    (62, 4_706_009_088, 35_651_584),
)

AUDIO_CODECS = {"opus": "opus", "flac": "flac", "ac3": "ac-3", "eac3": "ec-3", "mp3": "mp4a.40.34"}
AAC_PROFILES = {"HE-AAC": "mp4a.40.5", "HE-AACv2": "mp4a.40.29"}


def video_codec(codec, extradata, profile=None, width=0, height=0, fps=0.0, bit_depth=8):
    """The CODECS string of a video stream as it is copied into fMP4, or None when the
    bitstream does not say enough to write one truthfully."""
    if codec == "hevc":
        return hevc(extradata)
    if codec == "av1":
        return av1(extradata)
    if codec == "vp9":
        return vp9(profile, width, height, fps, bit_depth)
    if codec == "h264":
        return avc(extradata)
    return None


def audio_codec(codec, profile=None):
    if codec == "aac":
        return AAC_PROFILES.get(profile, "mp4a.40.2")
    return AUDIO_CODECS.get(codec)


def video_range(transfer):
    """HLS VIDEO-RANGE: PQ and HLG are HDR; a player without HDR skips those variants."""
    return {TRANSFER_PQ: "PQ", TRANSFER_HLG: "HLG"}.get(transfer, "SDR")


# ---------------------------------------------------------------------------
# HEVC


def hevc(extradata):
    """``hvc1.<space><profile>.<compatibility>.<tier><level>.<constraints>`` (ISO/IEC
    14496-15 annex E) from an ``hvcC`` record or from the SPS of Annex B extradata."""
    ptl = _hevc_profile_tier_level(extradata or b"")
    if ptl is None:
        return None
    first, compatibility, constraints, level = ptl[0], ptl[1:5], ptl[5:11], ptl[11]
    space = "" if first >> 6 == 0 else "ABC"[(first >> 6) - 1]
    tier = "H" if first & 0x20 else "L"
    flags = int.from_bytes(compatibility, "big")
    reversed_flags = int(f"{flags:032b}"[::-1], 2)
    kept = constraints.rstrip(b"\0")
    parts = [f"hvc1.{space}{first & 0x1F}", f"{reversed_flags:X}", f"{tier}{level}"]
    parts += [f"{byte:X}" for byte in kept] or ["0"]
    return ".".join(parts)


def _hevc_profile_tier_level(data):
    """The 12 bytes of general_profile_tier_level."""
    if len(data) >= 13 and data[0] == 1:  # hvcC: version 1, then exactly these bytes
        return data[1:13]
    for nal in _annexb_units(data):
        if len(nal) >= 2 and (nal[0] >> 1) & 0x3F == HEVC_SPS:
            payload = _unescape(nal[2:])  # after the 2-byte NAL header
            if len(payload) >= 13:
                return payload[1:13]  # after vps_id, max_sub_layers, temporal_id_nesting
    return None


# ---------------------------------------------------------------------------
# AV1, VP9, AVC


def av1(extradata):
    """``av01.<profile>.<level><tier>.<bit depth>`` from the ``av1C`` record (the same
    bytes in MP4 and in Matroska's CodecPrivate)."""
    if not extradata or len(extradata) < 4 or extradata[0] != 0x81:
        return None
    profile, level = extradata[1] >> 5, extradata[1] & 0x1F
    flags = extradata[2]
    tier = "H" if flags & 0x80 else "M"
    high_bitdepth, twelve_bit = flags & 0x40, flags & 0x20
    depth = 12 if twelve_bit else 10 if high_bitdepth else 8
    return f"av01.{profile}.{level:02d}{tier}.{depth:02d}"


def vp9(profile, width, height, fps, bit_depth):
    """``vp09.<profile>.<level>.<bit depth>``; the level is the lowest whose limits hold
    this picture size and sample rate (WebM stores no level)."""
    number = {"Profile 0": 0, "Profile 1": 1, "Profile 2": 2, "Profile 3": 3}.get(profile, 0)
    picture = width * height
    rate = picture * (fps or 30)
    level = next((lvl for lvl, max_rate, max_picture in VP9_LEVELS if picture <= max_picture and rate <= max_rate),
                 VP9_LEVELS[-1][0])
    return f"vp09.{number:02d}.{level:02d}.{bit_depth:02d}"


def avc(extradata):
    """``avc1.PPCCLL`` from an ``avcC`` record or the SPS of Annex B extradata."""
    data = extradata or b""
    if len(data) >= 4 and data[0] == 1:
        return f"avc1.{data[1]:02x}{data[2]:02x}{data[3]:02x}"
    for nal in _annexb_units(data):
        if nal and nal[0] & 0x1F == 7 and len(nal) >= 4:
            return f"avc1.{nal[1]:02x}{nal[2]:02x}{nal[3]:02x}"
    return None


def bit_depth(pix_fmt):
    """8, 10 or 12 from a pixel format name such as ``yuv420p10le``."""
    for depth in (12, 10):
        if f"p{depth}" in (pix_fmt or ""):
            return depth
    return 8


# ---------------------------------------------------------------------------
# Annex B


def _annexb_units(data):
    """NAL units between ``00 00 01`` start codes."""
    starts = []
    at = data.find(b"\0\0\1")
    while at >= 0:
        starts.append(at + 3)
        at = data.find(b"\0\0\1", at + 3)
    for begin, end in zip(starts, starts[1:] + [len(data) + 3]):
        yield data[begin:end - 3].rstrip(b"\0")


def _unescape(payload):
    """Drop emulation prevention bytes (``00 00 03`` → ``00 00``)."""
    return payload.replace(b"\0\0\3", b"\0\0")
