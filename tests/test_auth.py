"""Accounts over HTTP: who may call what, whose history is whose, signed media URLs, brakes on
guessing, cross-site requests and the headers of the web UI. Real app, real SQLite, real scrypt."""
import html.parser
import logging
import re
import shutil
import sqlite3
import subprocess
import time

import pytest
import webtest

from haema import accounts, models, signing, storage
from haema.gate import COOKIE

from harness.processes import free_port
from harness.server import REPO, haema_command, request
from harness.server import add_user as add_user_by_cli

ORIGIN = {"Origin": "http://localhost:80"}  # webtest's own host: a page of this site
EVIL = {"Origin": "https://evil.example"}
PASSWORDS = {"ada": "ada's long secret", "bob": "bob's long secret", "cy": "cy's long secret"}


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch):
    """scrypt at a test's cost: each stored hash names its own cost, so checking follows it.
    ``test_passwords_are_scrypt_at_full_cost`` checks the real one."""
    monkeypatch.setattr(accounts, "SCRYPT", {"n": 2 ** 4, "r": 8, "p": 1})


@pytest.fixture
def small_library(library_template, tmp_path):
    """Two films and an episode of the shared library: a scan in a fraction of the time."""
    root = tmp_path / "small"
    for relpath in ("Movies/Heat (1995).mp4", "Movies/Amélie (2001)/Amélie (2001).mkv",
                    "Shows/Breaking Bad (2008)/Season 01/Breaking Bad - S01E01 - Pilot.mkv"):
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(library_template / relpath, root / relpath)
    return root


@pytest.fixture
def site(make_app, small_library):
    """The app with accounts on: admin ``ada``, users ``bob`` and ``cy``; nobody signed in."""
    app = make_app(small_library, auth=True)
    with models.database.connection_context():
        accounts.add_user("ada", PASSWORDS["ada"], admin=True)
        accounts.add_user("bob", PASSWORDS["bob"])
        accounts.add_user("cy", PASSWORDS["cy"])
    return app


def browser(site, name):
    """A client of its own (own cookie jar) signed in as ``name`` through the login route."""
    client = webtest.TestApp(site.app)
    client.post_json("/api/v1/auth/login", {"username": name, "password": PASSWORDS[name]}, headers=ORIGIN)
    return client


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def videos(client):
    shows = {s["info"]["title"]: s for s in client.get("/api/v1/shows").json}
    return {"heat": shows["Heat"]["info"]["id"], "amelie": shows["Amélie"]["info"]["id"],
            "pilot": shows["Breaking Bad"]["episodes"][0]["id"]}


# -- Every route is closed ------------------------------------------------------

PUBLIC = {("POST", "/api/v1/auth/login"), ("GET", "/api/v1/auth/setup"), ("POST", "/api/v1/auth/setup"),
          ("GET", "/"), ("GET", "/static/<path:path>"), ("GET", "/api/v1/health")}


def example_url(rule):
    """A URL that ``rule`` matches: a well-formed id for each wildcard, the first choice of a regex one."""
    def value(match):
        name, _, rest = match.group(1).partition(":")
        if rest.startswith("re:"):
            return rest[3:].split("|")[0]
        if rest == "int":
            return "0"
        return {"path": "app.css", "index": "0", "name": "bob"}.get(name, "0123456789abcdef")
    return re.sub(r"<([^>]+)>", value, rule)


def test_every_route_but_sign_in_setup_and_static_files_answers_401_without_credentials(site):
    """Generated from the route table, so a new route cannot slip past."""
    own = [route for route in site.app.routes if not route.config.get("jellyfin")]  # see test_jellyfin_api.py
    routes = [(route.method, route.rule) for route in own]
    assert len(routes) > 25
    public = {(route.method, route.rule) for route in own if route.config.get("access") == "public"}
    assert public == PUBLIC
    for method, rule in routes:
        if (method, rule) in PUBLIC:
            continue
        for headers in ({}, bearer("not-a-token"), {"Cookie": f"{COOKIE}=not-a-token", **ORIGIN}):
            response = site.request(example_url(rule), method=method, headers=headers, body=b"{}", expect_errors=True)
            assert response.status_int == 401, (method, rule, headers, response.status, response.body)
            assert response.json == {"error": "sign in first"}


def test_public_routes_answer_without_credentials(site):
    assert site.get("/").content_type == "text/html"
    assert site.get("/static/js/app.js").status_int == 200
    assert site.get("/api/v1/auth/setup").json == {"needed": False}
    health = site.get("/api/v1/health").json  # for load balancers: says nothing of the library but its scan
    assert set(health) == {"ok", "scanning", "scanned_at"}


def test_admin_routes_refuse_a_user(site):
    bob = browser(site, "bob")
    bob.get("/api/v1/users", status=403)
    bob.post_json("/api/v1/users", {"username": "eve", "password": "x" * 12}, headers=ORIGIN, status=403)
    bob.delete("/api/v1/users/ada", headers=ORIGIN, status=403)
    bob.get("/api/v1/sessions", status=403)
    bob.post("/api/v1/library/scan", headers=ORIGIN, status=403)


# -- Whose history is whose -----------------------------------------------------


def test_a_user_cannot_read_or_change_another_users_progress(site):
    ada, bob = browser(site, "ada"), browser(site, "bob")
    ids = videos(ada)
    ada.put_json(f"/api/v1/video/{ids['heat']}/progress", {"position": 1.5}, headers=ORIGIN)
    bob.put_json(f"/api/v1/video/{ids['pilot']}/progress", {"position": 0.5}, headers=ORIGIN)

    # bob sees none of ada's, anywhere
    assert bob.get(f"/api/v1/video/{ids['heat']}/progress").json["updated_at"] is None
    assert bob.get(f"/api/v1/video/{ids['heat']}").json["progress"] is None
    assert [e["video_id"] for e in bob.get("/api/v1/history").json] == [ids["pilot"]]
    assert [e["video_id"] for e in bob.get("/api/v1/continue").json] == [ids["pilot"]]
    heat = next(s for s in bob.get("/api/v1/shows").json if s["info"]["id"] == ids["heat"])
    assert heat["progress"] is None

    # bob's writes change only bob's
    bob.put_json(f"/api/v1/video/{ids['heat']}/progress", {"position": 0.25}, headers=ORIGIN)
    bob.delete(f"/api/v1/video/{ids['heat']}/progress", headers=ORIGIN, status=204)
    assert ada.get(f"/api/v1/video/{ids['heat']}/progress").json["position"] == 1.5
    assert [e["video_id"] for e in ada.get("/api/v1/history").json] == [ids["heat"]]
    assert [e["video_id"] for e in ada.get("/api/v1/continue").json] == [ids["heat"]]
    heat = next(s for s in ada.get("/api/v1/shows").json if s["info"]["id"] == ids["heat"])
    assert heat["progress"]["position"] == 1.5


def test_history_from_before_accounts_moves_to_the_first_admin(make_app, small_library):
    household = make_app(small_library, auth=False)
    heat = videos(household)["heat"]
    household.put_json(f"/api/v1/video/{heat}/progress", {"position": 1.25})
    site = make_app(small_library, auth=True, scan=False)  # the same database, now with accounts
    token = site.app.config["haema.setup"].token
    site.post_json("/api/v1/auth/setup", {"token": token, "username": "ada", "password": PASSWORDS["ada"]},
                   headers=ORIGIN)
    assert [e["video_id"] for e in site.get("/api/v1/history").json] == [heat]
    with models.database.connection_context():
        accounts.add_user("zed", "zed's long secret", admin=True)  # a second admin adopts nothing
    zed = webtest.TestApp(site.app)
    zed.post_json("/api/v1/auth/login", {"username": "zed", "password": "zed's long secret"}, headers=ORIGIN)
    assert zed.get("/api/v1/history").json == []


def test_removing_a_user_removes_their_history_and_sessions(site):
    ada, bob = browser(site, "ada"), browser(site, "bob")
    heat = videos(bob)["heat"]
    bob.put_json(f"/api/v1/video/{heat}/progress", {"position": 1.0}, headers=ORIGIN)
    ada.delete("/api/v1/users/bob", headers=ORIGIN, status=204)
    bob.get("/api/v1/history", status=401)
    with models.database.connection_context():
        assert not models.Progress.select().exists()


# -- Sign-in, sessions, setup ---------------------------------------------------


def test_login_sets_an_httponly_lax_cookie_and_returns_a_bearer_token(site):
    client = webtest.TestApp(site.app)
    response = client.post_json("/api/v1/auth/login", {"username": "bob", "password": PASSWORDS["bob"]},
                                headers=ORIGIN)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie.replace("lax", "Lax")
    assert response.json["user"] == {"name": "bob", "admin": False}
    token = response.json["token"]
    assert webtest.TestApp(site.app).get("/api/v1/auth/me", headers=bearer(token)).json["name"] == "bob"
    assert client.get("/api/v1/auth/me").json == {"name": "bob", "admin": False, "auth": True}  # by the cookie


def test_logout_ends_the_session(site):
    client = webtest.TestApp(site.app)
    token = client.post_json("/api/v1/auth/login", {"username": "bob", "password": PASSWORDS["bob"]},
                             headers=ORIGIN).json["token"]
    client.post("/api/v1/auth/logout", headers=ORIGIN, status=204)
    client.get("/api/v1/auth/me", status=401)
    site.get("/api/v1/auth/me", headers=bearer(token), status=401)


def test_an_admin_lists_and_revokes_sessions(site):
    ada = browser(site, "ada")
    token = site.post_json("/api/v1/auth/login", {"username": "bob", "password": PASSWORDS["bob"]}).json["token"]
    listed = ada.get("/api/v1/sessions").json
    assert sorted(s["user"] for s in listed) == ["ada", "bob"]
    assert [s["current"] for s in listed if s["user"] == "ada"] == [True]
    assert all(token not in str(s) for s in listed)
    bobs = next(s["id"] for s in listed if s["user"] == "bob")
    ada.delete(f"/api/v1/sessions/{bobs}", headers=ORIGIN, status=204)
    site.get("/api/v1/auth/me", headers=bearer(token), status=401)
    ada.delete(f"/api/v1/sessions/{bobs}", headers=ORIGIN, status=404)


def test_a_user_changes_their_password_with_the_current_one_and_their_other_sessions_end(site):
    bob, elsewhere = browser(site, "bob"), browser(site, "bob")
    bob.put_json("/api/v1/auth/password", {"current": "not it", "password": "bob's new secret"},
                 headers=ORIGIN, status=403)
    bob.put_json("/api/v1/auth/password", {"current": PASSWORDS["bob"], "password": "short"}, headers=ORIGIN,
                 status=400)
    bob.put_json("/api/v1/auth/password", {"current": PASSWORDS["bob"], "password": "bob's new secret"},
                 headers=ORIGIN, status=204)
    bob.get("/api/v1/auth/me", status=200)  # this browser stays signed in
    elsewhere.get("/api/v1/auth/me", status=401)  # the other one is out
    site.post_json("/api/v1/auth/login", {"username": "bob", "password": PASSWORDS["bob"]}, status=401)
    site.post_json("/api/v1/auth/login", {"username": "bob", "password": "bob's new secret"}, status=200)


def test_an_admin_resets_a_users_password_and_ends_their_sessions(site):
    ada, bob = browser(site, "ada"), browser(site, "bob")
    bob.put_json("/api/v1/users/cy/password", {"password": "cy's new secret"}, headers=ORIGIN, status=403)
    ada.put_json("/api/v1/users/nobody/password", {"password": "a long secret"}, headers=ORIGIN, status=404)
    ada.put_json("/api/v1/users/bob/password", {"password": "bob's new secret"}, headers=ORIGIN, status=204)
    bob.get("/api/v1/auth/me", status=401)
    site.post_json("/api/v1/auth/login", {"username": "bob", "password": "bob's new secret"}, status=200)


def test_with_accounts_off_there_is_no_password_to_change(app):
    app.put_json("/api/v1/auth/password", {"current": "x", "password": "a long secret"}, headers=ORIGIN, status=404)


def test_an_admin_adds_and_removes_users_but_not_the_last_admin(site):
    ada = browser(site, "ada")
    ada.post_json("/api/v1/users", {"username": "dee", "password": "dee's long secret"}, headers=ORIGIN, status=201)
    ada.post_json("/api/v1/users", {"username": "dee", "password": "another secret"}, headers=ORIGIN, status=409)
    ada.post_json("/api/v1/users", {"username": "x", "password": "short"}, headers=ORIGIN, status=400)
    ada.post_json("/api/v1/users", {"username": "../x", "password": "long enough"}, headers=ORIGIN, status=400)
    assert [u["name"] for u in ada.get("/api/v1/users").json] == ["ada", "bob", "cy", "dee"]
    ada.delete("/api/v1/users/dee", headers=ORIGIN, status=204)
    assert ada.delete("/api/v1/users/ada", headers=ORIGIN, status=409).json["error"].startswith("this is the only")


def test_the_setup_link_creates_the_first_admin_once(make_app, small_library):
    site = make_app(small_library, auth=True, scan=False)
    token = site.app.config["haema.setup"].token
    assert site.get("/api/v1/auth/setup").json == {"needed": True}
    first = {"token": "wrong", "username": "ada", "password": PASSWORDS["ada"]}
    site.post_json("/api/v1/auth/setup", first, headers=ORIGIN, status=403)
    response = site.post_json("/api/v1/auth/setup", dict(first, token=token), headers=ORIGIN)
    assert response.json["user"] == {"name": "ada", "admin": True}
    assert site.get("/api/v1/users").json[0]["admin"] is True  # signed in by the cookie
    site.post_json("/api/v1/auth/setup", dict(first, token=token, username="mal"), headers=ORIGIN, status=410)
    assert site.get("/api/v1/auth/setup").json == {"needed": False}


def test_add_user_on_the_command_line_reads_the_password_from_stdin(make_app, small_library, tmp_path, database_url):
    add_user_by_cli(str(tmp_path), "gran", "gran's long secret", admin=True, db=database_url)
    site = make_app(small_library, auth=True, scan=False)
    assert site.app.config["haema.setup"].token is None  # a user exists: no setup link
    response = site.post_json("/api/v1/auth/login", {"username": "gran", "password": "gran's long secret"})
    assert response.json["user"] == {"name": "gran", "admin": True}


# -- Brakes on guessing ---------------------------------------------------------


def test_repeated_bad_passwords_lock_the_name_out(site):
    wrong = {"username": "bob", "password": "guess"}
    for _ in range(accounts.SignIns().users.free):
        assert site.post_json("/api/v1/auth/login", wrong, status=401).json == {"error": "wrong user name or password"}
    right = {"username": "bob", "password": PASSWORDS["bob"]}
    assert "too many failed sign-ins" in site.post_json("/api/v1/auth/login", right, status=429).json["error"]
    site.post_json("/api/v1/auth/login", {"username": "cy", "password": PASSWORDS["cy"]})  # others still may


def test_an_address_is_locked_out_after_guessing_many_names(site):
    for number in range(accounts.SignIns().addresses.free):
        site.post_json("/api/v1/auth/login", {"username": f"name{number}", "password": "guess"}, status=401)
    site.post_json("/api/v1/auth/login", {"username": "cy", "password": PASSWORDS["cy"]}, status=429)
    other = {"REMOTE_ADDR": "192.0.2.7"}
    site.post_json("/api/v1/auth/login", {"username": "cy", "password": PASSWORDS["cy"]}, extra_environ=other)


def test_passwords_are_scrypt_at_full_cost(monkeypatch):
    monkeypatch.undo()
    stored = accounts.hash_password("correct horse")
    assert stored.startswith("scrypt$32768$8$1$") and "correct horse" not in stored
    assert accounts.verify_password("correct horse", stored)
    assert not accounts.verify_password("correct horsE", stored)
    assert not accounts.verify_password("correct horse", "md5$whatever")


def test_the_wait_doubles_with_each_failure_and_ends():
    now = [1000.0]
    throttle = accounts.Throttle(free=3, clock=lambda: now[0])
    waits = []
    for _ in range(6):
        waits.append(throttle.wait("bob"))
        throttle.failed("bob")
    assert waits == [0, 0, 0, 1, 2, 4]
    assert throttle.wait("bob") == 8
    now[0] += 8
    assert throttle.wait("bob") == 0
    throttle.forget("bob")
    throttle.failed("bob")
    assert throttle.wait("bob") == 0


# -- Signed media URLs ----------------------------------------------------------


def fetch_all(client, master_url):
    """Master → first variant playlist → its first segment, following the URIs as a player does."""
    master = client.get(master_url)
    base = master_url.split("?")[0].rsplit("/", 1)[0]
    variant = next(line for line in master.text.splitlines() if line and not line.startswith("#"))
    playlist = client.get(f"{base}/{variant}")
    segment_uri = next(line for line in playlist.text.splitlines() if line and not line.startswith("#"))
    segment = client.get(f"{base}/{variant.split('/')[0]}/{segment_uri}")
    return master, playlist, segment


def test_a_player_without_cookie_plays_from_signed_urls(site):
    ada = browser(site, "ada")
    heat = videos(ada)["heat"]
    master_url = ada.get(f"/api/v1/video/{heat}").json["master"]
    assert re.search(r"\?u=\d+&exp=\d+&sig=", master_url)
    player = webtest.TestApp(site.app)  # no cookie, no header
    master, playlist, segment = fetch_all(player, master_url)
    query = master_url.split("?")[1]
    assert all(line.endswith(query) for line in master.text.splitlines() if line and not line.startswith("#"))
    assert all(line.endswith(query) for line in playlist.text.splitlines() if line and not line.startswith("#"))
    assert master.headers["Cache-Control"].startswith("private")
    assert segment.content_type == "video/mp2t" and segment.body[0] == 0x47


def test_segment_bytes_are_the_same_whoever_asks(site):
    """What a caching proxy keys on (the path) decides the bytes, never the credential."""
    ada, bob = browser(site, "ada"), browser(site, "bob")
    heat = videos(ada)["heat"]
    player = webtest.TestApp(site.app)
    *_, for_ada = fetch_all(player, ada.get(f"/api/v1/video/{heat}").json["master"])
    *_, for_bob = fetch_all(player, bob.get(f"/api/v1/video/{heat}").json["master"])
    assert for_ada.request.query_string != for_bob.request.query_string
    assert for_ada.request.path == for_bob.request.path
    assert for_ada.body == for_bob.body
    assert for_ada.headers["ETag"] == for_bob.headers["ETag"]
    assert for_ada.headers["Cache-Control"] == for_bob.headers["Cache-Control"] == "public, max-age=86400"


def segment_url(site, client, video_id):
    master_url = client.get(f"/api/v1/video/{video_id}").json["master"]
    *_, segment = fetch_all(webtest.TestApp(site.app), master_url)
    return segment.request.path_qs


@pytest.mark.parametrize("change", [
    lambda q: re.sub(r"sig=[^&]+", "sig=AAAAAAAAAAAAAAAAAAAAAAAA", q),
    lambda q: re.sub(r"u=\d+", "u=2", q),  # ada's signature, claimed for bob
    lambda q: re.sub(r"exp=(\d+)", lambda m: f"exp={int(m.group(1)) + 3600}", q),  # a longer life
    lambda q: q.replace("exp=", "exp=x"),
])
def test_a_tampered_signature_is_403(site, change):
    ada = browser(site, "ada")
    path, query = segment_url(site, ada, videos(ada)["heat"]).split("?")
    webtest.TestApp(site.app).get(f"{path}?{change(query)}", status=403)


def test_a_signature_is_for_one_video_only(site):
    ada = browser(site, "ada")
    ids = videos(ada)
    query = ada.get(f"/api/v1/video/{ids['heat']}").json["master"].split("?")[1]
    webtest.TestApp(site.app).get(f"/api/v1/video/{ids['amelie']}/master.m3u8?{query}", status=403)


def test_an_expired_signature_is_403(site):
    ada = browser(site, "ada")
    heat = videos(ada)["heat"]
    with models.database.connection_context():
        key = signing.load_key()
    yesterday = signing.Signer(key, clock=lambda: time.time() - 2 * signing.VALID_FOR)
    query = yesterday.query(heat, 1)
    response = webtest.TestApp(site.app).get(f"/api/v1/video/{heat}/master.m3u8?{query}", status=403)
    assert "expired" in response.json["error"]
    fresh = signing.Signer(key).query(heat, 1)
    webtest.TestApp(site.app).get(f"/api/v1/video/{heat}/master.m3u8?{fresh}", status=200)


def test_a_removed_users_signatures_stop_working(site):
    ada, bob = browser(site, "ada"), browser(site, "bob")
    url = segment_url(site, bob, videos(bob)["heat"])
    ada.delete("/api/v1/users/bob", headers=ORIGIN, status=204)
    webtest.TestApp(site.app).get(url, status=403)


def test_a_proxy_asks_verify_before_serving_a_cached_segment(site):
    ada = browser(site, "ada")
    url = segment_url(site, ada, videos(ada)["heat"])
    proxy = webtest.TestApp(site.app)
    proxy.get("/api/v1/auth/verify", headers={"X-Original-URI": url}, status=204)
    proxy.get("/api/v1/auth/verify", headers={"X-Original-URI": url.replace("sig=", "sig=A")}, status=403)
    proxy.get("/api/v1/auth/verify", headers={"X-Original-URI": url.split("?")[0]}, status=401)


# -- The browser side -----------------------------------------------------------


def test_a_cookie_request_from_another_site_is_refused(site):
    bob = browser(site, "bob")
    heat = videos(bob)["heat"]
    url = f"/api/v1/video/{heat}/progress"
    bob.put_json(url, {"position": 1.0}, headers=EVIL, status=403)
    bob.put_json(url, {"position": 1.0}, headers={"Referer": "https://evil.example/page"}, status=403)
    bob.put_json(url, {"position": 1.0}, status=403)  # the cookie, and no Origin or Referer at all
    bob.put_json(url, {"position": 1.0}, headers={"Origin": "null"}, status=403)
    assert bob.get(url).json["updated_at"] is None
    bob.put_json(url, {"position": 1.0}, headers=ORIGIN)
    bob.put_json(url, {"position": 1.0}, headers={"Referer": "http://localhost:80/#/play/x"})
    token = site.post_json("/api/v1/auth/login", {"username": "bob", "password": PASSWORDS["bob"]}).json["token"]
    site.put_json(url, {"position": 1.5}, headers=bearer(token))  # an app: no cookie, no Origin needed


def test_a_login_from_another_site_is_refused(site):
    site.post_json("/api/v1/auth/login", {"username": "bob", "password": PASSWORDS["bob"]}, headers=EVIL, status=403)


def test_cross_site_writes_are_refused_with_auth_off_too(app):
    heat = videos(app)["heat"]
    app.put_json(f"/api/v1/video/{heat}/progress", {"position": 1.0}, headers=EVIL, status=403)


def test_no_cors_headers_are_sent(site):
    bob = browser(site, "bob")
    response = bob.get("/api/v1/shows", headers=EVIL)
    assert not [name for name in response.headers if name.lower().startswith("access-control-")]
    preflight = site.options("/api/v1/shows", headers={**EVIL, "Access-Control-Request-Method": "PUT"}, status=405)
    assert not [name for name in preflight.headers if name.lower().startswith("access-control-")]


def test_the_web_ui_has_security_headers(site):
    for url in ("/", "/static/js/app.js"):
        headers = site.get(url).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


class _Inline(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.found, self.in_script = [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "style" or "style" in attrs or any(name.startswith("on") for name in attrs):
            self.found.append((tag, attrs))
        if tag == "script":
            self.in_script = True
            if "src" not in attrs:
                self.found.append((tag, attrs))

    def handle_endtag(self, tag):
        self.in_script = self.in_script and tag != "script"

    def handle_data(self, data):
        if self.in_script and data.strip():
            self.found.append(("script", data))


def test_the_page_has_no_inline_script_or_style(site):
    """The CSP allows none; the page would break in the browser rather than here otherwise."""
    parser = _Inline()
    parser.feed(site.get("/").text)
    assert parser.found == []


def test_no_password_or_token_reaches_the_log(site, caplog):
    caplog.set_level(logging.DEBUG)
    client = webtest.TestApp(site.app)
    client.post_json("/api/v1/auth/login", {"username": "bob", "password": "a wrong guess"}, status=401)
    token = client.post_json("/api/v1/auth/login", {"username": "bob", "password": PASSWORDS["bob"]},
                             headers=ORIGIN).json["token"]
    master = client.get(f"/api/v1/video/{videos(client)['heat']}").json["master"]
    signature = master.split("sig=")[1]
    webtest.TestApp(site.app).get(master.replace("sig=", "sig=X"), status=403)
    client.post_json("/api/v1/users", {"username": "eve", "password": "eve's long secret"}, headers=ORIGIN,
                     status=403)
    assert "failed sign-in" in caplog.text  # the log does speak
    for secret in ("a wrong guess", PASSWORDS["bob"], "eve's long secret", token, signature):
        assert secret not in caplog.text


# -- A database from before accounts ------------------------------------------


def test_an_old_progress_table_becomes_the_households(tmp_path):
    """The table keyed by video id alone is rebuilt keyed by (user, video), its index and trigger too."""
    path = str(tmp_path / "old.db")
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE progress (video_id VARCHAR(255) NOT NULL PRIMARY KEY, position REAL NOT NULL, "
                    "duration REAL NOT NULL, finished INTEGER NOT NULL, updated_at DATETIME NOT NULL)")
        old.execute('CREATE INDEX "progress_updated_at" ON "progress" ("updated_at")')
        old.execute("INSERT INTO progress VALUES ('0123456789abcdef', 12.5, 100.0, 0, '2026-01-02 03:04:05')")
    storage.open_database(path)
    with models.database.connection_context():
        [row] = models.Progress.select()
        keyed = models.keyed_id(models.Secret.key(models.ID_KEY), "0123456789abcdef")  # by 0004
        assert (row.user_id, row.video_id, row.position) == (models.HOUSEHOLD, keyed, 12.5)
        assert "progress_updated_at" in {index.name for index in models.database.get_indexes("progress")}
        before = models.Generation.current()
        models.Progress.update(position=13).execute()
        assert models.Generation.current() == before + 1
        assert "progress_unowned" not in models.database.get_tables()
    storage.open_database(path)  # a second start changes nothing
    with models.database.connection_context():
        assert models.Progress.select().count() == 1


# -- The first start ------------------------------------------------------------


def test_the_first_start_prints_a_setup_link_that_creates_the_admin(small_library, tmp_path):
    """README's two commands still set everything up: the printed link is all it takes."""
    port = free_port()
    command = [*haema_command(), "-t", str(small_library), "-p", str(port), "--db", str(tmp_path / "h.db"),
               "--cache-path", str(tmp_path / "cache"), "--scan-on-start", "false", "--workers", "1"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        link = next(line for line in process.stdout if "/#/setup/" in line)
        token = re.search(r"http://127\.0\.0\.1:\d+/#/setup/(\S+)", link).group(1)
        url = f"http://127.0.0.1:{port}"
        first = {"token": token, "username": "ada", "password": PASSWORDS["ada"]}
        assert request(url + "/api/v1/auth/setup", "POST", dict(first, token="guess"))[0] == 403
        status, answer = request(url + "/api/v1/auth/setup", "POST", first)
        assert status == 200 and answer["user"] == {"name": "ada", "admin": True}
        assert request(url + "/api/v1/auth/me", token=answer["token"]) == (
            200, {"name": "ada", "admin": True, "auth": True})
        assert request(url + "/api/v1/auth/setup", "POST", first)[0] == 410
    finally:
        process.terminate()
        process.wait(10)
