"""Kodi/Jellyfin ``.nfo`` files: the metadata people keep beside their videos.

Which file describes what, as Kodi and Jellyfin read them:
- a film: ``<name>.nfo`` beside ``<name>.mkv``, or ``movie.nfo`` in the film's own folder;
- a series: ``tvshow.nfo`` in the show's folder;
- an episode: ``<name>.nfo`` beside the episode's file.

Haema only reads them: the folder stays the source of truth and is never written to.
A file that is not well-formed XML is skipped with a log line, and the names from the
folder tree stand.
"""
import dataclasses
import logging
import re
import xml.etree.ElementTree as ElementTree

log = logging.getLogger(__name__)

ROOTS = ("movie", "tvshow", "episodedetails", "musicvideo")


@dataclasses.dataclass(frozen=True)
class Details:
    title: str = None
    original_title: str = None
    plot: str = None
    year: int = None
    genres: tuple = ()
    rating: float = None  # out of 10
    runtime: int = None  # minutes

    def as_json(self):
        return dict(dataclasses.asdict(self), genres=list(self.genres))


def read(path):
    """The ``Details`` of an .nfo file, or None if it cannot be read as one."""
    try:
        with open(path, "rb") as source:
            data = source.read()
    except OSError as error:
        log.warning("cannot read %s: %s", path, error.strerror)
        return None
    try:
        return parse(data)
    except ValueError as error:
        log.warning("skipped %s: %s", path, error)
        return None


def parse(data):
    """``Details`` from the bytes of an .nfo file; ``ValueError`` if it is not one.

    Kodi lets a scraper URL follow the XML (the "combination" nfo), so whatever comes
    after the root element's end is ignored.
    """
    text = data.decode("utf-8-sig", errors="replace")
    end = max((text.rfind(f"</{name}>") + len(name) + 3 for name in ROOTS if f"</{name}>" in text), default=-1)
    try:
        root = ElementTree.fromstring(text[:end] if end > 0 else text)
    except ElementTree.ParseError as error:
        raise ValueError(f"not well-formed XML ({error})") from None
    if root.tag not in ROOTS:
        raise ValueError(f"<{root.tag}> is not a Kodi nfo root ({', '.join(ROOTS)})")
    return Details(
        title=_text(root, "title"),
        original_title=_text(root, "originaltitle"),
        plot=_text(root, "plot") or _text(root, "outline"),
        year=_year(root),
        genres=tuple(dict.fromkeys(g.strip() for e in root.findall("genre") for g in (e.text or "").split(" / ")
                                   if g.strip())),
        rating=_rating(root),
        runtime=_integer(_text(root, "runtime")),
    )


def _text(root, tag):
    element = root.find(tag)
    text = (element.text or "").strip() if element is not None else ""
    return text or None


def _integer(text):
    match = re.match(r"\s*(\d+)", text or "")
    return int(match.group(1)) if match else None


def _year(root):
    year = _integer(_text(root, "year"))
    for tag in ("premiered", "aired"):
        if year is None:
            year = _integer((_text(root, tag) or "")[:4])
    return year if year and 1870 <= year <= 2200 else None


def _rating(root):
    """``<rating>7.9</rating>``, or the default of ``<ratings><rating default="true"><value>``."""
    ratings = root.findall("ratings/rating")
    chosen = next((r for r in ratings if r.get("default") == "true"), ratings[0] if ratings else None)
    text = _text(chosen, "value") if chosen is not None else _text(root, "rating")
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return round(value, 1) if value is not None and 0 <= value <= 10 else None
