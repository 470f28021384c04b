"""Playback preferences: the audio language, subtitle language and quality a user last chose.

They are kept by the server, one row a user (``HOUSEHOLD`` with ``--auth false``), so a
reload, another browser or a TV app starts the next film the same way, and subtitles
chosen in one film are on in the next. Haema's web player saves them through
``/api/v1/preferences``; Jellyfin apps through their user configuration (jellyfin/items.py).

Languages are stored as the tags Haema's HLS master gives tracks (``hls.language_tag``:
"fre", "fra" and "fr" are all "fr"), so a choice matches a track however its file names
the language. Quality is a height, counted on the short side as the player's menu does
("720p"); a film without that rendition plays the nearest one below it (the web player's
preferences.js).

A save is one upsert of the fields it changes, as history.py saves progress: two players
saving at once just queue, and neither puts back the other's old value.
"""
import dataclasses
import datetime
import re

import babelfish

from .errors import HaemaError
from .hls import language_tag
from .models import PlaybackPreference

OFF = "none"  # subtitles: off, chosen so
LANGUAGE = re.compile(r"[a-z]{2,3}")  # ISO 639-1, -2 or -3, as files and file names give them
HIGHEST = 4320  # pixels: the short side of 8K
FIELDS = ("audio_language", "subtitle_language", "quality")


@dataclasses.dataclass(frozen=True)
class PlaybackPreferences:
    audio_language: str = None  # a language tag ("en"); None: the film's default track
    subtitle_language: str = None  # a language tag, or OFF; None: as the film comes (never chosen)
    quality: int = None  # the short side in pixels; None: automatic

    def as_json(self):
        return {"audio_language": self.audio_language, "subtitle_language": self.subtitle_language,
                "quality": "auto" if self.quality is None else self.quality}


# -- Stored --------------------------------------------------------------------


def get_preferences(user_id):
    """A user who never chose anything gets the defaults: the film's own tracks, automatic quality."""
    row = PlaybackPreference.get_or_none(PlaybackPreference.user_id == user_id)
    if row is None:
        return PlaybackPreferences()
    return PlaybackPreferences(row.audio_language, row.subtitle_language, row.quality)


def save_preferences(user_id, payload):
    """Change the fields ``payload`` names (JSON, as ``as_json`` gives them) and keep the
    others: a player sends only the choice just made. The whole result is returned."""
    save(user_id, **parse(payload))
    return get_preferences(user_id)


def save(user_id, **changes):
    """Set the fields named (``PlaybackPreferences``'), in one upsert of those alone: a TV and a
    browser saving different choices at once both keep theirs."""
    fields = {**changes, "updated_at": datetime.datetime.utcnow()}
    (PlaybackPreference.insert(user_id=user_id, **fields)
     .on_conflict(conflict_target=[PlaybackPreference.user_id], update=fields).execute())


# -- Input ---------------------------------------------------------------------


def parse(payload):
    """``{field: value}`` of the fields ``payload`` sets, checked; a HaemaError (400) says what is wrong."""
    if not isinstance(payload, dict) or not payload:
        raise HaemaError('send a JSON object such as {"subtitle_language": "en"}, with any of: ' + ", ".join(FIELDS))
    unknown = sorted(set(payload) - set(FIELDS))
    if unknown:
        raise HaemaError(f"unknown preference {unknown[0]!r}; the preferences are: " + ", ".join(FIELDS))
    changes = {}
    if "audio_language" in payload:
        changes["audio_language"] = language(payload["audio_language"], "audio_language")
    if "subtitle_language" in payload:
        value = payload["subtitle_language"]
        changes["subtitle_language"] = OFF if value == OFF else language(value, "subtitle_language")
    if "quality" in payload:
        changes["quality"] = quality(payload["quality"])
    return changes


def language(value, field):
    """A language tag from an ISO 639 code ("eng", "fre", "fr"), or None for null."""
    if value is None:
        return None
    if not isinstance(value, str) or not LANGUAGE.fullmatch(value.strip().lower()):
        extra = ', or "none" for off' if field == "subtitle_language" else ""
        raise HaemaError(f"{field} must be an ISO 639 language code such as \"en\" or \"eng\"{extra}, "
                         f"or null, not {value!r}")
    return language_tag(value.strip().lower())


def quality(value):
    if value == "auto" or value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= HIGHEST:
        raise HaemaError(f'quality must be "auto" or a height in pixels such as 720 (at most {HIGHEST}), '
                         f"not {value!r}")
    return value


def three_letter(tag):
    """The ISO 639-2/B code of a language tag ("fr" → "fre"), as Jellyfin names languages;
    a code babelfish does not know stays as it is."""
    try:
        return babelfish.Language.fromcode(tag, "alpha2").alpha3b
    except (ValueError, KeyError, babelfish.Error):
        return tag


# -- Choosing ------------------------------------------------------------------


def matches(tag, code):
    """Whether a track whose file calls its language ``code`` ("fre") is in language ``tag`` ("fr")."""
    return bool(code) and language_tag(code) == tag

