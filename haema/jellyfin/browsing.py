"""Jellyfin routes: views, item listings and single items, the home rows, played marks."""
import bottle

from .. import catalog, history, trickplay
from ..errors import not_found
from ..models import Favourite, Video
from . import browse, decide, ids, items, params

EMPTY = {"Items": [], "TotalRecordCount": 0, "StartIndex": 0}
MEDIA_FIELDS = {"mediastreams", "mediasources", "trickplay", "chapters"}  # Fields that ``fielded`` adds


def add(app, ctx):
    """Add these routes to ``app``."""
    route, who, snapshot = ctx.route, ctx.who, ctx.snapshot

    # -- Browsing ----------------------------------------------------------------

    @route("/userviews")
    @route("/users/<user_id>/views")
    def views(user_id=None):
        found = snapshot(who()).views()
        return {"Items": found, "TotalRecordCount": len(found), "StartIndex": 0}

    @route("/items")
    @route("/users/<user_id>/items")
    def list_items(user_id=None):
        snap = snapshot(who())
        parent = params.parent()
        recursive = params.flag("recursive") or bool(params.query("searchterm"))
        types = params.listed("includeitemtypes")
        found = snap.children(parent, recursive, types)
        if parent is None and not recursive and (params.listed("ids") or params.listed("includeitemtypes")):
            found = snap.children(None, True, types)  # a lookup by ids or types means the whole library
        page, total = browse.select(found, params.items_query())
        return {"Items": fielded(page), "TotalRecordCount": total, "StartIndex": params.integer("startindex", 0)}

    @route("/items/resume")
    @route("/useritems/resume")
    @route("/users/<user_id>/items/resume")
    def resume(user_id=None):
        snap = snapshot(who())
        media = params.listed("mediatypes")
        if media and "video" not in media:
            return EMPTY
        found = snap.resume()
        parent = params.parent()
        if parent is not None:
            allowed = {i["Id"] for i in snap.children(parent, True)}
            found = [i for i in found if i["Id"] in allowed]
        page, total = browse.select(found, params.items_query(sort=False))
        return {"Items": fielded(page), "TotalRecordCount": total, "StartIndex": params.integer("startindex", 0)}

    @route("/items/latest")
    @route("/users/<user_id>/items/latest")
    def latest(user_id=None):
        found = snapshot(who()).latest(params.parent())
        page, _ = browse.select(found, params.items_query(sort=False))
        return params.as_json(fielded(page))

    @route("/items/<item_id>")
    @route("/users/<user_id>/items/<item_id>")
    def item(item_id, user_id=None):
        identity = who()
        ref = ids.parse(item_id)
        found = snapshot(identity).get(ref)
        if found is None:
            raise not_found("item")
        if found.get("MediaType") == "Video":
            found.update(media_fields(catalog.get_video(ref.id), found["Id"], ctx.api_key_query()))
            found["People"], found["Studios"], found["Taglines"] = [], [], []
        return found

    @route("/shows/nextup")
    def next_up():
        found = snapshot(who()).next_up(params.series_id(params.query("seriesid")))
        page, total = browse.select(found, params.items_query(sort=False))
        return {"Items": fielded(page), "TotalRecordCount": total, "StartIndex": params.integer("startindex", 0)}

    @route("/shows/<series_id>/seasons")
    def seasons(series_id):
        found = snapshot(who()).seasons(params.series_id(series_id))
        return {"Items": found, "TotalRecordCount": len(found), "StartIndex": 0}

    @route("/shows/<series_id>/episodes")
    def episodes(series_id):
        snap = snapshot(who())
        show_id = params.series_id(series_id)
        season = None
        if params.query("seasonid"):
            ref = ids.parse(params.query("seasonid"))
            season = ref.season if ref.kind == "season" else None
        elif params.query("season"):
            season = params.integer("season", 0)
        found = snap.episodes(show_id, season)
        start_at = params.query("startitemid")
        if start_at:
            guid = start_at.replace("-", "").lower()
            at = next((n for n, e in enumerate(found) if e["Id"] == guid), 0)
            found = found[at:]
        page, total = browse.select(found, params.items_query(sort=False))
        return {"Items": fielded(page), "TotalRecordCount": total, "StartIndex": params.integer("startindex", 0)}

    def fielded(page):
        """The page with the fields ``Fields`` asks that a listing leaves out (the files' streams,
        sources and seek previews: jellyfin-web's play queue asks ``Fields=Chapters,Trickplay``),
        read for the page's videos alone; the listing's own DTOs are shared, so these are copies."""
        asked = set(params.listed("fields")) & MEDIA_FIELDS
        wanted = [ids.parse(i["Id"]).id for i in page if i.get("MediaType") == "Video"]
        if not asked or not wanted:
            return page
        videos = {v.id: v for v in Video.select().where(Video.id.in_(wanted))}
        query = ctx.api_key_query()
        return [dict(i, **{key: value for key, value in media_fields(video, i["Id"], query).items()
                           if key.lower() in asked})
                if (video := videos.get(ids.parse(i["Id"]).id)) is not None else i for i in page]

    # -- Genres (from the .nfo files) -------------------------------------------------

    def genres_asked(snap):
        """The genres of what ``ParentId`` / ``IncludeItemTypes`` ask: films, series or both."""
        parent, types = params.parent(), set(params.listed("includeitemtypes")) & {"movie", "series"}
        if parent is not None and parent.kind == "view":
            types = {"movie"} if parent.id == ids.MOVIES_VIEW else {"series"}
        return snap.genres(tuple(types or ("movie", "series")))

    @route("/genres")
    def genres():
        found = genres_asked(snapshot(who()))
        asked = params.items_query(sort=False)
        page, total = browse.select(found, browse.Query(search=asked.search, start=asked.start, limit=asked.limit))
        return {"Items": page, "TotalRecordCount": total, "StartIndex": asked.start}

    @route("/genres/<name>")
    def genre(name):
        found = snapshot(who()).get(ids.parse(ids.of_genre(name)))
        if found is None:
            raise not_found("genre")
        return found

    @route("/items/filters")
    def filters():
        return {"Genres": [g["Name"] for g in genres_asked(snapshot(who()))], "Tags": [], "OfficialRatings": [],
                "Years": []}

    @route("/items/filters2")
    def filters2():
        return {"Genres": [{"Name": g["Name"], "Id": g["Id"]} for g in genres_asked(snapshot(who()))], "Tags": []}

    # -- Marking played ------------------------------------------------------------

    @route("/users/<user_id>/playeditems/<item_id>", method=["POST", "DELETE"])
    @route("/userplayeditems/<item_id>", method=["POST", "DELETE"])
    def played(item_id, user_id=None):
        identity = who()
        snap = snapshot(identity)
        ref = ids.parse(item_id)
        targets = _videos_of(snap, ref)
        if not targets:
            raise not_found("item")
        for video in targets:
            if bottle.request.method == "POST":
                history.save_progress(identity.user_id, video.id, {"position": video.duration})
            else:
                history.clear_progress(identity.user_id, video.id)
        return snapshot(identity).get(ref)["UserData"]

    @route("/users/<user_id>/favoriteitems/<item_id>", method=["POST", "DELETE"])
    @route("/userfavoriteitems/<item_id>", method=["POST", "DELETE"])
    def favourite(item_id, user_id=None):
        """Mark or unmark a favourite (a film, series, season or episode); the item's new UserData."""
        identity = who()
        ref = ids.parse(item_id)
        key = ids.favourite_key(ref)
        if key is None or snapshot(identity).get(ref) is None:
            raise not_found("item")
        if bottle.request.method == "POST":
            Favourite.insert(user_id=identity.user_id, item=key).on_conflict_ignore().execute()
        else:
            Favourite.delete().where(Favourite.user_id == identity.user_id, Favourite.item == key).execute()
        return snapshot(identity).get(ref)["UserData"]

    @route("/useritems/<item_id>/rating", method=["POST", "DELETE"])
    @route("/users/<user_id>/items/<item_id>/rating", method=["POST", "DELETE"])
    def rating(item_id, user_id=None):
        """Haema keeps no likes: the item's data, unchanged."""
        found = snapshot(who()).get(ids.parse(item_id))
        if found is None:
            raise not_found("item")
        return found["UserData"]

    @route("/useritems/<item_id>/userdata", method=["GET", "POST"])
    @route("/users/<user_id>/items/<item_id>/userdata", method=["GET", "POST"])
    def user_data(item_id, user_id=None):
        """An item's UserData (the 10.9+ route); a POST sets ``Played`` or ``PlaybackPositionTicks``."""
        identity = who()
        ref = ids.parse(item_id)
        if bottle.request.method == "POST":
            body = params.body()
            for video in _videos_of(snapshot(identity), ref):
                if body.get("played") is True:
                    history.save_progress(identity.user_id, video.id, {"position": video.duration})
                elif body.get("played") is False:
                    history.clear_progress(identity.user_id, video.id)
                elif body.get("playbackpositionticks") is not None:
                    seconds = items.played_position(body["playbackpositionticks"], video.duration)
                    history.save_progress(identity.user_id, video.id, {"position": seconds})
        found = snapshot(identity).get(ref)
        if found is None:
            raise not_found("item")
        return found["UserData"]

    @route("/items/counts")
    def counts():
        snap = snapshot(who())
        movies, series, episodes = snap.movies(), snap.series(), snap.episodes()
        none = dict.fromkeys(("ArtistCount", "ProgramCount", "TrailerCount", "SongCount", "AlbumCount",
                              "MusicVideoCount", "BoxSetCount", "BookCount"), 0)
        return dict(none, MovieCount=len(movies), SeriesCount=len(series), EpisodeCount=len(episodes),
                    ItemCount=len(movies) + len(series) + len(episodes))


def media_fields(video, guid, subtitle_query):
    """What an item of a video carries beyond a listing's fields: MediaStreams, MediaSources
    (as a plain browser would play it: PlaybackInfo decides for a client), Trickplay, Chapters."""
    streams = items.media_streams(video.info, guid, subtitle_query)
    decision = decide.Decision("DirectPlay", "") if _direct_candidate(video) else decide.Decision("HLS transcode", "")
    return {"MediaStreams": streams, "Chapters": [],
            "MediaSources": [items.media_source(video, video.info, decide.container_name(video.info.container),
                                                decision, streams, None)],
            "Trickplay": items.trickplay_info(guid, trickplay.video_layout(video.info))}


def _direct_candidate(video):
    return decide.decide(decide.facts_of(video.info), None).direct


def _videos_of(snap, ref):
    """The videos an item stands for: itself, or a series' or season's episodes."""
    if ref.kind == "view":
        return []
    show_id = ref.id
    videos = snap.videos.get(show_id)
    if videos is None:
        return [v for vs in snap.videos.values() for v in vs if v.id == ref.id]
    if ref.kind == "season":
        return [v for v in videos if (v.season or 0) == ref.season]
    return videos
