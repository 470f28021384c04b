"""The minimal FFmpeg (scripts/build-ffmpeg.sh) must hold every component the code names.

scripts/ffmpeg-components.txt is the one list the Docker image's FFmpeg is built from. These
tests read the Python sources under haema/ as syntax trees (no FFmpeg, no import of haema)
and fail when the code names a codec, container format, filter or bitstream filter that the
list lacks. They also hold the list to the set of sources Haema promises to accept.
"""
import ast
import pathlib
import re
import shutil
import subprocess
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
LIST = ROOT / "scripts" / "ffmpeg-components.txt"
BUILD_SCRIPT = ROOT / "scripts" / "build-ffmpeg.sh"
SOURCES = ROOT / "haema"

KINDS = {"lib", "demuxer", "muxer", "decoder", "encoder", "parser", "bsf", "filter", "protocol"}
TAGS = {"arm64", "builtin", "fixture"}

# Codec names (what PyAV reports and accepts) whose configure name differs.
CONFIGURE_NAME = {"mov_text": "movtext", "libvpx-vp9": "libvpx_vp9", "libaom-av1": "libaom_av1"}

# av.open(format=...) names that FFmpeg serves with a differently named demuxer.
DEMUXER_ALIASES = {"mp4": "mov", "m4a": "mov", "3gp": "mov", "3g2": "mov", "mj2": "mov",
                   "mkv": "matroska", "webm": "matroska", "ts": "mpegts", "vob": "mpegps",
                   "mpeg": "mpegps"}

# add_stream("h264") and Codec("h264", "w") take the first encoder FFmpeg has for the codec.
ENCODERS_FOR_CODEC = {
    "h264": {"libx264", "h264_v4l2m2m"}, "hevc": {"libx265", "hevc_v4l2m2m"},
    "opus": {"libopus", "opus"}, "vp9": {"libvpx_vp9"}, "vp8": {"libvpx_vp8"}, "av1": {"libaom_av1", "libsvtav1"},
    "mp3": {"libmp3lame"}, "vorbis": {"libvorbis", "vorbis"}, "subrip": {"srt", "subrip"},
}

# PyAV helpers that build filter graphs behind the scenes (av/audio/resampler.py: abuffer →
# [aresample] → aformat → abuffersink; libavfilter inserts aresample itself on any mismatch).
# For a name the scanner cannot work out statically, the line declares what it may be.
DECLARATION = re.compile(r"#\s*ffmpeg:\s*([\w\-, ]+)")

RESAMPLER_FILTERS = {"abuffer", "aresample", "aformat", "abuffersink"}
GRAPH_HELPERS = {"add_buffer": {"buffer"}, "add_abuffer": {"abuffer"}}

# What Haema promises to accept and produce (issue 8); the list must keep all of it.
REQUIRED = {
    "demuxer": {"mov", "matroska", "mpegts", "mpegps", "avi"},
    "decoder": {"h264", "hevc", "vp9", "libdav1d", "mpeg2video", "mpeg4", "vc1",
                "aac", "ac3", "eac3", "mp3float", "mp2float", "opus", "vorbis", "flac", "dca",
                # tracks Haema skips but must still see: without a decoder PyAV gives the
                # stream no codec context (None), and Blu-ray/DVD rips carry these
                "truehd", "pgssub", "dvdsub",
                # text subtitles, served as WebVTT
                "subrip", "ass", "webvtt", "movtext"},
    "parser": {"h264", "hevc", "vp9", "av1", "mpegvideo", "mpeg4video", "vc1",
               "aac", "ac3", "mpegaudio", "opus", "vorbis", "flac", "dca"},
    "bsf": {"h264_mp4toannexb", "hevc_mp4toannexb", "aac_adtstoasc", "extract_extradata"},
    "encoder": {"libx264", "aac"},
    "muxer": {"mpegts", "webvtt"},
    "filter": {"scale", "format", "yadif", "bwdif", "aresample", "buffer", "buffersink",
               "abuffer", "abuffersink"},
    "lib": {"libx264", "libdav1d", "gpl"},
}
REQUIRED_ARM64 = {("encoder", "h264_v4l2m2m"), ("lib", "v4l2-m2m")}


# ---------------------------------------------------------------------------------------
# The list


def read_list(path=LIST):
    """→ {(kind, name): set(tags)}; raises ValueError on a malformed line."""
    entries = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) < 2 or words[0] not in KINDS or not set(words[2:]) <= TAGS:
            raise ValueError(f"{path.name}:{number}: cannot read {raw.strip()!r}")
        key = (words[0], words[1])
        if key in entries:
            raise ValueError(f"{path.name}:{number}: {words[0]} {words[1]} is listed twice")
        entries[key] = set(words[2:])
    return entries


def available(entries, include_fixtures=False):
    """The (kind, name) pairs a build on any supported arch has (arm64-only ones count)."""
    return {key for key, tags in entries.items() if include_fixtures or "fixture" not in tags}


# ---------------------------------------------------------------------------------------
# The scanner


class Use:
    def __init__(self, kind, names, where):
        self.kind, self.names, self.where = kind, frozenset(names), where

    def __repr__(self):
        return f"{self.kind} {'|'.join(sorted(self.names))} ({self.where})"


def _call_name(func):
    """`a.b.c(...)` → "a.b.c"; `Graph().add` → "Graph().add"; "?" for any other callee part."""
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
    elif isinstance(func, ast.Call):
        parts.append(_call_name(func.func) + "()")
    else:
        parts.append("?")
    return ".".join(reversed(parts))


class _Scanner(ast.NodeVisitor):
    """Collects the FFmpeg components one module names."""

    def __init__(self, filename, constants, lines=()):
        self.filename = filename
        self.lines = lines          # the source, for `# ffmpeg: name, name` declarations
        self.constants = constants  # module-level NAME = "..." / ("...", ...)
        self.local = {}             # NAME = "..." inside the function being read
        self.graphs = set()         # local names bound to av.filter.Graph()
        self.uses = []
        self.unresolved = []

    # -- values --------------------------------------------------------------

    def strings(self, node):
        """Every string an expression can evaluate to, as far as can be told statically;
        None when it cannot be told."""
        if node is None:
            return None
        if isinstance(node, ast.Constant):
            return {node.value} if isinstance(node.value, str) else None
        if isinstance(node, ast.Name):
            if node.id in self.local:
                return self.local[node.id]
            return self.constants.get(node.id)
        if isinstance(node, ast.IfExp):
            return self._union(node.body, node.orelse)
        if isinstance(node, ast.BoolOp):
            return self._union(*node.values, partial=True)
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return self._union(*node.elts)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            default = node.args[1] if len(node.args) > 1 else next(
                (k.value for k in node.keywords if k.arg == "default"), None)
            return self.strings(default)
        if isinstance(node, ast.Attribute):  # config.encoder, settings.X: a setting, see below
            return self.constants.get(node.attr)
        return None

    def _union(self, *nodes, partial=False):
        found = set()
        for node in nodes:
            values = self.strings(node)
            if values is None and not partial:
                return None
            found |= values or set()
        return found or None

    def use(self, kind, node, what):
        values = self.strings(node)
        where = f"{self.filename}:{getattr(node, 'lineno', '?')}"
        if values is None and node is not None:
            values = self._declared(node)
        if values is None:
            if node is not None:
                self.unresolved.append(f"{where}: {what}({ast.unparse(node)})")
            return
        if values:  # `# ffmpeg: none`: not an FFmpeg component after all
            self.uses.append(Use(kind, values, where))

    def _declared(self, node):
        """A name the scanner cannot work out is declared on its line (or the statement's
        last line): `out.add_stream(name)  # ffmpeg: libx264, h264_v4l2m2m`."""
        for number in {node.lineno, getattr(node, "end_lineno", node.lineno)}:
            if 0 < number <= len(self.lines):
                match = DECLARATION.search(self.lines[number - 1])
                if match:
                    return {name for name in re.split(r"[\s,]+", match.group(1)) if name} - {"none"}
        return None

    # -- scopes --------------------------------------------------------------

    def visit_FunctionDef(self, node):
        saved = self.local, self.graphs
        self.local, self.graphs = dict(self.local), set(self.graphs)
        self.generic_visit(node)
        self.local, self.graphs = saved

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Assign(self, node):
        self.generic_visit(node)
        for target in node.targets:
            if not isinstance(target, ast.Name):
                continue
            if isinstance(node.value, ast.Call) and _call_name(node.value.func).split(".")[-1] == "Graph":
                self.graphs.add(target.id)
            values = self.strings(node.value)
            if values:
                self.local[target.id] = values

    # -- calls ---------------------------------------------------------------

    def _arg(self, call, position, keyword):
        for k in call.keywords:
            if k.arg == keyword:
                return k.value
        return call.args[position] if len(call.args) > position else None

    def _is_graph(self, receiver):
        if isinstance(receiver, ast.Name):
            return receiver.id in self.graphs or receiver.id.lower().endswith("graph")
        if isinstance(receiver, ast.Attribute):
            return receiver.attr.lower().endswith("graph")
        if isinstance(receiver, ast.Call):
            return _call_name(receiver.func).split(".")[-1] == "Graph"
        return False

    def _mode(self, call, position):
        mode = self.strings(self._arg(call, position, "mode")) or {"r"}
        return "w" if any("w" in m for m in mode) else "r"

    def visit_Call(self, node):
        self.generic_visit(node)
        name = _call_name(node.func)
        last = name.split(".")[-1]
        receiver = node.func.value if isinstance(node.func, ast.Attribute) else None

        if last == "add_stream":
            self.use("encoder", self._arg(node, 0, "codec_name"), "add_stream")
        elif last == "Codec" or name.endswith("CodecContext.create"):
            kind = "encoder" if self._mode(node, 1) == "w" else "decoder"
            self.use(kind, self._arg(node, 0, "codec" if last != "Codec" else "name"), name)
        elif name == "av.open":
            fmt = self._arg(node, 2, "format")
            writing = self._mode(node, 1) == "w"
            if fmt is not None:
                self.use("muxer" if writing else "demuxer", fmt, "av.open")
            elif writing:  # FFmpeg picks the muxer from the file name: say which it is
                declared = self._declared(node)
                where = f"{self.filename}:{node.lineno}"
                if declared is None:
                    self.unresolved.append(f"{where}: av.open(..., 'w') without format=")
                elif declared:
                    self.uses.append(Use("muxer", declared, where))
        elif last == "add" and receiver is not None and self._is_graph(receiver):
            self.use("filter", self._arg(node, 0, "filter"), "graph.add")
        elif last in GRAPH_HELPERS and receiver is not None and self._is_graph(receiver):
            self.uses.append(Use("filter", GRAPH_HELPERS[last], f"{self.filename}:{node.lineno}"))
        elif last == "AudioResampler":
            for filter_name in RESAMPLER_FILTERS:
                self.uses.append(Use("filter", {filter_name}, f"{self.filename}:{node.lineno}"))
        elif last in ("BitStreamFilterContext", "BitStreamFilter"):
            values = self.strings(self._arg(node, 0, "filter_description"))
            if values is None:
                self.unresolved.append(f"{self.filename}:{node.lineno}: {name}(...)")
            for chain in values or ():
                for part in chain.split(","):
                    self.uses.append(Use("bsf", {part.split("=")[0].strip()}, f"{self.filename}:{node.lineno}"))


def _module_constants(tree):
    """NAME = "x" / ("x", "y") at module level, and the choices a setting is checked against:
    `if encoder not in ("libx264", "h264_v4l2m2m")` makes both values of `encoder` known."""
    constants = {}
    scanner = _Scanner("", constants)
    for node in tree.body:
        if isinstance(node, ast.Assign):
            values = scanner.strings(node.value)
            for target in node.targets:
                if isinstance(target, ast.Name) and values:
                    constants[target.id] = values
    for node in ast.walk(tree):
        if (isinstance(node, ast.Compare) and isinstance(node.left, ast.Name) and len(node.ops) == 1
                and isinstance(node.ops[0], (ast.In, ast.NotIn))):
            values = scanner.strings(node.comparators[0])
            if values and node.left.id not in constants:
                constants[node.left.id] = values
    return constants


def scan_source(text, filename="<source>", extra_constants=None):
    """→ (uses, unresolved) for one module's source text."""
    tree = ast.parse(text, filename=filename)
    constants = dict(extra_constants or {})
    constants.update(_module_constants(tree))
    scanner = _Scanner(filename, constants, text.splitlines())
    scanner.visit(tree)
    return scanner.uses, scanner.unresolved


def scan_tree(root=SOURCES):
    """Scan every module under haema/. Settings checked against fixed choices in one module
    (config.py: `encoder not in (...)`) are known to the others by attribute name."""
    files = sorted(root.rglob("*.py"))
    texts = {path: path.read_text(encoding="utf-8") for path in files}
    shared = {}
    for path, text in texts.items():
        tree = ast.parse(text, filename=str(path))
        for name, values in _module_constants(tree).items():
            shared.setdefault(name, set()).update(values)
    uses, unresolved = [], []
    for path, text in texts.items():
        label = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.relative_to(root)
        found, missed = scan_source(text, str(label), shared)
        uses += found
        unresolved += missed
    return uses, unresolved


def missing_components(uses, entries):
    """The uses no listed component satisfies."""
    have = available(entries)
    missing = []
    for use in uses:
        if not any(_satisfied(use.kind, name, have) for name in use.names):
            missing.append(use)
    return missing


def _satisfied(kind, name, have):
    name = CONFIGURE_NAME.get(name, name)
    if (kind, name) in have:
        return True
    if kind == "demuxer":
        return ("demuxer", DEMUXER_ALIASES.get(name, name)) in have
    if kind == "encoder":
        return any(("encoder", encoder) in have for encoder in ENCODERS_FOR_CODEC.get(name, ()))
    if kind == "decoder" and name == "av1":
        return ("decoder", "libdav1d") in have
    return False


# ---------------------------------------------------------------------------------------
# Tests


def test_list_is_well_formed():
    entries = read_list()
    assert entries, "the component list is empty"


def test_code_uses_only_listed_components():
    uses, _ = scan_tree()
    missing = missing_components(uses, read_list())
    assert not missing, (
        "the code names FFmpeg components that scripts/ffmpeg-components.txt lacks, so the "
        "Docker image's FFmpeg would not have them; add them to the list:\n  "
        + "\n  ".join(map(repr, missing)))


def test_every_named_component_can_be_worked_out():
    """A codec or filter name the scanner cannot work out could be anything, so the list
    could lack it unseen: name it with a literal or a module constant, or declare what it
    can be with a comment on the line, e.g. `graph.add(name)  # ffmpeg: yadif, bwdif`
    (`# ffmpeg: none` where the call is not FFmpeg's at all)."""
    _, unresolved = scan_tree()
    assert not unresolved, "cannot tell which FFmpeg component these name:\n  " + "\n  ".join(unresolved)


def test_scanner_finds_what_the_code_uses():
    """Guards the scanner against going blind as the code changes shape."""
    uses, _ = scan_tree()
    if not any(SOURCES.rglob("*.py")) or not uses:
        pytest.skip("no FFmpeg use in haema/ yet")
    kinds = {use.kind for use in uses}
    assert "encoder" in kinds or "filter" in kinds or "muxer" in kinds, uses


def test_list_covers_the_sources_haema_accepts():
    entries = read_list()
    product = {key for key, tags in entries.items() if "fixture" not in tags}
    missing = [f"{kind} {name}" for kind, names in REQUIRED.items() for name in sorted(names)
               if (kind, name) not in product]
    missing += [f"{kind} {name} (arm64)" for kind, name in sorted(REQUIRED_ARM64)
                if "arm64" not in entries.get((kind, name), set())]
    assert not missing, "scripts/ffmpeg-components.txt lost required components: " + ", ".join(missing)


def test_every_decoded_codec_has_a_parser_and_a_decoder():
    entries = read_list()
    decoders = {name for kind, name in entries if kind == "decoder"}
    parsers = {name for kind, name in entries if kind == "parser"}
    for parser in parsers:
        family = {"mpegvideo": "mpeg2video", "mpeg4video": "mpeg4", "mpegaudio": "mp3float", "av1": "libdav1d",
                  "mlp": "truehd"}
        assert family.get(parser, parser) in decoders, f"parser {parser} without its decoder"


# The scanner's own checks, on small made-up sources.

SAMPLE = textwrap.dedent('''
    import av
    ENCODER = "libx265"
    def cut(path, settings, config):
        out = av.open(path, "w", format="matroska")
        src = av.open(path, format="flv")
        plain = av.open(path)
        guessed = av.open("x.mkv", "w")
        declared = av.open(path, mode="w")  # ffmpeg: mp4
        out.add_stream(settings.get("encoder_name", "libvpx-vp9"))
        out.add_stream("aac" if config.x else "libmp3lame", rate=48000)
        out.add_stream(ENCODER)
        ctx = av.CodecContext.create("png", "w")
        dec = av.Codec("alac", "r")
        graph = av.filter.Graph()
        graph.add_buffer(width=1, height=1, format="yuv420p", time_base=1)
        graph.add("unsharp", "5:5")
        g2 = av.filter.Graph()
        g2.add(filter="drawtext")
        resampler = av.AudioResampler(format="s16")
        bsf = av.BitStreamFilterContext("vvc_mp4toannexb,setts=pts=0")
        name = "zscale"
        graph.add(name)
        graph.add(some_call())
        graph.add(pick())  # ffmpeg: yadif, w3fdif
        self.task_graph.add(node)  # ffmpeg: none
''')


def test_scanner_reads_every_form():
    uses, unresolved = scan_source(SAMPLE, "sample.py")
    found = {(use.kind, name) for use in uses for name in use.names}
    expected = {("muxer", "matroska"), ("demuxer", "flv"), ("encoder", "libvpx-vp9"), ("encoder", "aac"),
                ("encoder", "libmp3lame"), ("encoder", "libx265"), ("encoder", "png"), ("decoder", "alac"),
                ("filter", "buffer"), ("filter", "unsharp"), ("filter", "drawtext"), ("filter", "aresample"),
                ("filter", "aformat"), ("filter", "zscale"), ("bsf", "vvc_mp4toannexb"), ("bsf", "setts"),
                ("filter", "yadif"), ("filter", "w3fdif")}
    assert expected <= found, expected - found
    assert [u for u in unresolved if "some_call()" in u]
    assert [u.split(":")[1] for u in unresolved if "without format=" in u] == ["8"]  # guessed = ...
    assert ("muxer", "mp4") in found
    assert not [u for u in unresolved if "pick()" in u or "(node)" in u], unresolved


def test_scanner_flags_what_the_list_lacks():
    uses, _ = scan_source(SAMPLE, "sample.py")
    missing = {name for use in missing_components(uses, read_list()) for name in use.names}
    assert {"libx265", "libvpx-vp9", "png", "alac", "unsharp", "drawtext", "flv", "zscale",
            "vvc_mp4toannexb", "matroska"} <= missing
    # listed, or satisfied through an alias: not flagged
    assert not {"buffer", "aresample", "aformat", "setts"} & missing
    # "aac" | "libmp3lame" is one use satisfied by aac
    assert "aac" not in missing


def test_fixture_only_components_do_not_count_for_the_code():
    uses, _ = scan_source('import av\nav.open("x", "w", format="matroska")\n')
    assert missing_components(uses, read_list()), "matroska muxing is for test fixtures only"


def test_setting_choices_resolve_across_modules(tmp_path):
    (tmp_path / "config.py").write_text('def check(encoder):\n    if encoder not in ("libx264", "nvenc_h264"):\n        raise ValueError\n')
    (tmp_path / "cut.py").write_text('def f(out, config):\n    out.add_stream(config.encoder)\n')
    uses, _ = scan_tree(tmp_path)
    assert [sorted(u.names) for u in uses] == [["libx264", "nvenc_h264"]]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_build_script_enables_the_list(arch):
    """scripts/build-ffmpeg.sh turns the list into configure flags (no download, no build)."""
    out = subprocess.run(["bash", str(BUILD_SCRIPT), "--print-configure", "--arch", arch, "--prefix", "/x"],
                         capture_output=True, text=True, check=True, timeout=30).stdout
    flags = set(out.split())
    assert "--disable-everything" in flags
    for (kind, name), tags in read_list().items():
        flag = f"--enable-{name}" if kind == "lib" else f"--enable-{kind}={name}"
        wanted = not tags & {"builtin", "fixture"} and ("arm64" not in tags or arch == "aarch64")
        assert (flag in flags) == wanted, (flag, arch)
    assert re.search(r"--enable-encoder=libx264\b", out)
