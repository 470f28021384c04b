"""Jellyfin DTOs (BaseItemDto, UserDto, MediaSourceInfo…) as pure functions over Haema's rows.

Field choices follow what jellyfin-web and the other clients read (see README, "Jellyfin
apps"); times are ticks (10^7 per second), as Jellyfin counts them."""
import datetime
import hashlib

import babelfish

from .. import preferences
from ..errors import HaemaError
from . import ids

TICKS = 10_000_000
VERSION = "10.10.7"  # what jellyfin-web 10.10 requires of a server (≥ 10.8)


def ticks(seconds):
    return int(round((seconds or 0) * TICKS))


def title(row):
    """A title from an .nfo file wins over the name in the folder tree (as catalog does)."""
    return (row.details or {}).get("title") or row.title


def image_tag(*parts):
    return hashlib.md5("/".join(str(p) for p in parts).encode()).hexdigest()[:16]


def public_info(server_id, name):
    return {"Id": server_id, "ServerName": name, "Version": VERSION, "ProductName": "Jellyfin Server",
            "LocalAddress": "", "OperatingSystem": "", "StartupWizardCompleted": True}


def user_dto(identity, server_id, chosen):
    """``chosen``: the user's preferences.PlaybackPreferences, the part of the configuration Haema keeps."""
    admin = bool(identity.admin)
    return {
        "Id": ids.of_user(identity.user_id), "Name": identity.name, "ServerId": server_id,
        "HasPassword": True, "HasConfiguredPassword": True, "HasConfiguredEasyPassword": False,
        "EnableAutoLogin": False, "PrimaryImageTag": None, "LastLoginDate": None, "LastActivityDate": None,
        "Configuration": {
            **user_configuration(chosen), "DisplayMissingEpisodes": False, "GroupedFolders": [],
            "DisplayCollectionsView": False, "EnableLocalPassword": False, "OrderedViews": [],
            "LatestItemsExcludes": [], "MyMediaExcludes": [], "HidePlayedInLatest": True,
            "RememberAudioSelections": True, "RememberSubtitleSelections": True,
            "EnableNextEpisodeAutoPlay": True, "CastReceiverId": None,
        },
        "Policy": {
            "IsAdministrator": admin, "IsHidden": False, "IsDisabled": False, "EnableMediaPlayback": True,
            "EnableAudioPlaybackTranscoding": True, "EnableVideoPlaybackTranscoding": True,
            "EnablePlaybackRemuxing": True, "EnableContentDownloading": True, "EnableContentDeletion": False,
            "EnableRemoteControlOfOtherUsers": False, "EnableSharedDeviceControl": False,
            "EnableLiveTvAccess": False, "EnableLiveTvManagement": False, "SyncPlayAccess": "None",
            "EnableUserPreferenceAccess": True, "EnableSubtitleManagement": False, "EnableAllFolders": True,
            "EnableRemoteAccess": True, "EnableAllDevices": True, "EnableAllChannels": False,
            "EnabledFolders": [], "AuthenticationProviderId": "haema", "PasswordResetProviderId": "haema",
            # the rest only for clients that read the whole policy (the Kotlin SDK requires these)
            "ForceRemoteSourceTranscoding": False, "EnableSyncTranscoding": False, "EnableMediaConversion": False,
            "EnablePublicSharing": False, "InvalidLoginAttemptCount": 0, "LoginAttemptsBeforeLockout": -1,
            "MaxActiveSessions": 0, "RemoteClientBitrateLimit": 0, "EnableCollectionManagement": False,
        },
    }


SUBTITLE_MODES = ("Default", "Always", "OnlyForced", "None", "Smart")


def user_configuration(chosen):
    """The UserConfiguration fields of a user's playback preferences (preferences.PlaybackPreferences),
    as Jellyfin names them: languages in ISO 639-2/B ("fre"); a chosen audio language is played
    instead of the file's default track; chosen subtitles are on in every film ("Always")."""
    audio, subtitles = chosen.audio_language, chosen.subtitle_language
    off = subtitles == preferences.OFF
    return {"PlayDefaultAudioTrack": audio is None,
            "AudioLanguagePreference": preferences.three_letter(audio) if audio else "",
            "SubtitleLanguagePreference": preferences.three_letter(subtitles) if subtitles and not off else "",
            "SubtitleMode": "None" if off else "Always" if subtitles else "Default"}


def configured_preferences(body, chosen):
    """``{field: value}`` of the playback preferences a posted UserConfiguration (``body``, keys
    lower-cased) changes in ``chosen``: what it leaves out stays. An audio language counts only without
    ``PlayDefaultAudioTrack`` (Jellyfin plays the default track then, whatever the language);
    ``SubtitleMode`` "None" is subtitles off, any other mode with a language that language.
    A value of the wrong kind is a HaemaError (400)."""
    changes = {}
    if "audiolanguagepreference" in body or "playdefaultaudiotrack" in body:
        play_default = body.get("playdefaultaudiotrack", chosen.audio_language is None)
        if not isinstance(play_default, bool):
            raise HaemaError("PlayDefaultAudioTrack must be true or false")
        language = body.get("audiolanguagepreference") or None
        changes["audio_language"] = None if play_default else preferences.language(language, "AudioLanguagePreference")
    if "subtitlemode" in body or "subtitlelanguagepreference" in body:
        mode = body.get("subtitlemode", "Default")
        if mode not in SUBTITLE_MODES:
            raise HaemaError(f"SubtitleMode must be one of {', '.join(SUBTITLE_MODES)}, not {mode!r}")
        language = body.get("subtitlelanguagepreference") or None
        changes["subtitle_language"] = preferences.OFF if mode == "None" else preferences.language(
            language, "SubtitleLanguagePreference")
    return changes


def chosen_streams(streams, chosen, audio=None, subtitle=None):
    """``(audio, subtitle)``: the ``Index`` of the MediaStreams to play. The ones a request names
    (``audio``, ``subtitle``), else those the user's playback preferences (``chosen``) pick: the
    first audio track in their language, the first subtitle track in theirs, unforced first.
    None: the file's default audio track; -1: no subtitles."""
    def of(kind, language, asked, none):
        indexes = [s["Index"] for s in streams if s["Type"] == kind]
        if asked in indexes or (asked == -1 and kind == "Subtitle"):
            return asked
        picked = [s for s in streams if s["Type"] == kind and language not in (None, preferences.OFF)
                  and preferences.matches(language, s["Language"])]
        picked.sort(key=lambda s: s["IsForced"])
        return picked[0]["Index"] if picked else none

    return (of("Audio", chosen.audio_language, audio, None),
            of("Subtitle", chosen.subtitle_language, subtitle, -1))


def cultures():
    """CultureDto of every language with a two-letter code, by name: what jellyfin-web's playback
    settings offer for the audio and subtitle language, valued by the ISO 639-2/B code that
    ``user_configuration`` gives (Jellyfin's own list does the same)."""
    languages = sorted((row for row in babelfish.LANGUAGE_MATRIX if row.alpha2), key=lambda row: row.name)
    return [{"Name": row.name, "DisplayName": row.name, "TwoLetterISOLanguageName": row.alpha2,
             "ThreeLetterISOLanguageName": row.alpha3b,
             "ThreeLetterISOLanguageNames": sorted({row.alpha3b, row.alpha3t})} for row in languages]


def view_dto(guid, server_id, count):
    movies = guid == ids.MOVIES_VIEW
    return {"Id": guid, "Name": "Movies" if movies else "Shows", "ServerId": server_id, "Type": "CollectionFolder",
            "CollectionType": "movies" if movies else "tvshows", "IsFolder": True, "ChildCount": count,
            "ImageTags": {}, "BackdropImageTags": [], "LocationType": "FileSystem", "MediaType": "Unknown",
            "UserData": _folder_user_data(guid, 0, 0)}


def genre_dto(guid, name, count, server_id):
    return {"Id": guid, "Name": name, "ServerId": server_id, "Type": "Genre", "IsFolder": True,
            "ChildCount": count, "ImageTags": {}, "BackdropImageTags": [], "LocationType": "Virtual",
            "MediaType": "Unknown", "UserData": _folder_user_data(guid, 0, 0)}


def user_data(key, progress, duration):
    """UserItemDataDto from Haema's Progress row (None: never watched)."""
    if progress is None:
        return {"Key": key, "ItemId": key, "PlaybackPositionTicks": 0, "PlayCount": 0, "IsFavorite": False,
                "Played": False, "PlayedPercentage": 0}
    finished = bool(progress.finished)
    position = 0 if finished else ticks(progress.position)
    return {"Key": key, "ItemId": key, "PlaybackPositionTicks": position, "PlayCount": 1 if finished else 0,
            "IsFavorite": False, "Played": finished,
            "PlayedPercentage": (100 * progress.position / duration) if duration and not finished else 0,
            "LastPlayedDate": _iso(progress.updated_at)}


def _folder_user_data(key, unplayed, total):
    return {"Key": key, "ItemId": key, "PlaybackPositionTicks": 0, "PlayCount": 0, "IsFavorite": False,
            "Played": total > 0 and unplayed == 0, "UnplayedItemCount": unplayed}


def _iso(moment):
    if moment is None:
        return None
    if isinstance(moment, (int, float)):
        moment = datetime.datetime.fromtimestamp(moment, datetime.timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds") + ".0000000Z"


def _year_fields(year):
    return {"ProductionYear": year, "PremiereDate": f"{year}-01-01T00:00:00.0000000Z"} if year else {}


def artwork(show, video, show_frame):
    """``{Jellyfin image type: (place, relative path)}`` of an item, ``place`` being "library"
    (the show's poster or banner) or "frames" (a still Haema made from a video). ``video``: the
    film or episode, None for a series or season; ``show_frame``: a still of any of the show's
    videos, or None. An episode is pictured by its own still first, anything else by its poster."""
    poster = ("library", show.thumbnail) if show.thumbnail else None
    banner = ("library", show.banner) if show.banner else None
    own = ("frames", video.frame) if video is not None and video.frame else None
    still = own or (("frames", show_frame) if show_frame else None)
    episode = video is not None and show.kind == "series"
    found = {"Primary": (own or poster or still) if episode else (poster or still),
             "Backdrop": banner, "Banner": banner, "Thumb": own or banner or still}
    return {kind: picture for kind, picture in found.items() if picture}


def artwork_tags(pictures):
    """A tag per picture (clients put it in the image URL, so a changed picture is fetched anew)."""
    return {kind: image_tag(*picture) for kind, picture in pictures.items()}


def _images(pictures):
    """ImageTags, BackdropImageTags and the Primary picture's aspect (a poster's, or a still's)."""
    tags = artwork_tags(pictures)
    primary = pictures.get("Primary")
    return {"ImageTags": {kind: tag for kind, tag in tags.items() if kind != "Backdrop"},
            "BackdropImageTags": [tags["Backdrop"]] if "Backdrop" in tags else [],
            "PrimaryImageAspectRatio": None if primary is None else 16 / 9 if primary[0] == "frames" else 2 / 3}


def movie_dto(show, video, progress, server_id, show_frame):
    guid = ids.of_item(video.id)
    return {
        "Id": guid, "Name": title(show), "SortName": show.sort_title, "ServerId": server_id, "Type": "Movie",
        "MediaType": "Video", "IsFolder": False, "LocationType": "FileSystem", "VideoType": "VideoFile",
        "RunTimeTicks": ticks(video.duration), "DateCreated": _iso(video.mtime), "CanDelete": False,
        "CanDownload": True, "PlayAccess": "Full", "Overview": (show.details or {}).get("plot"),
        "Genres": (show.details or {}).get("genres") or [], "ParentId": ids.MOVIES_VIEW,
        **_year_fields((show.details or {}).get("year") or show.year), **_images(artwork(show, video, show_frame)),
        "UserData": user_data(guid, progress, video.duration),
    }


def series_dto(show, episodes, progress, server_id, show_frame):
    guid = ids.of_item(show.id)
    unplayed = sum(1 for v in episodes if not (progress.get(v.id) and progress[v.id].finished))
    return {
        "Id": guid, "Name": title(show), "SortName": show.sort_title, "ServerId": server_id, "Type": "Series",
        "IsFolder": True, "LocationType": "FileSystem", "ChildCount": len({v.season for v in episodes}),
        "RecursiveItemCount": len(episodes), "CanDelete": False, "PlayAccess": "Full",
        "Overview": (show.details or {}).get("plot"), "Genres": (show.details or {}).get("genres") or [],
        "DateCreated": _iso(max((v.mtime for v in episodes), default=None)), "ParentId": ids.SHOWS_VIEW,
        **_year_fields((show.details or {}).get("year") or show.year), **_images(artwork(show, None, show_frame)),
        "UserData": _folder_user_data(guid, unplayed, len(episodes)),
    }


def season_dto(show, season, episodes, progress, server_id, show_frame):
    guid = ids.of_season(show.id, season)
    pictures = artwork(show, None, show_frame)
    unplayed = sum(1 for v in episodes if not (progress.get(v.id) and progress[v.id].finished))
    return {
        "Id": guid, "Name": f"Season {season}" if season else "Specials", "ServerId": server_id,
        "Type": "Season", "IsFolder": True, "LocationType": "FileSystem", "IndexNumber": season or 0,
        "SeriesId": ids.of_item(show.id), "SeriesName": title(show), "ParentId": ids.of_item(show.id),
        "ChildCount": len(episodes), "SeriesPrimaryImageTag": artwork_tags(pictures).get("Primary"),
        **_images(pictures), "UserData": _folder_user_data(guid, unplayed, len(episodes)),
    }


def episode_dto(show, video, progress, server_id, show_frame):
    guid = ids.of_item(video.id)
    series = artwork_tags(artwork(show, None, show_frame))
    series_guid = ids.of_item(show.id)
    return {
        "Id": guid, "Name": title(video), "ServerId": server_id, "Type": "Episode", "MediaType": "Video",
        "IsFolder": False, "LocationType": "FileSystem", "VideoType": "VideoFile",
        "RunTimeTicks": ticks(video.duration), "DateCreated": _iso(video.mtime), "CanDelete": False,
        "CanDownload": True, "PlayAccess": "Full", "Overview": (video.details or {}).get("plot"),
        "IndexNumber": video.episode, "ParentIndexNumber": video.season or 0,
        "SeriesId": series_guid, "SeriesName": title(show), "SeasonId": ids.of_season(show.id, video.season),
        "SeasonName": f"Season {video.season}" if video.season else "Specials",
        "ParentId": ids.of_season(show.id, video.season), "SeriesPrimaryImageTag": series.get("Primary"),
        "ParentBackdropItemId": series_guid if "Backdrop" in series else None,
        "ParentBackdropImageTags": [series["Backdrop"]] if "Backdrop" in series else [],
        "ParentThumbItemId": series_guid if "Thumb" in series else None,
        "ParentThumbImageTag": series.get("Thumb"), "SeriesThumbImageTag": series.get("Thumb"),
        **_images(artwork(show, video, show_frame)), "UserData": user_data(guid, progress, video.duration),
    }


def media_streams(info, video_guid, subtitle_query):
    """MediaStreams with ``Index`` = position in the list (clients index the list with it):
    the video, the audio tracks, then the subtitles in the order Haema's HLS plan lists them
    (sidecars, then embedded text tracks), delivered as WebVTT by URL."""
    video = info.video
    # flags every stream carries (clients on the Kotlin SDK require them)
    plain = {"IsInterlaced": False, "IsDefault": False, "IsForced": False, "IsHearingImpaired": False,
             "IsOriginal": False, "IsExternal": False, "IsTextSubtitleStream": False, "SupportsExternalStream": False}
    streams = [dict(plain, Type="Video", Index=0, Codec=video.codec, Width=video.width, Height=video.height,
                    BitRate=video.bit_rate or None, AverageFrameRate=video.fps, RealFrameRate=video.fps,
                    VideoRange="SDR" if video.range == "SDR" else "HDR", IsInterlaced=bool(video.interlaced),
                    Profile=video.profile, Level=video.level, PixelFormat=video.pix_fmt, IsDefault=True,
                    DisplayTitle=f"{video.height}p {video.codec.upper()}")]
    default_audio = next((t for t in info.audio if t.default), info.audio[0] if info.audio else None)
    for track in info.audio:
        streams.append(dict(plain, Type="Audio", Index=len(streams), Codec=track.codec, Language=track.language,
                            Title=track.title, Channels=track.channels, SampleRate=track.sample_rate,
                            BitRate=track.bit_rate or None, IsDefault=track is default_audio,
                            DisplayTitle=" - ".join(p for p in (track.title or track.language, track.codec.upper(),
                                                                f"{track.channels} ch") if p)))
    subtitles = [(s.language, s.format, s.forced, True) for s in info.sidecars]
    subtitles += [(s.language, s.codec, False, False) for s in info.subtitles if s.text]
    for language, codec, forced, external in subtitles:
        index = len(streams)
        # ASS/SSA arrive as WebVTT too: named so, a client does not hand them to libass
        codec = "webvtt" if codec in ("ass", "ssa") else codec
        streams.append(dict(plain, Type="Subtitle", Index=index, Codec=codec, Language=language,
                            DisplayTitle=(language or "Unknown") + (" (forced)" if forced else ""),
                            Title=None, IsExternal=external, IsForced=forced, IsTextSubtitleStream=True,
                            SupportsExternalStream=True, DeliveryMethod="External",
                            DeliveryUrl=f"/Videos/{video_guid}/{video_guid}/Subtitles/{index}/0/Stream.vtt"
                                        f"{subtitle_query}",
                            IsExternalUrl=False))
    return streams


def trickplay_info(guid, layout):
    """The item's ``Trickplay``: Haema's seek-preview sheets (trickplay.Layout) as Jellyfin
    describes its own, keyed by media source and by tile width; ``TileWidth``/``TileHeight``
    count tiles, ``Interval`` is in milliseconds. Sheets are at ``Videos/{id}/Trickplay/{width}/{n}.jpg``."""
    return {guid: {str(layout.tile_width): {
        "Width": layout.tile_width, "Height": layout.tile_height, "TileWidth": layout.columns,
        "TileHeight": layout.rows, "ThumbnailCount": layout.tiles, "Interval": int(layout.interval * 1000),
        "Bandwidth": 0}}}


def media_source(video, info, container, decision, streams, transcoding_url, direct_url=None):
    """MediaSourceInfo; ``decision``: decide.Decision; ``direct_url``: the file's URL with the
    token, for players that take a URL as it is."""
    guid = ids.of_item(video.id)
    audio = [s for s in streams if s["Type"] == "Audio"]
    source = {
        "Id": guid, "Name": title(video), "Path": video.path, "Protocol": "File", "Type": "Default",
        "Container": container, "Size": video.size, "IsRemote": False, "RequiresOpening": False,
        "RequiresClosing": False, "RunTimeTicks": ticks(video.duration), "ETag": image_tag(video.id, video.version),
        "VideoType": "VideoFile", "Bitrate": info.bit_rate or None, "MediaStreams": streams,
        "MediaAttachments": [], "RequiredHttpHeaders": {}, "Formats": [], "IsInfiniteStream": False,
        "SupportsDirectPlay": decision.direct, "SupportsDirectStream": decision.direct,
        "SupportsTranscoding": True, "SupportsProbing": False, "ReadAtNativeFramerate": False,
        "IgnoreDts": False, "IgnoreIndex": False, "GenPtsInput": False, "RequiresLooping": False,
        "HasSegments": False, "TranscodingSubProtocol": "http",
        "DefaultAudioStreamIndex": next((s["Index"] for s in audio if s["IsDefault"]), None),
        "DefaultSubtitleStreamIndex": -1,
    }
    if not decision.direct:
        source.update(TranscodingUrl=transcoding_url, TranscodingSubProtocol="hls", TranscodingContainer="ts")
    elif direct_url:
        source["DirectStreamUrl"] = direct_url
    return source


def with_subtitle_format(streams, fmt):
    """``streams`` with their subtitles delivered as ``fmt`` ("vtt" or "srt", decide.subtitle_format)."""
    if fmt == "vtt":
        return streams
    return [dict(s, Codec=fmt, DeliveryUrl=s["DeliveryUrl"].replace("/Stream.vtt", f"/Stream.{fmt}"))
            if s["Type"] == "Subtitle" else s for s in streams]


def played_position(ticks_value, duration):
    """Seconds from a client's PositionTicks, within the video (a browser's end can pass Haema's probed one)."""
    try:
        seconds = max(0.0, float(ticks_value or 0) / TICKS)
    except (TypeError, ValueError):
        seconds = 0.0
    return min(seconds, duration)
