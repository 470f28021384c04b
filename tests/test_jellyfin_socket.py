"""Jellyfin's WebSocket (haema/jellyfin/ws.py): the handshake and the replies as pure functions,
the keep-alive loop over a real socket pair driven by wsproto as a client, the route through
webtest, and a real server reached by websocket-client (the library jellyfin-apiclient-python uses)."""
import json
import shutil
import socket
import threading
import time

import pytest
import websocket
from wsproto.connection import Connection, ConnectionType
from wsproto.events import CloseConnection, Ping, Pong, TextMessage

from haema import accounts, models
from haema.errors import HaemaError
from haema.jellyfin import ws

from harness.server import running_server, server_with_admin
from .test_jellyfin_api import HEADER, PASSWORD, sign_in

UPGRADE = {"HTTP_UPGRADE": "websocket", "HTTP_CONNECTION": "keep-alive, Upgrade", "HTTP_SEC_WEBSOCKET_VERSION": "13",
           "HTTP_SEC_WEBSOCKET_KEY": "dGhlIHNhbXBsZSBub25jZQ=="}


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch):
    monkeypatch.setattr(accounts, "SCRYPT", {"n": 2 ** 4, "r": 8, "p": 1})


# -- pure ------------------------------------------------------------------------


def test_handshake_accepts_rfc_6455_requests_only():
    headers = dict(ws.accept_headers(UPGRADE))
    assert headers["Sec-WebSocket-Accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455's own example
    assert headers["Upgrade"] == "websocket" and headers["Connection"] == "Upgrade"
    for broken in ({"HTTP_UPGRADE": "h2c"}, {"HTTP_SEC_WEBSOCKET_KEY": ""}, {"HTTP_CONNECTION": "close"},
                   {"HTTP_SEC_WEBSOCKET_VERSION": "8"}):
        with pytest.raises(HaemaError) as error:
            ws.accept_headers(dict(UPGRADE, **broken))
        assert error.value.status == 400


def test_keep_alive_is_answered_and_other_messages_are_not():
    answer = json.loads(ws.reply('{"MessageType": "KeepAlive"}'))
    assert answer["MessageType"] == "KeepAlive" and len(answer["MessageId"]) == 32
    assert ws.reply('{"MessageType": "SessionsStart", "Data": "0,1500"}') is None
    assert ws.reply("not json") is None and ws.reply("[1]") is None
    force = json.loads(ws.message("ForceKeepAlive", 60))
    assert force["MessageType"] == "ForceKeepAlive" and force["Data"] == 60


# -- the loop, over a socket pair --------------------------------------------------


class Peer:
    """The client's end: wsproto as a client over one end of a socket pair, the server's
    ``talk`` on the other end in a thread (as gevent's handler runs it after the 101)."""

    def __init__(self):
        self.mine, theirs = socket.socketpair()
        self.client = Connection(ConnectionType.CLIENT)  # frames only: the handshake is the HTTP server's
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=ws.talk, args=(theirs, "pytest", self.stopping.is_set))
        self.thread.start()
        self.theirs = theirs

    def send(self, event):
        self.mine.sendall(self.client.send(event))

    def events(self, count):
        found = []
        while len(found) < count:
            data = self.mine.recv(65536)
            self.client.receive_data(data or None)
            found += list(self.client.events())
            if not data:
                break
        return found

    def close(self):
        self.thread.join(30)
        self.mine.close()
        self.theirs.close()


def test_talk_forces_keep_alives_answers_them_pings_and_a_close():
    peer = Peer()
    try:
        first = peer.events(1)[0]
        assert json.loads(first.data)["MessageType"] == "ForceKeepAlive"
        peer.send(TextMessage(data='{"MessageType": "SessionsStart", "Data": "0,1500"}'))  # read, not answered
        peer.send(TextMessage(data='{"MessageType": "Keep', message_finished=False))  # in two frames
        peer.send(TextMessage(data='Alive"}'))
        peer.send(Ping(b"tv"))
        answers = peer.events(2)
        assert json.loads(answers[0].data)["MessageType"] == "KeepAlive"
        assert isinstance(answers[1], Pong) and answers[1].payload == b"tv"
        peer.send(CloseConnection(code=1000))
        closed = peer.events(1)
        assert isinstance(closed[0], CloseConnection) and closed[0].code == 1000
    finally:
        peer.close()
    assert not peer.thread.is_alive()


def test_a_silent_or_vanished_client_is_let_go(monkeypatch):
    monkeypatch.setattr(ws, "TICK", 0.05)
    monkeypatch.setattr(ws, "LOST_AFTER", 0.2)
    peer = Peer()
    try:
        peer.events(1)  # ForceKeepAlive, then silence
        closed = peer.events(1)
        assert isinstance(closed[0], CloseConnection) and closed[0].reason == "no keep-alive"
    finally:
        peer.close()
    assert not peer.thread.is_alive()
    monkeypatch.setattr(ws, "LOST_AFTER", 60)
    peer = Peer()  # a keep-alive now and then keeps it open past the timeouts of its reads
    try:
        peer.events(1)
        for _ in range(3):
            time.sleep(3 * ws.TICK)  # reads time out meanwhile: the socket must stay usable
            peer.send(TextMessage(data='{"MessageType": "KeepAlive"}'))
            assert json.loads(peer.events(1)[0].data)["MessageType"] == "KeepAlive"
        peer.stopping.set()  # the server stops: the socket is closed, not waited for
        closed = peer.events(1)
        assert isinstance(closed[0], CloseConnection) and closed[0].code == 1001
    finally:
        peer.close()
    assert not peer.thread.is_alive()
    monkeypatch.setattr(ws, "LOST_AFTER", 60)
    peer = Peer()
    peer.events(1)
    peer.mine.shutdown(socket.SHUT_WR)  # gone without a close frame
    peer.close()
    assert not peer.thread.is_alive()


def test_a_message_past_the_limit_closes_with_1009():
    peer = Peer()
    try:
        peer.events(1)
        peer.send(TextMessage(data="x" * (ws.LONGEST_MESSAGE + 1)))
        closed = [e for e in peer.events(1) if isinstance(e, CloseConnection)]
        assert closed[0].code == 1009
    finally:
        peer.close()


# -- the route -------------------------------------------------------------------


def test_socket_route_asks_for_a_token_and_a_websocket(make_app, library_root):
    site = make_app(library_root, auth=True)
    with models.database.connection_context():
        accounts.add_user("ada", PASSWORD, admin=True)
    headers, _, token = sign_in(site)
    site.get("/socket?api_key=wrong", status=401)
    site.get("/socket", headers={"Authorization": HEADER.format("")}, status=401)
    plain = site.get(f"/socket?api_key={token}&deviceId=d1", status=400)
    assert "Upgrade: websocket" in plain.json["error"]
    # a real handshake needs a server that hands the connection over (gevent's, below); webtest has none
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": UPGRADE["HTTP_SEC_WEBSOCKET_KEY"]}
    site.get("/Socket", headers=dict(upgrade, **headers), status=400)


ADA = ("ada", "ada's long secret")


@pytest.fixture(scope="module")
def server(library_template, tmp_path_factory):
    with server_with_admin(library_template, tmp_path_factory.mktemp("socket"), ADA) as running:
        yield running


def test_real_server_keeps_sockets_alive_and_serves_beside_them(server):
    header = HEADER.format(server.token)
    sockets = [websocket.create_connection(f"{server.url.replace('http', 'ws')}/socket?deviceId=tv{n}",
                                           header=[f"Authorization: {header}"], timeout=30) for n in range(3)]
    try:
        for sock in sockets:
            first = json.loads(sock.recv())
            assert first["MessageType"] == "ForceKeepAlive" and first["Data"] == ws.LOST_AFTER
        for sock in sockets:
            sock.send(json.dumps({"MessageType": "KeepAlive"}))
            assert json.loads(sock.recv())["MessageType"] == "KeepAlive"
        # the open sockets hold neither the server nor its database: plain requests go on
        status, report = server.api("/api/v1/library/scan")
        assert status == 200
        sockets[0].ping(b"tv")
        opcode, frame = sockets[0].recv_data_frame(True)
        assert opcode == websocket.ABNF.OPCODE_PONG and frame.data == b"tv"
    finally:
        for sock in sockets:
            sock.close()
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(f"{server.url.replace('http', 'ws')}/socket?api_key=wrong", timeout=30)
    assert refused.value.status_code == 401


def test_a_stopping_server_closes_its_sockets(library_template, tmp_path):
    """SIGTERM with an app's socket open: the app gets a close (1001, going away) and the server
    exits, rather than hold the socket through its grace time."""
    root = tmp_path / "media"
    shutil.copytree(library_template, root)
    with running_server(root, str(tmp_path)) as server:
        sock = websocket.create_connection(f"{server.url.replace('http', 'ws')}/socket", timeout=60)
        assert json.loads(sock.recv())["MessageType"] == "ForceKeepAlive"
        server.process.terminate()
        opcode, frame = sock.recv_data_frame(True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE and int.from_bytes(frame.data[:2], "big") == 1001
        assert server.process.wait(60) == 0
        sock.close()


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")
def test_the_socket_through_conf_nginx(server):
    """conf/nginx.conf passes /socket on upgraded, as it proxies the rest."""
    from harness.cluster import Nginx

    nginx = Nginx([int(server.url.rsplit(":", 1)[1])])
    nginx.start()
    try:
        sock = websocket.create_connection(f"{nginx.url.replace('http', 'ws')}/Socket",
                                           header=[f"Authorization: {HEADER.format(server.token)}"], timeout=30)
        assert json.loads(sock.recv())["MessageType"] == "ForceKeepAlive"
        sock.send(json.dumps({"MessageType": "KeepAlive"}))
        assert json.loads(sock.recv())["MessageType"] == "KeepAlive"
        sock.close()
    finally:
        nginx.stop()
