"""Subtitles as users' files have them: legacy encodings, ASS styling, MicroDVD, broken files.

Each case is a film with a sidecar the test writes, scanned and served through the
real app; the WebVTT rendition must carry the original text exactly.
"""
import codecs
import random
import shutil

import av

from haema import probe

SENTENCES = {
    "ru": ["Привет, мир! Ёлка уже стоит в гостиной.", "Я не знаю, куда он ушёл этой ночью.",
           "Нам нужно поговорить о том, что случилось вчера.", "Подожди меня у входа, я скоро вернусь.",
           "Это был самый холодный январь за последние десять лет."],
    "el": ["Καλημέρα! Πού πήγες χθες το βράδυ;", "Δεν ξέρω τι να σου πω, είμαι πολύ κουρασμένος.",
           "Η θάλασσα ήταν ήρεμη όλο το πρωί.", "Περίμενέ με στην πόρτα, έρχομαι αμέσως.",
           "Αυτό είναι το πιο όμορφο σπίτι του χωριού."],
    "cs": ["Dobrý den! Kde jsi byl včera večer?", "Nevím, co ti mám říct, jsem příliš unavený.",
           "Žluťoučký kůň úpěl ďábelské ódy.", "Počkej na mě u dveří, hned se vrátím.",
           "Tohle je nejkrásnější dům v celé vesnici."],
    "ar": ["مرحبا! أين كنت مساء أمس؟", "لا أعرف ماذا أقول لك، أنا متعب جدا.",
           "كان البحر هادئا طوال الصباح.", "انتظرني عند الباب، سأعود حالا.", "هذا أجمل بيت في القرية كلها."],
    "zh": ["你好，世界！你昨天晚上去哪儿了？", "我不知道该对你说什么，我太累了。", "整个上午海面都很平静。",
           "在门口等我，我马上回来。", "这是村子里最漂亮的房子。"],
    "ja": ["こんにちは、世界！昨日の夜はどこへ行ったの？", "何と言えばいいのか分からない。とても疲れている。",
           "午前中ずっと海は静かだった。", "ドアの前で待っていて、すぐに戻るから。", "これは村で一番きれいな家だ。"],
}

ENCODED = {
    # film title: (sidecar name after the film's, language, how the bytes are written)
    "Aster": (".ru.srt", "ru", "cp1251"),
    "Birch": (".ru.srt", "ru", "koi8_r"),
    "Cedar": (".el.srt", "el", "cp1253"),
    "Dogwood": (".cs.srt", "cs", "cp1250"),
    "Elm": (".ar.srt", "ar", "cp1256"),
    "Fir": (".zh.srt", "zh", "gbk"),
    "Ginkgo": (".ja.srt", "ja", "shift_jis"),
    "Hazel": (".zh.srt", "zh", "utf-16-le with BOM"),
    "Ivy": (".ru.srt", "ru", "utf-8 with BOM"),
    "Juniper": (".srt", "ru", "cp1251"),  # no language in the name: the detector alone
}

STYLED_ASS = r"""[Script Info]
ScriptType: v4.00+
PlayResX: 384
PlayResY: 288

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,Arial,16,&H00FFFFFF,&H00FFFFFF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,1
Style: Thought,Arial,16,&H00FFFFFF,&H00FFFFFF,&H00000000,&H00000000,0,-1,0,0,100,100,0,0,1,1,0,2,10,10,10,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:00.50,0:00:01.50,Default,,0,0,0,,{\an8\pos(192,20)\c&H00FF00&\fad(200,200)}Первая строка\NВторая {\i1}строка{\i0}
Dialogue: 0,0:00:01.00,0:00:01.80,Thought,,0,0,0,,{\blur2}Tom & Jerry <3\N\N{\b1}bold{\b0} end
Comment: 0,0:00:01.00,0:00:01.80,Default,,0,0,0,,a translator's note
Dialogue: 0,0:00:01.20,0:00:01.90,Default,,0,0,0,,{\p1}m 0 0 l 100 0 100 100 0 100{\p0}
"""
STYLED_WEBVTT_CUES = """00:00:00.500 --> 00:00:01.500
Первая строка
Вторая <i>строка</i>

00:00:01.000 --> 00:00:01.800
<i>Tom &amp; Jerry &lt;3</i>
<b><i>bold</i></b><i> end</i>
"""


def srt(lines):
    """A SubRip file as Windows editors save it (CRLF); every second cue has two lines."""
    cues = []
    for number, (first, second) in enumerate(zip(lines, lines[1:] + [""]), 1):
        text = f"{first}\r\n{second}" if number % 2 == 0 else first
        cues.append(f"{number}\r\n00:00:0{number},000 --> 00:00:0{number},900\r\n{text}\r\n\r\n")
    return "".join(cues)


def webvtt_cues(lines):
    """What the WebVTT rendition of ``srt(lines)`` must say after its header."""
    cues = []
    for number, (first, second) in enumerate(zip(lines, lines[1:] + [""]), 1):
        text = f"{first}\n{second}" if number % 2 == 0 else first
        cues.append(f"00:00:0{number}.000 --> 00:00:0{number}.900\n{text}\n")
    return "\n".join(cues)


def encode(text, encoding):
    if encoding == "utf-16-le with BOM":
        return codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    if encoding == "utf-8 with BOM":
        return codecs.BOM_UTF8 + text.encode("utf-8")
    return text.encode(encoding)


def add_film(root, library_template, title):
    """A copy of a small clip as ``Movies/<title> (2001)/<title> (2001).mp4``; returns its stem path."""
    folder = root / "Movies" / f"{title} (2001)"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(library_template / "Movies/Heat (1995).mp4", folder / f"{title} (2001).mp4")
    return folder / f"{title} (2001)"


def video_id(app, title):
    return next(s["info"]["id"] for s in app.get("/api/v1/shows").json if s["info"]["title"] == title)


def cues_of(app, title, rendition="subtitles_0"):
    text = app.get(f"/api/v1/video/{video_id(app, title)}/{rendition}/0.vtt").text
    header, cues = text.split("\n\n", 1)
    assert header.startswith("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:")
    return cues


def test_legacy_encodings_come_out_as_the_original_text(make_app, library_template, tmp_path):
    root = tmp_path / "media"
    for title, (suffix, language, encoding) in ENCODED.items():
        stem = add_film(root, library_template, title)
        stem.with_name(stem.name + suffix).write_bytes(encode(srt(SENTENCES[language]), encoding))
    app = make_app(root)
    served = {title: cues_of(app, title) for title in ENCODED}
    assert served == {title: webvtt_cues(SENTENCES[language]) for title, (_, language, _) in ENCODED.items()}


def test_styled_ass_becomes_clean_webvtt(make_app, library_template, tmp_path):
    """Override tags and drawings go, line breaks and italics (inline or from the style)
    stay, text is escaped, overlapping cues stay as they are, comments are not shown."""
    root = tmp_path / "media"
    stem = add_film(root, library_template, "Maple")
    stem.with_name(stem.name + ".ru.ass").write_text(STYLED_ASS, encoding="utf-8")
    assert cues_of(make_app(root), "Maple") == STYLED_WEBVTT_CUES


def test_a_webvtt_sidecar_keeps_its_escapes_and_italics(make_app, library_template, tmp_path):
    """Its notes, identifiers and voice tags go; ``&amp;`` is not escaped twice."""
    root = tmp_path / "media"
    stem = add_film(root, library_template, "Fir")
    stem.with_name(stem.name + ".fr.vtt").write_text(
        "WEBVTT\nKind: captions\n\nNOTE written by hand\n\nintro\n"
        "00:00:00.500 --> 00:00:01.500 align:start position:10%\n"
        "<v Roger>Tom &amp; Jerry &lt;3</v>\n<i>deuxième</i> ligne\n\n", encoding="utf-8")
    assert cues_of(make_app(root), "Fir") == "00:00:00.500 --> 00:00:01.500\nTom &amp; Jerry &lt;3\n<i>deuxième</i> ligne\n"


def test_an_embedded_ass_track_becomes_the_same_webvtt(make_app, library_template, tmp_path):
    """The track's styles come from its header in the codec extradata, as a sidecar's do."""
    root = tmp_path / "media"
    sidecar = tmp_path / "track.ass"
    sidecar.write_text(STYLED_ASS, encoding="utf-8")
    film = root / "Movies/Nettle (2001)/Nettle (2001).mkv"
    film.parent.mkdir(parents=True)
    with av.open(str(library_template / "Movies/Heat (1995).mp4")) as video, av.open(str(sidecar)) as text, \
            av.open(str(film), "w") as out:
        sources = (video.streams.video[0], text.streams[0])
        targets = [out.add_stream_from_template(source) for source in sources]  # all before the first mux
        for source, target in zip(sources, targets):
            for packet in source.container.demux(source):
                if packet.dts is not None:
                    packet.stream = target
                    out.mux(packet)
    assert [s.codec for s in probe.probe(str(film)).subtitles] in (["ass"], ["ssa"])
    assert cues_of(make_app(root), "Nettle") == STYLED_WEBVTT_CUES


def test_microdvd_frames_are_timed_at_the_files_rate_else_the_videos(make_app, library_template, tmp_path):
    """The clip runs at 24 fps; the second file says it was made for 25."""
    root = tmp_path / "media"
    lines = SENTENCES["ru"]
    cues = f"{{24}}{{36}}{{y:i}}{lines[0]}|{lines[1]}\r\n{{48}}{{60}}{lines[2]}\r\n"
    stem = add_film(root, library_template, "Quince")
    stem.with_name(stem.name + ".ru.sub").write_bytes(cues.encode("cp1251"))
    stem = add_film(root, library_template, "Rowan")
    stem.with_name(stem.name + ".ru.sub").write_bytes(("{1}{1}25.000\r\n{25}{50}" + lines[3]).encode("cp1251"))
    app = make_app(root)
    assert cues_of(app, "Quince") == (f"00:00:01.000 --> 00:00:01.500\n<i>{lines[0]}</i>\n<i>{lines[1]}</i>\n\n"
                                      f"00:00:02.000 --> 00:00:02.500\n{lines[2]}\n")
    assert cues_of(app, "Rowan") == f"00:00:01.000 --> 00:00:02.000\n{lines[3]}\n"


def test_a_vobsub_pair_is_not_taken_for_microdvd(make_app, library_template, tmp_path, caplog):
    root = tmp_path / "media"
    stem = add_film(root, library_template, "Sorrel")
    stem.with_name(stem.name + ".en.idx").write_text("# VobSub index file, v7 (do not modify this line!)\n")
    stem.with_name(stem.name + ".en.sub").write_bytes(b"\x00\x00\x01\xba" + random.Random(20).randbytes(4000))
    app = make_app(root)
    assert "TYPE=SUBTITLES" not in app.get(f"/api/v1/video/{video_id(app, 'Sorrel')}/master.m3u8").text
    assert not [r for r in caplog.records if r.levelname == "WARNING" and "Sorrel" in r.getMessage()]


def test_random_bytes_named_srt_are_not_offered(make_app, library_template, tmp_path, caplog):
    root = tmp_path / "media"
    stem = add_film(root, library_template, "Larch")
    stem.with_name(stem.name + ".en.srt").write_bytes(random.Random(20).randbytes(4000))
    app = make_app(root)
    vid = video_id(app, "Larch")
    assert "TYPE=SUBTITLES" not in app.get(f"/api/v1/video/{vid}/master.m3u8").text
    assert app.get(f"/api/v1/video/{vid}/subtitles_0/0.vtt", status=404).content_type == "application/json"
    assert any("Larch (2001).en.srt" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


def test_a_sidecar_broken_after_the_scan_is_a_clear_4xx(make_app, library_template, tmp_path):
    root = tmp_path / "media"
    stem = add_film(root, library_template, "Oak")
    sidecar = stem.with_name(stem.name + ".ru.srt")
    sidecar.write_bytes(srt(SENTENCES["ru"]).encode("cp1251"))
    app = make_app(root)
    sidecar.write_bytes(random.Random(20).randbytes(4000))
    response = app.get(f"/api/v1/video/{video_id(app, 'Oak')}/subtitles_0/0.vtt", status=422)
    assert response.content_type == "application/json"
