"""Run in the image at build time: PyAV loads, and every codec of the component list is there.

The list (scripts/ffmpeg-components.txt, copied into the image by build-ffmpeg.sh) is what
the build was asked for; this checks what the built FFmpeg and the PyAV linked to it
actually offer, so a component dropped along the way fails the build, not a viewer.
"""
import platform

import av

LIST = "/opt/ffmpeg/share/haema-ffmpeg/components.txt"
CODEC_NAMES = {"movtext": "mov_text"}  # configure's name → the codec's own


def wanted(lines, arch):
    """Decoders and encoders the image must have: not test fixtures, not built-ins, and
    arm64-only entries only on arm64."""
    want = set()
    for line in lines:
        words = line.split("#", 1)[0].split()
        tags = set(words[2:])
        if len(words) < 2 or words[0] not in ("decoder", "encoder") or tags & {"fixture", "builtin"}:
            continue
        if "arm64" not in tags or arch == "arm64":
            want.add(CODEC_NAMES.get(words[1], words[1]))
    return want


arch = "arm64" if platform.machine() in ("aarch64", "arm64") else platform.machine()
with open(LIST, encoding="utf-8") as listed:
    want = wanted(listed, arch)
missing = want - av.codecs_available
assert not missing, f"this FFmpeg lacks {sorted(missing)}"
print("PyAV", av.__version__, "on FFmpeg", av.ffmpeg_version_info, "with", len(want), "listed codecs")
