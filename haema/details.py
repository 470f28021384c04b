"""What the scan reads beside the videos: posters, banners and .nfo details.

They run over every show after the probe pass, not just the files that changed: a
poster or an .nfo is added or edited without any video changing. An .nfo is parsed
again only when its time changed, so a rescan costs a listing per folder.
"""
import collections
import os

from . import nfo
from .models import Show, Video, database, fold

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp"}
POSTER_NAMES = ("poster", "folder", "cover")
BANNER_NAMES = ("banner", "fanart", "backdrop")


def place_artwork(root):
    """Posters and banners found in the show folder (or beside a movie file)."""
    shows = list(Show.select())
    movies_per_folder = collections.Counter(s.folder for s in shows if s.kind == "movie")
    with database.atomic():
        for show in shows:
            video = show.videos.first() if show.kind == "movie" else None
            stem = os.path.splitext(os.path.basename(video.path))[0] if video else None
            own_folder = show.kind == "series" or movies_per_folder[show.folder] == 1
            thumbnail = _image(root, show.folder, POSTER_NAMES, stem, own_folder)
            banner = _image(root, show.folder, BANNER_NAMES, stem, own_folder)
            if (thumbnail, banner) != (show.thumbnail, show.banner):
                Show.update(thumbnail=thumbnail, banner=banner).where(Show.id == show.id).execute()


def read_details(root):
    """Titles, plots, years and genres from .nfo files (see nfo.py). Its title is shown
    and sorted by, and found by search along with the name from the folder tree and the
    original title."""
    shows = list(Show.select())
    movies_per_folder = collections.Counter(s.folder for s in shows if s.kind == "movie")
    videos = collections.defaultdict(list)
    for video in Video.select(Video.id, Video.show, Video.path, Video.title, Video.search, Video.details):
        videos[video.show_id].append(video)
    listings = {}
    with database.atomic():
        for show in shows:
            if show.kind == "movie":
                path = videos[show.id][0].path if videos[show.id] else None
                names = [_stem_nfo(path)] if path else []
                if movies_per_folder[show.folder] == 1:
                    names.append(f"{show.folder}/movie.nfo".lstrip("/"))
            else:
                names = [f"{show.folder}/tvshow.nfo".lstrip("/")]
                for video in videos[show.id]:
                    _apply_details(root, Video, video, video.title, [_stem_nfo(video.path)], listings)
            _apply_details(root, Show, show, show.title, names, listings)


def sort_key(title):
    """What a show is sorted by: its folded title without a leading article."""
    folded = fold(title)
    for article in ("the ", "a ", "an "):
        if folded.startswith(article):
            return folded[len(article):]
    return folded


def _apply_details(root, model, row, name, candidates, listings):
    details = _details(root, candidates, row.details, listings)
    title = (details or {}).get("title") or name
    words = " ".join(dict.fromkeys(filter(None, [name, title, (details or {}).get("original_title")])))
    changes = {"details": details, "search": fold(words)}
    if model is Show:
        changes["sort_title"] = sort_key(title)
    if any(getattr(row, field) != value for field, value in changes.items()):
        model.update(**changes).where(model.id == row.id).execute()


def _details(root, candidates, known, listings):
    """The first candidate .nfo that exists, as ``Details`` JSON with its path and mtime."""
    for relpath in candidates:
        folder, name = os.path.split(relpath)
        if folder not in listings:
            try:
                listings[folder] = {e.lower(): e for e in os.listdir(os.path.join(root, folder))}
            except OSError:
                listings[folder] = {}
        actual = listings[folder].get(name.lower())
        if actual is None:
            continue
        relpath = f"{folder}/{actual}" if folder else actual
        try:
            mtime = os.stat(os.path.join(root, relpath)).st_mtime
        except OSError:
            continue
        if known and known.get("path") == relpath and known.get("mtime") == mtime:
            return known
        details = nfo.read(os.path.join(root, relpath))
        return dict(details.as_json() if details else {}, path=relpath, mtime=mtime)
    return None


def _image(root, folder, names, stem, own_folder):
    """``Film-poster.jpg`` or ``Film.jpg`` beside a film; ``poster.jpg`` in its own folder."""
    full = os.path.join(root, folder)
    try:
        entries = sorted(os.listdir(full))
    except OSError:
        return None
    images = {os.path.splitext(e)[0].lower(): e for e in entries if os.path.splitext(e)[1].lower() in IMAGE_EXTENSIONS}
    wanted = [f"{stem.lower()}-{n}" for n in names] if stem else []
    if stem and names is POSTER_NAMES:
        wanted.append(stem.lower())
    if own_folder:
        wanted += names
    for key in wanted:
        if key in images:
            return f"{folder}/{images[key]}".lstrip("/") if folder else images[key]
    return None


def _stem_nfo(relpath):
    return os.path.splitext(relpath)[0] + ".nfo"
