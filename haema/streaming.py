"""Sending made files: byte ranges, and ``sendfile`` from the open file to the socket.

A segment reaches the client from an open file, never as one ``bytes`` object, so the
web process's memory does not grow with segment size or the number of clients. Under
gevent's server (``SendfileHandler``) the kernel copies the file to the socket; any
other WSGI server (webtest in the tests) reads it in 64 KB pieces.
"""
import os

import bottle
from gevent.pywsgi import WSGIHandler


class FileRange:
    """``count`` bytes of an open file from ``offset``: a WSGI body that is also a file
    (``read``), so Bottle hands it to ``wsgi.file_wrapper`` when the server has one."""

    def __init__(self, file, offset, count):
        self.file, self.offset, self.count = file, offset, count
        self._position = offset

    def read(self, size=-1):
        left = self.offset + self.count - self._position
        size = left if size is None or size < 0 else min(size, left)
        data = os.pread(self.file.fileno(), size, self._position) if size > 0 else b""
        self._position += len(data)
        return data

    def close(self):
        self.file.close()


def file_response(file, headers):
    """A 200 of the whole open ``file``, or a 206 of the range asked for (416 if none
    fits). ``headers`` are sent with either."""
    size = os.fstat(file.fileno()).st_size
    headers = dict(headers, **{"Accept-Ranges": "bytes"})
    asked = bottle.request.environ.get("HTTP_RANGE")
    if not asked:
        return bottle.HTTPResponse(FileRange(file, 0, size), headers=dict(headers, **{"Content-Length": str(size)}))
    ranges = list(bottle.parse_range_header(asked, size))
    if not ranges:
        file.close()
        return bottle.HTTPResponse(status=416, headers=dict(headers, **{"Content-Range": f"bytes */{size}"}))
    start, end = ranges[0]
    return bottle.HTTPResponse(FileRange(file, start, end - start), status=206, headers=dict(
        headers, **{"Content-Length": str(end - start), "Content-Range": f"bytes {start}-{end - 1}/{size}"}))


# The environ key of ``SendfileHandler._upgrade``: absent under other WSGI servers (webtest)
UPGRADE = "haema.upgrade"


class SendfileHandler(WSGIHandler):
    """gevent's handler with a ``wsgi.file_wrapper`` whose bodies go out by
    ``socket.sendfile`` (cooperative in gevent: other clients are served meanwhile)."""

    def get_environ(self):
        environ = super().get_environ()
        environ["wsgi.file_wrapper"] = _wrap
        environ[UPGRADE] = self._upgrade
        return environ

    def _upgrade(self, headers, talk):
        """Switch this connection to another protocol (a WebSocket, jellyfin/ws.py): send
        ``101 Switching Protocols`` with ``headers``, then ``talk(socket, stopping)`` until it
        returns, ``stopping()`` being true once the server stops accepting (it should then end
        soon: the server waits for it). No HTTP follows on this connection, and the app's own
        answer is not sent."""
        self.close_connection = True
        self.start_response("101 Switching Protocols", headers)
        self.write(b"")  # the headers alone: gevent frames no body after a 101
        talk(self.socket, lambda: self.server.closed)

    def process_result(self):
        if not isinstance(self.result, FileRange):
            return super().process_result()
        body = self.result
        self.write(b"")  # the headers; Content-Length is set, so no chunked encoding
        if body.count and self.code not in (204, 304):
            self.response_length += self.socket.sendfile(body.file, body.offset, body.count)


def _wrap(file, block_size=None):
    return file if isinstance(file, FileRange) else bottle.WSGIFileWrapper(file)
