"""Index the library folder into the database: the folder tree is the source of truth.

A scan is a pipeline: walk the tree → place each file (naming.py) → probe what is new
or changed (probe.py) → write rows → drop rows of files that are gone → read artwork
and .nfo details (details.py). Unchanged files (same size and mtime) are not opened
again, so a rescan of a big library is a walk and a few queries. Keyframe indexes,
thumbnails and seek previews are filled in afterwards (fills.py), so the listing is
usable as soon as the probe pass ends.
"""
import contextlib
import dataclasses
import datetime
import logging
import os
import signal
import sys

import peewee

from . import catalog, details, fills, naming, probe, storage, subtitles
from .config import ConfigError
from .memory import give_freed_frames_back
from .models import ID_KEY, ScanState, Secret, Show, Skipped, Video, database, fold, stable_id

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = {
    ".mkv", ".mp4", ".m4v", ".mov", ".avi", ".webm", ".ts", ".m2ts", ".mts", ".mpg", ".mpeg",
    ".vob", ".wmv", ".flv", ".ogv", ".3gp", ".divx",
}


@dataclasses.dataclass(frozen=True)
class SkippedFile:
    """A file the scan could not index, and why (a Skipped row, as the report lists it)."""

    path: str
    reason: str


@dataclasses.dataclass
class ScanReport:
    """The last scan's counts, kept as JSON in the one ScanState row: written by the
    scanning process, read by the web process's report and health routes."""

    running: bool = False
    started_at: str = None
    finished_at: str = None
    files: int = 0
    probed: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    skipped: list = dataclasses.field(default_factory=list)  # of SkippedFile
    probe_version: int = None  # probe.VERSION of the files indexed, once the scan has finished

    def as_json(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data):
        """The report as ``as_json`` stored it; a key a later version dropped is ignored,
        one it added takes its default."""
        fields = {field.name for field in dataclasses.fields(cls)}
        report = cls(**{key: value for key, value in data.items() if key in fields})
        report.skipped = [SkippedFile(**skip) for skip in report.skipped]
        return report

    def save(self):
        report = self.as_json()
        with database.connection_context():
            ScanState.insert(id=1, report=report).on_conflict(
                conflict_target=[ScanState.id], update={ScanState.report: report}).execute()

    @classmethod
    def load(cls):
        """The last scan's report, or an empty one before the first scan."""
        state = ScanState.get_or_none(ScanState.id == 1)
        return cls.from_json(state.report) if state else cls()


@dataclasses.dataclass(frozen=True)
class ScanItem:
    """A file the scan opens: new, changed since its row (size or time), or read again
    for a probe that learnt new facts."""

    path: str  # relative to the root, with ``/``
    size: int
    mtime: float
    known: bool  # it has a row: counted as updated, not added


class Library:
    """The scanner of one library root. The web process runs it in a process of its own
    (services.BackgroundScan); its report is kept in the database for the API to read."""

    def __init__(self, root, thumbnail_dir, trickplay_dir):
        self.root = os.path.realpath(root)
        self.thumbnail_dir = thumbnail_dir
        self.trickplay_dir = trickplay_dir
        self.report = ScanReport()

    # -- walking ------------------------------------------------------------

    def walk(self):
        """Relative posix paths of video files, never leaving the root through a symlink."""
        seen_dirs = set()
        for top, dirs, files in os.walk(self.root, followlinks=True):
            real = os.path.realpath(top)
            if real in seen_dirs or not self.contains(real):
                dirs[:] = []
                continue
            seen_dirs.add(real)
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith(".") or os.path.splitext(name)[1].lower() not in VIDEO_EXTENSIONS:
                    continue
                full = os.path.join(top, name)
                if self.contains(os.path.realpath(full)):
                    yield os.path.relpath(full, self.root).replace(os.sep, "/")

    def contains(self, real_path):
        return real_path == self.root or real_path.startswith(self.root + os.sep)

    def resolve(self, relpath):
        """Absolute path of a library file, or None if it would escape the root."""
        full = os.path.realpath(os.path.join(self.root, relpath))
        return full if self.contains(full) and os.path.isfile(full) else None

    # -- scanning -----------------------------------------------------------

    def scan(self):
        """Bring the index in line with the folder tree; returns the report."""
        # a probe that learnt new facts re-reads every file once, so no row lacks them
        reprobe = self.last_report().probe_version != probe.VERSION
        self.report = ScanReport(running=True, started_at=_now())
        self.report.save()
        self._id_key = Secret.key(ID_KEY)
        try:
            self._scan(reprobe)
        finally:
            self.report.running = False
            self.report.finished_at = _now()
            self.report.save()
        log.info("scan done: %d files, %d added, %d updated, %d removed, %d skipped",
                 self.report.files, self.report.added, self.report.updated,
                 self.report.removed, len(self.report.skipped))
        return self.report

    @staticmethod
    def last_report():
        return ScanReport.load()

    def _scan(self, reprobe=False):
        report = self.report
        paths = list(self.walk())
        report.files = len(paths)
        with database.connection_context():
            known = {v.path: v for v in Video.select(Video.id, Video.path, Video.size, Video.mtime, Video.show)}
            skipped = {s.path: s for s in Skipped.select()}
            changed = []
            for relpath in paths:
                stat = os.stat(os.path.join(self.root, relpath))
                old = known.get(relpath) or skipped.get(relpath)
                if old and old.size == stat.st_size and old.mtime == stat.st_mtime and not reprobe:
                    continue
                changed.append(ScanItem(relpath, stat.st_size, stat.st_mtime, known=relpath in known))
            for number, item in enumerate(changed, 1):
                self._index(item)
                report.probed = number
                if number % fills.PROGRESS_EVERY == 0:
                    log.info("probed %d/%d files", number, len(changed))
                    report.save()
            self._forget_missing(set(paths), known, skipped)
            details.place_artwork(self.root)
            details.read_details(self.root)
            report.skipped = [SkippedFile(s.path, s.reason) for s in Skipped.select().order_by(Skipped.path)]
            report.probe_version = probe.VERSION

    def _index(self, item):
        relpath = item.path
        placement = naming.place(relpath)
        if placement.kind == "extra":
            log.debug("not indexed, an extra: %s", relpath)
            return
        try:
            info = probe.probe(os.path.join(self.root, relpath))
        except probe.ProbeError as error:
            log.warning("skipped %s: %s", relpath, error.message)
            with database.atomic():
                Video.delete().where(Video.path == relpath).execute()
                skipped = {"size": item.size, "mtime": item.mtime, "reason": error.message}
                Skipped.insert(path=relpath, **skipped).on_conflict(
                    conflict_target=[Skipped.path], update=skipped).execute()
            return
        info = dataclasses.replace(info, sidecars=self._sidecars(relpath, info))
        show_id = stable_id(placement.show_key, self._id_key)
        kind = "movie" if placement.kind == "movie" else "series"
        if kind == "movie":
            title = placement.show_title
        else:
            # an episode's own title tag when its file name has none
            title = placement.episode_title or info.title or f"Episode {placement.episode}"
        with database.atomic():
            show = {"kind": kind, "title": placement.show_title, "sort_title": details.sort_key(placement.show_title),
                    "year": placement.year, "folder": _show_folder(placement, relpath),
                    "search": fold(placement.show_title)}
            # an upsert, not REPLACE: replacing the row would cascade-delete its episodes
            Show.insert(id=show_id, **show).on_conflict(conflict_target=[Show.id], update=show).execute()
            video_id = show_id if kind == "movie" else stable_id(relpath, self._id_key)
            # a new row, keyframes and frame unknown, replacing any row of this id or path
            Video.delete().where((Video.id == video_id) | (Video.path == relpath)).execute()
            Video.insert(
                id=video_id, show=show_id, path=relpath,
                size=item.size, mtime=item.mtime, season=placement.season, episode=placement.episode,
                index=naming.index_label(placement.season, placement.episode) if kind == "series" else None,
                title=title, search=fold(title), duration=info.duration, info=info,
            ).execute()
            Skipped.delete().where(Skipped.path == relpath).execute()
        if item.known:
            self.report.updated += 1
        else:
            self.report.added += 1

    def _sidecars(self, relpath, info):
        """``Film.srt``, ``Film.en.srt``, ``Film.fr.forced.vtt``, ``Film.ja.ass`` beside the video.

        Each is decoded and parsed here, so a file that cannot be is never offered to a
        player, and the encoding found is kept for the request to read it the same way."""
        folder, name = os.path.split(os.path.join(self.root, relpath))
        stem = os.path.splitext(name)[0]
        sidecars = []
        names = sorted(os.listdir(folder))
        for other in names:
            base, ext = os.path.splitext(other)
            if ext.lower() not in subtitles.SIDECAR_EXTENSIONS or not (base == stem or base.startswith(stem + ".")):
                continue
            if ext.lower() == ".sub" and any(n.lower() == f"{base}.idx".lower() for n in names):
                continue  # VobSub: pictures, not text
            tags = [t for t in base[len(stem):].split(".") if t]
            language = next((t for t in tags if t.isalpha() and 2 <= len(t) <= 3 and t.lower() != "sdh"), None)
            file = os.path.relpath(os.path.join(folder, other), self.root).replace(os.sep, "/")
            try:
                sidecar = subtitles.read_sidecar(subtitles.SidecarFile(os.path.join(folder, other), language,
                                                                       fps=info.video.fps))
            except subtitles.SubtitleError as error:
                log.warning("skipped subtitles %s: %s", file, error.message)
                continue
            sidecars.append(probe.Sidecar(file=file, format=ext.lower()[1:], language=language,
                                          forced="forced" in tags, encoding=sidecar.encoding))
        return tuple(sidecars)

    def _forget_missing(self, present, known, skipped):
        gone = [v.id for path, v in known.items() if path not in present]
        with database.atomic():
            for start in range(0, len(gone), 500):
                Video.delete().where(Video.id.in_(gone[start:start + 500])).execute()
            Skipped.delete().where(Skipped.path.in_([p for p in skipped if p not in present])).execute()
            Show.delete().where(Show.id.not_in(Video.select(Video.show))).execute()
        self.report.removed = len(gone)

    # -- background work after a scan ----------------------------------------
    # fills.py's passes, over this library's root and caches

    def fill_keyframes(self):
        fills.fill_keyframes(self.root)

    def fill_thumbnails(self):
        fills.fill_thumbnails(self.root, self.thumbnail_dir)

    def fill_trickplay(self):
        fills.fill_trickplay(self.root, self.trickplay_dir)

    def background(self, first=False):
        """The whole start-up or on-demand job: scan, then the slow fills. The ``first``
        scan since start-up says when the library is ready, and how big."""
        self.scan()
        if first:
            logging.getLogger("haema").info("ready: %s", catalog.summary())
        self.fill_keyframes()
        self.fill_thumbnails()
        self.fill_trickplay()


def background_job(root, thumbnail_dir, trickplay_dir, db_url, log_level, lock=None, first=False):
    """The entry point of the scanning process: a fresh interpreter with its own
    database connection (SQLite in WAL mode lets the web process read meanwhile).

    ``lock`` keeps it from running at once with the watched folder's rescans, whose
    caller holds it for them (watch.watch_job). Nodes sharing a database scan one at a
    time: a node that finds another scanning waits, then runs its own pass, which finds
    the index up to date and only makes the thumbnails and previews of its own cache.
    A database that cannot be written (read-only, locked for good) stops the scan with
    one line in the log: it ends where no client sees it, and the next scan starts over."""
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle: it stops us
    os.nice(19)  # a scan and its previews take what the cores have spare: segments come first
    give_freed_frames_back()  # preview sheets decode a 1080p frame per tile
    try:
        storage.open_database(db_url)
        with lock or contextlib.nullcontext(), storage.lock(db_url, "scan"):
            Library(root, thumbnail_dir, trickplay_dir).background(first)
    except ConfigError as error:  # the database, or its lock files, cannot be opened
        log.error("scan stopped: %s", error)
        sys.exit(1)
    except peewee.OperationalError as error:
        log.error("scan stopped: %s", storage.refused(error).message)
        sys.exit(1)


def _show_folder(placement, relpath):
    if placement.kind != "movie" and relpath.startswith(placement.show_key + "/"):
        return placement.show_key
    return os.path.dirname(relpath)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
