"""The read side of the library: shows, episodes and videos as the API returns them.

Every listing is a fixed number of queries whatever the library size: shows, then the
videos of those shows, then their watch progress, joined in Python. Progress is the
asking user's (``user_id``).
"""
import collections
import datetime
import json
import zlib

from . import probe
from .errors import not_found
from .models import Generation, Progress, Show, Video, fold

API = "/api/v1"
# NULLs first, as SQLite always sorts them and PostgreSQL does only when told
WATCHING_ORDER = (Video.season.asc(nulls="first"), Video.episode.asc(nulls="first"), Video.path)


class Listings:
    """``list_shows`` as JSON text, kept until anything in the library or the watch
    history changes: fifty clients asking at once cost one build, not fifty, and a
    client that has it already gets a 304. One per app."""

    KEPT = 32

    def __init__(self):
        self._texts = collections.OrderedDict()  # (generation, folded search) → JSON text

    def get(self, user_id, search=None):
        """``(etag, JSON text)``."""
        key = (Generation.current(), user_id, fold(search.strip()) if search else "")
        text = self._texts.pop(key, None)
        if text is None:
            text = json.dumps(list_shows(user_id, search), ensure_ascii=False)
        self._texts[key] = text
        while len(self._texts) > self.KEPT:
            self._texts.popitem(last=False)
        return f'"shows-{key[0]}-{user_id}-{zlib.crc32(key[2].encode()):x}"', text


def list_shows(user_id, search=None):
    shows = Show.select().order_by(Show.sort_title, Show.year.asc(nulls="first"), Show.id)
    if search:
        needle = fold(search.strip())
        matching_episodes = Video.select(Video.show).where(Video.search.contains(needle))
        shows = shows.where(Show.search.contains(needle) | Show.id.in_(matching_episodes))
    shows = list(shows)
    videos = videos_by_show([s.id for s in shows])
    progress = Progress.of_videos(user_id, (v.id for group in videos.values() for v in group))
    return [show_json(s, videos[s.id], progress, plots=False) for s in shows]


def summary():
    """The library size in words, for the start-up log line."""
    with Show._meta.database.connection_context():
        shows, videos = Show.select().count(), Video.select().count()
    return f"{shows} shows, {videos} videos"


def get_show(user_id, show_id):
    show = Show.get_or_none(Show.id == show_id)
    if show is None:
        raise not_found("show")
    videos = videos_by_show([show_id])[show_id]
    return show_json(show, videos, Progress.of_videos(user_id, (v.id for v in videos)))


def get_video(video_id):
    video = Video.select(Video, Show).join(Show).where(Video.id == video_id).first()
    if video is None:
        raise not_found("video")
    return video


def video_json(video, user_id, media_query=""):
    """``media_query``: the signature (``?…``) that lets a player without the session fetch the playlists."""
    info = video.info.to_json()  # the API shows the probed facts in the shape they are stored in
    show = video.show
    return {
        "id": video.id,
        "show_id": show.id,
        "show_title": _title(show),
        "type": show.kind,
        "title": _title(video) if show.kind == "series" else _title(show),
        "index": video.index,
        "season": video.season,
        "episode": video.episode,
        "year": show.year,
        "duration": video.duration,
        "container": info["container"],
        "video": info["video"],
        "audio": info["audio"],
        "subtitles": [dict(s, source="embedded") for s in info["subtitles"]]
        + [{"language": s.language, "format": s.format, "forced": s.forced, "source": "sidecar"}
           for s in video.info.sidecars],
        "copyable": probe.is_copyable(video.info),
        "thumbnail": show_info(show, video.frame)["thumbnail"],
        "master": f"{API}/video/{video.id}/master.m3u8{media_query}",
        "trickplay": f"{API}/video/{video.id}/trickplay/thumbnails.vtt{media_query}",
        "progress": _progress_json(Progress.of_videos(user_id, [video.id]).get(video.id)),
    }


def show_info(show, frame=None, added=None):
    """``frame``: a thumbnail made from the video, used when the folder has no poster.
    ``added``: when its newest file was (the file's modification time, as Jellyfin's
    "date added" defaults to)."""
    artwork = f"{API}/shows/{show.id}"
    details = show.details or {}
    return {
        "id": show.id,
        "title": _title(show),
        "year": details.get("year") or show.year,
        "original_title": details.get("original_title"),
        "plot": details.get("plot"),
        "genres": details.get("genres") or [],
        "rating": details.get("rating"),
        "runtime": details.get("runtime"),
        "added": _timestamp(added),
        # a poster is portrait; a frame from the video is a 16:9 still
        "thumbnail_shape": "portrait" if show.thumbnail else "landscape",
        "thumbnail": f"{artwork}/thumbnail" if show.thumbnail or frame else None,
        "banner": f"{artwork}/banner" if show.banner else None,
    }


def _title(row):
    """A title from an .nfo file wins over the name in the folder tree."""
    return (row.details or {}).get("title") or row.title


def _timestamp(mtime):
    if mtime is None:
        return None
    return datetime.datetime.fromtimestamp(mtime, datetime.timezone.utc).isoformat(timespec="seconds")


def show_json(show, videos, progress, plots=True):
    """``progress``: ``{video_id: Progress}``; each video carries its own, or null if never watched.
    ``plots=False``: without plots, which only the show page shows, so a listing of a
    big library stays small."""
    info = show_info(show, next((v.frame for v in videos if v.frame), None), max((v.mtime for v in videos), default=None))
    if not plots:
        del info["plot"]
    if show.kind == "movie":
        return {"type": "movie", "info": info, "progress": _progress_json(progress.get(show.id))}
    episodes = []
    for v in videos:
        episode = {"id": v.id, "index": v.index, "title": _title(v), "season": v.season, "episode": v.episode,
                   "duration": v.duration, "progress": _progress_json(progress.get(v.id))}
        if plots:
            episode["plot"] = (v.details or {}).get("plot")
        episodes.append(episode)
    return {"type": "series", "info": info, "episodes": episodes}


def _progress_json(row):
    return row.as_json() if row is not None else None


def shows_with_frames(show_ids):
    """The ids among ``show_ids`` with a video frame to use as thumbnail, in one query."""
    show_ids = list(show_ids)
    if not show_ids:
        return set()
    query = Video.select(Video.show).where(Video.show.in_(show_ids), Video.frame.is_null(False)).distinct()
    return {v.show_id for v in query}


def artwork_path(show_id, kind):
    """(``"library"``|``"frames"``, relative path) of a show's poster or banner."""
    show = Show.get_or_none(Show.id == show_id)
    if show is None:
        raise not_found("show")
    if kind == "banner" and show.banner:
        return "library", show.banner
    if kind == "thumbnail" and show.thumbnail:
        return "library", show.thumbnail
    if kind == "thumbnail":
        video = show.videos.where(Video.frame.is_null(False)).first()
        if video:
            return "frames", video.frame
    raise not_found(kind)


def videos_by_show(show_ids):
    """``{show_id: [Video]}`` in watching order: season, episode, path."""
    grouped = collections.defaultdict(list)
    if not show_ids:
        return grouped
    fields = (Video.id, Video.show, Video.index, Video.title, Video.season, Video.episode, Video.duration,
              Video.frame, Video.path, Video.mtime, Video.details)
    for start in range(0, len(show_ids), 500):
        query = (Video.select(*fields).where(Video.show.in_(show_ids[start:start + 500]))
                 .order_by(*WATCHING_ORDER))
        for video in query:
            grouped[video.show_id].append(video)
    return grouped

