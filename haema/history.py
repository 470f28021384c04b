"""Watch progress: where each video was left, what was watched, what to watch next.

Progress rows are keyed by the stable video id without a foreign key (see models), so
a rescan, a rebuilt index or a moved library keeps them. A row whose video has left
the index is kept but not listed; it comes back with the file.

A save is a single upsert statement, never a read-then-write transaction: under WAL
with ``busy_timeout``, two players saving at once just queue, whereas a transaction
that upgrades a read lock to a write lock fails with "database is locked" at once.

Every function takes the ``user_id`` whose progress it reads or writes: one user never
sees or changes another's.
"""
import datetime
import math

from . import catalog
from .errors import HaemaError, not_found
from .models import ContinueDismissed, Progress, Show, Video

FINISHED_AFTER = 0.9  # of the duration: the credits do not have to be watched
HISTORY_LIMIT = 100
CONTINUE_LIMIT = 30


# -- One video -----------------------------------------------------------------


def get_progress(user_id, video_id):
    """A video never watched is at position 0, with ``updated_at`` null."""
    video = _video(video_id)
    row = Progress.get_or_none(Progress.user_id == user_id, Progress.video_id == video_id)
    if row is None:
        row = Progress(user_id=user_id, video_id=video_id, position=0.0, duration=video.duration, finished=False, updated_at=None)
    return row.as_json()


def save_progress(user_id, video_id, payload):
    """Record ``payload["position"]`` (seconds, 0 ≤ position ≤ duration) of a video."""
    video = _video(video_id)
    position = _position(payload)
    if position > video.duration:
        raise HaemaError(f"position {position:g} is past the end of the video ({video.duration:g} s)")
    fields = {"position": position, "duration": video.duration, "finished": is_finished(position, video.duration),
              "updated_at": datetime.datetime.utcnow()}
    Progress.insert(user_id=user_id, video_id=video_id, **fields).on_conflict(
        conflict_target=[Progress.user_id, Progress.video_id], update=fields).execute()
    return Progress(user_id=user_id, video_id=video_id, **fields).as_json()


def clear_progress(user_id, video_id):
    """Forget a video's progress; also works for a video that has left the index."""
    deleted = Progress.delete().where(Progress.user_id == user_id, Progress.video_id == video_id).execute()
    if not deleted:
        _video(video_id)  # unknown id → 404; known but never watched → nothing to do


def dismiss(user_id, show_id):
    """Take a show out of Continue watching until a video of it is watched again: for an entry
    that offers the next episode, which has no progress of its own to forget."""
    if Show.get_or_none(Show.id == show_id) is None:
        raise not_found("show")
    now = datetime.datetime.utcnow()
    (ContinueDismissed.insert(user_id=user_id, show_id=show_id, at=now)
     .on_conflict(conflict_target=[ContinueDismissed.user_id, ContinueDismissed.show_id], update={"at": now})
     .execute())


def is_finished(position, duration):
    return duration > 0 and position > FINISHED_AFTER * duration


# -- Listings ------------------------------------------------------------------


def list_history(user_id, limit=None):
    """What was watched, most recent first."""
    limit = _limit(limit, HISTORY_LIMIT)
    rows = _watched(user_id).limit(limit)
    return _entries([(row, row.video) for row in rows])


def continue_watching(user_id):
    """One entry per show, in the order they were last watched.

    The show's most recently watched video is offered to resume if unfinished; if it is
    finished and the show is a series, its next unfinished episode is offered instead.
    Finished movies and series watched to the end drop out, and so does a show the user
    took out (``dismiss``) until they watch it again.
    """
    rows = list(_watched(user_id))
    progress = {row.video_id: row for row in rows}
    dismissed = {d.show_id: d.at for d in ContinueDismissed.select().where(ContinueDismissed.user_id == user_id)}
    latest = {}
    for row in rows:
        latest.setdefault(row.video.show_id, row)
    latest = {show_id: row for show_id, row in latest.items()
              if show_id not in dismissed or row.updated_at > dismissed[show_id]}
    finished_series = [r.video.show_id for r in latest.values() if r.finished and r.video.show.kind == "series"]
    episodes = catalog.videos_by_show(finished_series)
    picks = []
    for show_id, row in latest.items():
        if not row.finished:
            picks.append((row, row.video))
        elif show_id in episodes:
            following = _following(episodes[show_id], row.video_id, progress)
            if following is not None:
                following.show = row.video.show
                picks.append((progress.get(following.id), following))
        if len(picks) == CONTINUE_LIMIT:
            break
    return _entries(picks)


def _watched(user_id):
    """The user's progress rows with their video and show, newest first; rows of unindexed videos drop out."""
    return (Progress.select(Progress, Video.id, Video.show, Video.title, Video.index, Video.season, Video.episode,
                            Video.duration, Show)
            .join(Video, on=(Video.id == Progress.video_id), attr="video")
            .join(Show, on=(Video.show == Show.id), attr="show")
            .where(Progress.user_id == user_id)
            .order_by(Progress.updated_at.desc(), Progress.video_id))


def _following(episodes, video_id, progress):
    """The first episode after ``video_id`` in watching order that is not finished yet."""
    ids = [e.id for e in episodes]
    if video_id not in ids:
        return None
    for episode in episodes[ids.index(video_id) + 1:]:
        row = progress.get(episode.id)
        if row is None or not row.finished:
            return episode
    return None


def _entries(picks):
    """``[(Progress or None, Video with .show)]`` → JSON, with one extra query for thumbnails."""
    framed = catalog.shows_with_frames({video.show_id for _, video in picks})
    return [_entry(row, video, video.show_id in framed) for row, video in picks]


def _entry(row, video, has_frame):
    show = video.show
    progress = row.as_json() if row is not None else {
        "position": 0.0, "duration": video.duration, "finished": False, "updated_at": None}
    episode = None
    if show.kind == "series":
        episode = {"id": video.id, "index": video.index, "title": video.title, "season": video.season,
                   "episode": video.episode}
    return {
        "video_id": video.id,
        "type": show.kind,
        "show": catalog.show_info(show, has_frame),
        "episode": episode,
        "next": row is None,  # an episode offered because the one before it was finished
        **progress,
    }


# -- Input ---------------------------------------------------------------------


def _video(video_id):
    video = Video.select(Video.id, Video.duration).where(Video.id == video_id).first()
    if video is None:
        raise not_found("video")
    return video


def _position(payload):
    if not isinstance(payload, dict) or "position" not in payload:
        raise HaemaError('send JSON like {"position": 12.5}, the position in seconds')
    value = payload["position"]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise HaemaError("position must be a number of seconds")
    try:
        value = float(value)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value) or value < 0:
        raise HaemaError(f"position must be between 0 and the video's duration, not {payload['position']!r}")
    return value


def _limit(text, default):
    if text in (None, ""):
        return default
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise HaemaError(f"limit {text!r} is not a whole number") from None
    if not 1 <= value <= 1000:
        raise HaemaError("limit must be between 1 and 1000")
    return value
