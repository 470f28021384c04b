"""Jellyfin's WebSocket (``/socket``): keep-alives, so a client sees the server as alive.

Jellyfin clients open it right after sign-in. Jellyfin pushes remote-control commands and
library changes over it; Haema has none to push, so it does what keeps a client content:
on connect it sends ``ForceKeepAlive`` with the timeout in seconds (clients then send
``KeepAlive`` every half of it), answers each ``KeepAlive`` with one, a WebSocket ping with
a pong and a close with a close, and reads and ignores any other message (jellyfin-web's
``SessionsStart`` and the like). A connection silent for ``LOST_AFTER`` seconds is closed,
as Jellyfin closes one it counts as lost. Without the socket jellyfin-web retried it every
few seconds and showed the server as unreachable to remote control.

The protocol is wsproto's (python-hyper's sans-I/O WebSocket, maintained, pure Python,
no C parts): it only turns bytes into events and back, so it runs on gevent's own socket
with no server of its own. gevent-websocket, the other choice, replaces gevent's request
handler and has had no release since 2017.

``accept_headers`` and ``reply`` are pure; ``talk`` is the loop on one connection, run by
the server's request handler once the ``101`` is sent (streaming.SendfileHandler). A stopping
server closes its sockets within a second (code 1001) rather than wait for them.
"""
import json
import logging
import uuid

import bottle
import wsproto
from wsproto.connection import ConnectionState
from wsproto.events import CloseConnection, Ping, TextMessage
from wsproto.utilities import generate_accept_token

from .. import models
from ..errors import HaemaError
from ..streaming import UPGRADE
from . import params

log = logging.getLogger(__name__)

LOST_AFTER = 60  # seconds without a message after which a connection counts as lost (Jellyfin's)
TICK = 1.0  # seconds between looks at whether the server is stopping
LONGEST_MESSAGE = 1 << 16  # characters: Jellyfin's messages are a few hundred
READ_SIZE = 1 << 14


def accept_headers(environ):
    """The headers of the ``101`` that accepts this WSGI request's WebSocket handshake
    (RFC 6455, no extensions); 400 if it is not one."""
    upgrade = environ.get("HTTP_UPGRADE", "").lower()
    connection = {part.strip().lower() for part in environ.get("HTTP_CONNECTION", "").split(",")}
    key = environ.get("HTTP_SEC_WEBSOCKET_KEY", "").strip()
    if upgrade != "websocket" or "upgrade" not in connection or not key:
        raise HaemaError("this is Jellyfin's WebSocket: open it as one (Upgrade: websocket)")
    if environ.get("HTTP_SEC_WEBSOCKET_VERSION", "").strip() != "13":
        raise HaemaError("WebSocket version 13 only (Sec-WebSocket-Version: 13)")
    return [("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", generate_accept_token(key.encode("ascii", "replace")).decode("ascii"))]


def message(kind, data=None):
    """A Jellyfin WebSocket message: ``{"MessageType", "Data", "MessageId"}`` (a GUID, as
    Jellyfin writes them; clients drop repeats by it)."""
    body = {"MessageType": kind, "MessageId": uuid.uuid4().hex}
    if data is not None:
        body["Data"] = data
    return json.dumps(body)


def reply(text):
    """What to send back to a client's message ``text``, or None."""
    try:
        kind = json.loads(text).get("MessageType")
    except (ValueError, AttributeError):
        return None
    return message("KeepAlive") if kind == "KeepAlive" else None


def talk(sock, who="a client", stopping=lambda: False):
    """Speak Jellyfin's WebSocket on an accepted connection until either side closes it, it
    falls silent for ``LOST_AFTER`` seconds, or ``stopping()`` says the server is stopping
    (looked at every ``TICK``: a stopping server does not wait for an app's socket).

    Frames are read from the socket itself: a client sends none before the 101 (RFC 6455
    4.1), so none waits in the HTTP reader's buffer, and a socket, unlike a file made of it,
    stays usable after a read times out."""
    connection = wsproto.Connection(wsproto.ConnectionType.SERVER)
    sock.settimeout(TICK)
    log.debug("jellyfin: socket open for %s", who)
    parts, size, idle = [], 0, 0.0
    try:
        sock.sendall(connection.send(TextMessage(data=message("ForceKeepAlive", LOST_AFTER))))
        while True:
            try:
                data = sock.recv(READ_SIZE)
            except TimeoutError:
                idle += TICK
                if stopping() or idle >= LOST_AFTER:
                    sock.sendall(connection.send(CloseConnection(code=1001 if stopping() else 1000,
                                                                 reason="server stopping" if stopping()
                                                                 else "no keep-alive")))
                    return
                continue
            idle = 0.0
            connection.receive_data(data or None)  # b"": the client went away
            for event in connection.events():
                if isinstance(event, TextMessage):
                    parts.append(event.data)
                    size += len(event.data)
                    if size > LONGEST_MESSAGE:
                        sock.sendall(connection.send(CloseConnection(code=1009, reason="message too long")))
                        return
                    if event.message_finished:
                        answer = reply("".join(parts))
                        parts, size = [], 0
                        if answer is not None:
                            sock.sendall(connection.send(TextMessage(data=answer)))
                elif isinstance(event, Ping):
                    sock.sendall(connection.send(event.response()))
                elif isinstance(event, CloseConnection):
                    if connection.state is ConnectionState.REMOTE_CLOSING:  # the client's close: answered
                        sock.sendall(connection.send(event.response()))
                    elif connection.state is ConnectionState.OPEN:  # bad framing: wsproto says which code
                        sock.sendall(connection.send(CloseConnection(code=event.code, reason=event.reason)))
                    return
                # binary messages and pongs: nothing to answer
            if not data:
                return
    except OSError as error:  # the client went away mid-write
        log.debug("jellyfin: socket of %s lost: %s", who, error)
    finally:
        log.debug("jellyfin: socket closed for %s", who)


def add(app, ctx):
    """Add the ``/socket`` route to ``app``."""

    # the socket may stay open for hours: it holds no database connection meanwhile
    @ctx.route("/socket", skip=["database"])
    def socket():
        with models.database.connection_context():
            identity = ctx.who()
        environ = bottle.request.environ
        headers = accept_headers(environ)
        upgrade = environ.get(UPGRADE)
        if upgrade is None:  # another WSGI server than Haema's (the tests' webtest)
            raise HaemaError("this server cannot hand a connection over to a WebSocket")
        client = params.auth_fields().get("client") or params.query("deviceid") or "a client"
        upgrade(headers, lambda sock, stopping: talk(sock, f"{identity.name} ({client})", stopping))
        return bottle.HTTPResponse(status=101)
