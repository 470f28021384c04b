"""Jellyfin routes: an item's pictures (Primary, Backdrop, Banner, Thumb), at the size asked,
and its seek-preview sheets (Trickplay).

Anonymous, as in Jellyfin: an ``<img>`` sends no token. Which of Haema's pictures stands for
which type is ``items.artwork``'s choice (the same that gave the item its ImageTags). A
request with ``maxWidth``, ``fillHeight``… gets the picture scaled by an encoder worker
(imaging.py) and cached on disk; without, the file itself.
"""
import logging
import os

import bottle

from .. import catalog, imaging, trickplay
from ..errors import not_found
from ..models import Show, Video
from . import ids, items, params

log = logging.getLogger(__name__)

TYPES = {"primary": "Primary", "backdrop": "Backdrop", "banner": "Banner", "thumb": "Thumb"}
SIZES = {"width": "width", "height": "height", "maxwidth": "max_width", "maxheight": "max_height",
         "fillwidth": "fill_width", "fillheight": "fill_height"}


def requested_fit():
    """The size bounds of the request's query (any case); nonsense values are ignored."""
    return imaging.Fit(**{field: imaging.bounds(params.query(name)) for name, field in SIZES.items()})


def requested_quality():
    quality = params.number(params.query("quality"))
    return 90 if quality is None else max(1, min(100, quality))


def add(app, ctx):
    """Add these routes to ``app``."""
    add_trickplay(app, ctx)
    route, library = ctx.route, ctx.library
    cache_dir = os.path.join(ctx.config.cache_path, "images")
    unreadable = set()

    @route("/items/<item_id>/images")
    def image_list(item_id):
        """ImageInfo of each picture the item has (the same as its ImageTags)."""
        ctx.who()
        pictures = _pictures(ids.parse(item_id))
        tags = items.artwork_tags(pictures)
        return params.as_json([{"ImageType": kind, "ImageIndex": 0 if kind == "Backdrop" else None,
                                "ImageTag": tags[kind], "Path": None, "BlurHash": None, "Height": None,
                                "Width": None, "Size": 0} for kind in pictures])

    @route("/items/<item_id>/images/<kind>")
    @route("/items/<item_id>/images/<kind>/<index:int>")
    def image(item_id, kind, index=0):
        ref = ids.parse(item_id)
        picture = _picture(ref, TYPES.get(kind), index)
        if picture is None:
            raise not_found("image")
        place, relpath = picture
        root = library.thumbnail_dir if place == "frames" else library.root
        source = os.path.realpath(os.path.join(root, relpath))
        if os.path.commonpath([source, os.path.realpath(root)]) != os.path.realpath(root) or \
                not os.path.isfile(source):
            raise not_found("image")
        fit = requested_fit()
        if not fit.asks or source in unreadable:
            return _send(relpath, root)
        quality = requested_quality()
        name = imaging.cached_name(source, fit, quality)
        if not os.path.isfile(os.path.join(cache_dir, name)):
            made = ctx.playback.pool.run(f"images/{ref.id}", imaging.ScaleJob(
                key=f"image/{name}", source=source, target=os.path.join(cache_dir, name), fit=fit, quality=quality))
            if made is None:
                if len(unreadable) < 1000:
                    unreadable.add(source)
                log.info("jellyfin: %s is no picture the encoder reads; sent as it is", relpath)
                return _send(relpath, root)
        return _send(name, cache_dir)


def add_trickplay(app, ctx):
    """Seek-preview sheets, as Jellyfin serves its own (``items.trickplay_info`` describes them)."""

    @ctx.route("/videos/<item_id>/trickplay/<width:int>/<number:int>.jpg")
    def trickplay_sheet(item_id, width, number):
        """Made on demand if the background pass has not reached the video (previews.py); the
        client sends its token (``api_key``)."""
        ctx.who()
        video = catalog.get_video(ids.parse(item_id).id)
        if width != trickplay.video_layout(video.info).tile_width:
            raise not_found("seek previews of that width")
        return _send(ctx.previews.sheet(video.id, number), ctx.previews.trickplay_dir)


def _picture(ref, kind, index):
    """``(place, relative path)`` of ``kind`` of the item ``ref``, or None."""
    if kind is None or index != 0:
        return None
    return _pictures(ref).get(kind)


def _pictures(ref):
    """items.artwork of the item ``ref``: {} for a view or genre (they have none), or an unknown id."""
    if ref.kind not in ("item", "season"):
        return {}
    video = Video.get_or_none(Video.id == ref.id) if ref.kind == "item" else None
    show = video.show if video is not None else Show.get_or_none(Show.id == ref.id)
    if show is None:
        return {}
    videos = catalog.videos_by_show([show.id])[show.id]
    show_frame = next((v.frame for v in videos if v.frame), None)  # as browse.Snapshot chooses it
    return items.artwork(show, video, show_frame)


def _send(relpath, root):
    response = bottle.static_file(relpath, root=root)
    if isinstance(response, bottle.HTTPError):
        raise not_found("image")
    response.set_header("Cache-Control", "public, max-age=86400")
    return response
