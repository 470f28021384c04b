"""Jellyfin routes: PlaybackInfo, the file for direct play, HLS masters, subtitles."""
import logging
import os
import secrets
import urllib.parse

import bottle

from .. import catalog, preferences, signing
from ..errors import HaemaError, not_found
from ..streaming import file_response
from . import cues, decide, ids, items, master, params

log = logging.getLogger(__name__)
CONTENT_TYPES = {"mp4": "video/mp4", "mkv": "video/x-matroska", "webm": "video/webm", "ts": "video/mp2t"}
BITRATE_TEST_MOST = 100_000_000  # bytes, as Jellyfin allows
RANDOM_BLOCK = os.urandom(1 << 16)  # a bitrate test repeats it: random, so no proxy can compress it


def add(app, ctx):
    """Add these routes to ``app``."""
    route, who, config = ctx.route, ctx.who, ctx.config
    library, playback, signer = ctx.library, ctx.playback, ctx.signer

    # -- Playback ----------------------------------------------------------------

    @route("/items/<item_id>/playbackinfo", method=["GET", "POST"])
    def playback_info(item_id):
        """How this client should play the video: decide.decide over the file and the request. The
        audio and subtitle tracks are the ones the request names, else the user's preferences'."""
        identity = who()
        ref = ids.parse(item_id)
        video = catalog.get_video(ref.id) if ref.kind == "item" else None
        if video is None:
            raise not_found("video")
        body = params.body() if bottle.request.method == "POST" else {}
        guid, token = ids.of_item(video.id), ctx.api_key_query()
        streams = items.media_streams(video.info, guid, token)
        asked, subtitle = items.chosen_streams(
            streams, preferences.get_preferences(identity.user_id),
            params.number(body.get("audiostreamindex", params.query("audiostreamindex"))),
            params.number(body.get("subtitlestreamindex", params.query("subtitlestreamindex"))))
        audio = [s["Index"] for s in streams if s["Type"] == "Audio"]
        position = audio.index(asked) if asked is not None else None
        facts = decide.facts_of(video.info)
        profile = body.get("deviceprofile")
        decision = decide.decide(facts, profile, position,
                                 body.get("maxstreamingbitrate", params.query("maxstreamingbitrate")),
                                 direct=_allowed(body, "enabledirectplay"), copy=_allowed(body, "allowvideostreamcopy"))
        session = secrets.token_hex(16)
        signed = signer.query(video.id, identity.user_id) if config.auth else ""
        log.info("jellyfin: PlaybackInfo %s (%s) → %s (%s)", items.title(video.show if video.show.kind == "movie"
                                                                          else video), guid,
                 decision.method, decision.reason)
        source = items.media_source(
            video, video.info, facts.container, decision,
            items.with_subtitle_format(streams, decide.subtitle_format(profile)),
            transcoding_url(video.id, session, signed, None if position == facts.default_audio else position,
                            decision.max_bitrate),
            f"/Videos/{guid}/stream.{facts.container}?Static=true&MediaSourceId={guid}{token.replace('?', '&')}")
        if position is not None:
            source["DefaultAudioStreamIndex"] = asked
        source["DefaultSubtitleStreamIndex"] = subtitle
        return {"MediaSources": [source], "PlaySessionId": session}

    @route("/videos/<item_id>/master.m3u8")
    def master_playlist(item_id):
        """The TranscodingUrl after an audio switch or under a bitrate limit, signed like Haema's own
        (``u``, ``exp``, ``sig``); also Jellyfin's own HLS URL for clients that build it themselves
        (``api_key``, ``AudioStreamIndex``: the video is stream 0, the audio tracks come next)."""
        video_id = ids.parse(item_id).id
        query = ""
        if config.auth and params.query("sig") is not None:
            signer.check(video_id, params.query("u"), params.query("exp"), params.query("sig"))
            query = urllib.parse.urlencode({key: params.query(key) for key in ("u", "exp", "sig")})
        elif config.auth:
            query = signer.query(video_id, who().user_id)
        position = params.number(params.query("audioposition"))
        if position is None:
            position = max(0, (params.number(params.query("audiostreamindex")) or 1) - 1)
        video, text = playback.master(video_id)
        text = master.with_default_audio(text, position, f"/api/v1/video/{video.id}/")
        limit = params.number(params.query("maxstreamingbitrate"))
        if limit:
            text = master.within_bitrate(text, limit)
        return bottle.HTTPResponse(signing.signed_playlist(text, query),
                                   headers={"Content-Type": "application/vnd.apple.mpegurl",
                                            "Cache-Control": "private, no-cache"})

    @route("/videos/<item_id>/stream")
    @route("/videos/<item_id>/stream.<ext>")
    @route("/items/<item_id>/download")
    def stream(item_id, ext=None):
        """The file itself, byte ranges included (direct play, and an app's download for later)."""
        who()
        ref = ids.parse(item_id)
        video = catalog.get_video(ref.id)
        path = library.resolve(video.path)
        if path is None:
            raise not_found("video file")
        container = decide.container_name(video.info.container)
        asked = bottle.request.get_header("Range", "")
        # once a playback, not once a range: a TV may ask for a film in thousands of pieces
        log.log(logging.INFO if not asked or asked.replace(" ", "").startswith("bytes=0-") else logging.DEBUG,
                "jellyfin: direct stream %s (%s)", ids.of_item(video.id), video.path)
        headers = {"Content-Type": CONTENT_TYPES.get(container, "application/octet-stream"),
                   "Cache-Control": "private, max-age=3600"}
        if bottle.request.path.endswith("/download"):
            name = os.path.basename(video.path)
            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{urllib.parse.quote(name)}"
        return file_response(open(path, "rb"), headers)

    @route("/videos/<item_id>/<source_id>/subtitles/<index:int>/stream.<fmt>")
    @route("/videos/<item_id>/<source_id>/subtitles/<index:int>/<start>/stream.<fmt>")
    def subtitle(item_id, source_id, index, fmt, start=None):
        """A subtitle stream as WebVTT, SubRip, or the JSON track events jellyfin-web renders itself."""
        who()
        video = catalog.get_video(ids.parse(item_id).id)
        position = index - 1 - len(video.info.audio)
        if position < 0 or fmt not in ("vtt", "srt", "js"):
            raise not_found("subtitles")
        _, file = playback.subtitles(video.id, f"subtitles_{position}")
        with file:
            text = file.read().decode("utf-8")
        if fmt == "vtt":
            return bottle.HTTPResponse(text, headers={"Content-Type": "text/vtt; charset=utf-8"})
        if fmt == "srt":
            return bottle.HTTPResponse(cues.as_srt(cues.of_webvtt(text)),
                                       headers={"Content-Type": "application/x-subrip; charset=utf-8"})
        return cues.track_events(cues.of_webvtt(text))

    @route("/playback/bitratetest")
    def bitrate_test():
        """``Size`` bytes that compress to nothing less, timed by a client off the local network
        (System/Endpoint) to set its MaxStreamingBitrate."""
        who()
        size = params.integer("size", 102_400)
        if not 0 < size <= BITRATE_TEST_MOST:
            raise HaemaError(f"Size must be 1 to {BITRATE_TEST_MOST} bytes")
        return bottle.HTTPResponse((RANDOM_BLOCK[:min(len(RANDOM_BLOCK), size - start)]
                                    for start in range(0, size, len(RANDOM_BLOCK))),
                                   headers={"Content-Type": "application/octet-stream", "Content-Length": str(size),
                                            "Cache-Control": "no-store"})

    @route("/videos/activeencodings", method="DELETE")
    def active_encodings():
        """Haema's segments are shared and cached: nothing to stop per client."""
        who()
        return params.no_content()


def transcoding_url(video_id, session, signed, audio_position, max_bitrate):
    """The master playlist a client plays over HLS: Haema's own, or, for another audio track
    than the file's default or under a bitrate limit, the same as master.py changes it.
    ``signed``: Haema's signature query (``u``, ``exp``, ``sig``; empty with accounts off),
    so a player without cookies or headers fetches it and all it lists."""
    query = {"PlaySessionId": session, **dict(urllib.parse.parse_qsl(signed))}
    if audio_position is not None:
        query["AudioPosition"] = audio_position
    if max_bitrate:
        query["MaxStreamingBitrate"] = max_bitrate
    if audio_position is None and not max_bitrate:
        return f"/api/v1/video/{video_id}/master.m3u8?{urllib.parse.urlencode(query)}"
    return f"/videos/{ids.of_item(video_id)}/master.m3u8?{urllib.parse.urlencode(query)}"


def _allowed(body, name):
    """A PlaybackInfo switch, in the body or the query, true unless it is said false."""
    value = body.get(name, params.query(name))
    return str(value).lower() != "false" if value is not None else True
