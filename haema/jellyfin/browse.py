"""The library as Jellyfin lists it: a snapshot of Haema's catalog for a user, queried the
way ``/Items`` asks (parent, types, search, filters, sort, paging).

A snapshot is a fixed number of queries (shows, their videos, the user's progress and
favourites) whatever
the library size, and is kept while nothing in the library or the user's history changes
(routes.Context.snapshot): the lists of films, series and episodes it builds are kept with it,
so a home screen's six requests and a client paging through a view build them once. Lists are
shared: a route changes only what ``get`` returns, which is built anew each time."""
import collections
import dataclasses
import random

from .. import catalog, history
from ..models import Favourite, Progress, Show, fold
from . import ids, items



class Snapshot:
    def __init__(self, user_id, server_id):
        self.user_id, self.server_id = user_id, server_id
        self.shows = {s.id: s for s in Show.select().order_by(Show.sort_title, Show.year.asc(nulls="first"), Show.id)}
        self.videos = catalog.videos_by_show(list(self.shows))
        self.progress = Progress.of_videos(self.user_id, (v.id for vs in self.videos.values() for v in vs))
        self.favourites = {ids.of_favourite_key(key) for key in Favourite.of_user(self.user_id)}
        # a still of each show, for a show without a poster (items.artwork; images.py picks the same)
        self.frames = {s: next((v.frame for v in vs if v.frame), None) for s, vs in self.videos.items()}
        self._movies = self._series = None
        self._episodes = {}  # show id → its episodes' DTOs

    # -- single items ----------------------------------------------------------

    def movies(self):
        if self._movies is None:
            self._movies = [self._movie(s) for s in self.shows.values() if s.kind == "movie" and self.videos.get(s.id)]
        return list(self._movies)

    def series(self):
        if self._series is None:
            self._series = [self._one_series(s) for s in self.shows.values()
                            if s.kind == "series" and self.videos.get(s.id)]
        return list(self._series)

    def seasons(self, show_id):
        show = self.shows.get(show_id)
        if show is None or show.kind != "series":
            return []
        numbers = sorted({v.season or 0 for v in self.videos[show_id]})
        return [self._marked(items.season_dto(show, n, [v for v in self.videos[show_id] if (v.season or 0) == n],
                                              self.progress, self.server_id, self.frames.get(show_id)))
                for n in numbers]

    def episodes(self, show_id=None, season=None):
        shows = [show_id] if show_id else [s.id for s in self.shows.values() if s.kind == "series"]
        found = []
        for sid in shows:
            show = self.shows.get(sid)
            if show is None or show.kind != "series":
                continue
            if sid not in self._episodes:
                self._episodes[sid] = [self._episode(show, v) for v in self.videos[sid]]
            found += [e for e in self._episodes[sid] if season is None or e["ParentIndexNumber"] == season]
        return found

    def get(self, ref):
        """The DTO of ``ref`` (ids.Ref), or None."""
        if ref.kind == "view":
            return self.view(ref.id)
        if ref.kind == "season":
            return next((s for s in self.seasons(ref.id) if s["IndexNumber"] == ref.season), None)
        if ref.kind == "genre":
            return next((g for g in self.genres() if g["Id"] == ref.id + ids.GENRE_TAIL), None)
        show = self.shows.get(ref.id)
        if show is not None:
            if show.kind == "movie":
                return self._movie(show)
            return self._one_series(show) if self.videos.get(show.id) else None
        for sid, videos in self.videos.items():
            for v in videos:
                if v.id == ref.id:
                    return self._episode(self.shows[sid], v)
        return None

    def view(self, guid):
        count = len(self.movies()) if guid == ids.MOVIES_VIEW else len(self.series())
        return items.view_dto(guid, self.server_id, count)

    def views(self):
        return [self.view(ids.MOVIES_VIEW), self.view(ids.SHOWS_VIEW)]

    def genres(self, kinds=("movie", "series")):
        """Genre DTOs of the films and series (``kinds``), from their .nfo files, by name; a genre
        spelt two ways (case, accents) is one, named as most of its shows spell it."""
        spellings = collections.defaultdict(collections.Counter)  # GUID → spelling → shows
        for show in self.shows.values():
            if show.kind in kinds and self.videos.get(show.id):
                for name in (show.details or {}).get("genres") or ():
                    spellings[ids.of_genre(name)][name.strip()] += 1
        # the commonest spelling; at a tie, a capitalised one ("Drama" before "drama")
        named = {guid: max(counts, key=lambda name: (counts[name], name[:1].isupper()))
                 for guid, counts in spellings.items()}
        return [items.genre_dto(guid, named[guid], spellings[guid].total(), self.server_id)
                for guid in sorted(named, key=lambda g: fold(named[g]))]

    def _movie(self, show):
        video = self.videos[show.id][0]
        return self._marked(items.movie_dto(show, video, self.progress.get(video.id), self.server_id,
                                            self.frames.get(show.id)))

    def _one_series(self, show):
        return self._marked(items.series_dto(show, self.videos[show.id], self.progress, self.server_id,
                                             self.frames.get(show.id)))

    def _episode(self, show, video):
        return self._marked(items.episode_dto(show, video, self.progress.get(video.id), self.server_id,
                                              self.frames.get(show.id)))

    def _marked(self, dto):
        dto["UserData"]["IsFavorite"] = dto["Id"] in self.favourites
        return dto

    # -- lists -----------------------------------------------------------------

    def children(self, parent, recursive, types=()):
        """What ``ParentId`` holds; without one, everything (recursive) or the views. ``types``
        (lower-case Jellyfin types, empty for all): the kinds worth building, the rest are skipped."""
        def wanted(kind):
            return not types or kind in types

        movies = self.movies if wanted("movie") else list
        series = self.series if wanted("series") else list
        episodes = self.episodes if wanted("episode") else (lambda *_: [])
        if parent is None:
            return movies() + series() + episodes() if recursive else self.views()
        if parent.kind == "view":
            if parent.id == ids.MOVIES_VIEW:
                return movies()
            return series() + (episodes() if recursive else [])
        if parent.kind == "season":
            return episodes(parent.id, parent.season)
        if parent.kind == "genre":
            return [i for i in movies() + series() if parent.id + ids.GENRE_TAIL in map(ids.of_genre, i["Genres"])]
        return (self.seasons(parent.id) if wanted("season") else []) + (episodes(parent.id) if recursive else [])

    def resume(self):
        """Started and unfinished videos, last watched first."""
        started = [v for vs in self.videos.values() for v in vs
                   if v.id in self.progress and not self.progress[v.id].finished and self.progress[v.id].position > 0]
        started.sort(key=lambda v: self.progress[v.id].updated_at, reverse=True)
        return [self.get(ids.Ref("item", v.id)) for v in started]

    def next_up(self, series_id=None):
        """Haema's own "what next" (history.continue_watching) for series; for one series
        nobody started yet, its first episode."""
        picks = [e for e in history.continue_watching(self.user_id) if e["type"] == "series" and e["episode"]]
        found = [self.get(ids.Ref("item", e["video_id"])) for e in picks if e["next"] or not e["position"]]
        if series_id:
            found = [f for f in found if f and f["SeriesId"] == ids.of_item(series_id)]
            if not found and not any(e["show"]["id"] == series_id for e in picks):
                first = self.episodes(series_id)[:1]
                found = [f for f in first if not f["UserData"]["Played"]]
        return [f for f in found if f]

    def latest(self, parent):
        """Newest videos first, unplayed only (Jellyfin's HidePlayedInLatest)."""
        pool = self.movies() if parent is None or parent.id == ids.MOVIES_VIEW else []
        if parent is None or parent.id == ids.SHOWS_VIEW:
            pool += self.episodes()
        elif parent.kind != "view":
            pool = self.children(parent, True)
        pool = [i for i in pool if i["Type"] in ("Movie", "Episode") and not i["UserData"]["Played"]]
        return sorted(pool, key=lambda i: i.get("DateCreated") or "", reverse=True)


@dataclasses.dataclass(frozen=True)
class Query:
    """``/Items`` parameters, already parsed (lists lower-cased)."""

    include_types: tuple = ()
    exclude_types: tuple = ()
    media_types: tuple = ()
    search: str = None
    ids: tuple = ()
    genres: tuple = ()  # genre GUIDs (ids.of_genre): an item in any of them
    filters: tuple = ()  # isplayed, isunplayed, isresumable, isfolder, isnotfolder, isfavorite
    is_played: bool = None
    is_favorite: bool = None
    sort_by: tuple = ()
    descending: bool = False
    start: int = 0
    limit: int = None


def select(found, query):
    """Filter, sort and page DTOs: ``(page, total)``."""
    chosen = [i for i in found if _keep(i, query)]
    for key in reversed(query.sort_by):
        sorter = SORTS.get(key)
        if sorter is not None:
            chosen.sort(key=sorter, reverse=query.descending)
        elif key == "random":
            random.shuffle(chosen)
    total = len(chosen)
    end = None if query.limit is None else query.start + query.limit
    return chosen[query.start:end], total


def _keep(item, query):
    kind = item["Type"].lower()
    if query.include_types and kind not in query.include_types:
        return False
    if kind in query.exclude_types:
        return False
    if query.media_types and (item.get("MediaType") or "").lower() not in query.media_types:
        return False
    if query.ids and item["Id"] not in query.ids:
        return False
    if query.search and fold(query.search.strip()) not in fold(item["Name"]):
        return False
    if query.genres and not set(query.genres) & set(map(ids.of_genre, item.get("Genres") or ())):
        return False
    data = item.get("UserData") or {}
    played, favourite = bool(data.get("Played")), bool(data.get("IsFavorite"))
    if query.is_played is not None and played != query.is_played:
        return False
    if query.is_favorite is not None and favourite != query.is_favorite:
        return False
    checks = {"isplayed": played, "isunplayed": not played, "isfolder": item["IsFolder"],
              "isnotfolder": not item["IsFolder"], "isresumable": data.get("PlaybackPositionTicks", 0) > 0,
              "isfavorite": favourite, "isfavoriteorlikes": favourite}  # Haema keeps no likes
    return all(checks.get(f, True) for f in query.filters)


SORTS = {
    "sortname": lambda i: fold(i.get("SortName") or i["Name"]),
    "name": lambda i: fold(i["Name"]),
    "productionyear": lambda i: i.get("ProductionYear") or 0,
    "premieredate": lambda i: i.get("PremiereDate") or "",
    "datecreated": lambda i: i.get("DateCreated") or "",
    "dateplayed": lambda i: (i.get("UserData") or {}).get("LastPlayedDate") or "",
    "runtime": lambda i: i.get("RunTimeTicks") or 0,
    "indexnumber": lambda i: i.get("IndexNumber") or 0,
    "parentindexnumber": lambda i: i.get("ParentIndexNumber") or 0,
    "aireddate": lambda i: (i.get("ParentIndexNumber") or 0, i.get("IndexNumber") or 0),
}
