"""Accounts in Debian's Chromium against the real server: sign in through the web UI, play a
film with hls.js from signed URLs, and find the progress saved under that user only; then
add and remove a user on the admin's page.

Also watches what the Content-Security-Policy would break: any violation Chromium reports
fails the test. Skipped only where there is no Chromium; playwright never downloads a browser.
"""
import os

import pytest

from harness.chromium import CHROMIUM, launched
from harness.clips import make_clip
from harness.server import add_user, running_server
from .test_browser import H264_AAC, TIMEOUT, wait_until
from .test_browser_ux import new_page

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")

ADA = ("ada", "ada's long secret")
BOB = ("bob", "bob's long secret")


def sign_in(page, user):
    """Through the sign-in form, until the library shows."""
    page.fill("#username", user[0])
    page.fill("#password", user[1])
    page.click("form#login button[type=submit]")
    page.wait_for_selector("#shows .card")


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "media"
    (root / "Movies").mkdir(parents=True)
    make_clip(root / "Movies" / "Heat (1995).mp4", seconds=8, width=320, height=180, gop=48)
    # a subtitle track: hls.js then makes text tracks, each loaded from a data: URL (the
    # line is shown up to the 7th second, past where the test pauses)
    (root / "Movies" / "Heat (1995).en.srt").write_text("1\n00:00:00,500 --> 00:00:07,000\nHello\n")
    workdir = str(tmp_path / "server")
    os.mkdir(workdir)
    add_user(workdir, *ADA, admin=True)
    add_user(workdir, *BOB)
    with running_server(root, workdir, user=ADA) as server:
        yield server


def test_sign_in_play_and_progress_is_saved_under_that_user_only(server):
    with launched() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.set_default_timeout(TIMEOUT)
        errors, blocked, media = [], [], []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
        # every violation, also those Chromium reports only as an event (a <track>'s src)
        page.expose_function("reportViolation", lambda text: blocked.append(text))
        page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                             "window.reportViolation(`${e.violatedDirective} ${e.blockedURI}`))")
        page.on("request", lambda request: media.append(request.url) if ".ts" in request.url else None)
        page.goto(server.url + "/")
        assert page.evaluate("type => MediaSource.isTypeSupported(type)", H264_AAC)

        # not signed in: the sign-in page; a wrong password is said so
        page.wait_for_selector("form#login")
        page.fill("#username", ADA[0])
        page.fill("#password", "not the password")
        page.click("form#login button[type=submit]")
        page.wait_for_selector("form#login .message.error")
        page.fill("#password", ADA[1])
        page.click("form#login button[type=submit]")

        # signed in: the library and the account corner, also after a reload (the cookie)
        page.wait_for_selector("#shows .card")
        page.reload()
        page.wait_for_selector("#shows .card")
        assert page.locator("#account .who").inner_text() == ADA[0]
        assert page.locator("#users-link").is_visible()
        page.click("#shows .card")
        page.click("#play")
        wait_until(page, server, "window.haemaPlayer && window.haemaPlayer.hls && "
                                 "document.querySelector('video').currentTime > 2")
        page.keyboard.press(" ")
        wait_until(page, server, "document.querySelector('video').paused")
        paused_at = page.evaluate("document.querySelector('video').currentTime")
        video_id = page.evaluate("location.hash").split("/")[-1]
        wait_until(page, server, f"fetch('/api/v1/video/{video_id}/progress').then(r => r.json())"
                                 f".then(p => Math.abs(p.position - {paused_at}) < 0.5)")
        assert media and all("sig=" in url for url in media), media  # hls.js followed the signed URLs
        # the subtitles, drawn by the page from the cues, under the policy too
        page.select_option("#subtitles", "0")
        wait_until(page, server, "document.querySelector('#captions').innerText === 'Hello'")
        # hls.js makes its caption, subtitle and metadata tracks as <track src="data:,WEBVTT">
        # (createTrackNode): the policy must let them load (readyState 2), not fail them (3)
        page.evaluate("""() => { const t = document.createElement('track'); t.kind = 'metadata';
            t.src = 'data:,WEBVTT'; t.id = 'like-hlsjs'; document.querySelector('video').appendChild(t);
            t.track.mode = 'hidden'; }""")
        wait_until(page, server, "document.getElementById('like-hlsjs').readyState >= 2")
        assert page.evaluate("document.getElementById('like-hlsjs').readyState") == 2

        # the admin's users page: add a user, then remove them again
        page.goto(server.url + "/#/users")
        page.wait_for_selector("#users tbody tr")
        page.fill("#new-username", "cy")
        page.fill("#new-password", "cy's long secret")
        page.click("form#add-user button[type=submit]")
        page.wait_for_selector("#users tbody tr:has-text('cy')")
        assert page.locator("#sessions tbody tr").count() == 2  # this browser, and the test's own API session
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#users button[aria-label='Remove cy']")
        wait_until(page, server, "document.querySelectorAll('#users tbody tr').length === 2")
        assert errors == [] and blocked == []

        # a user who is not an admin: their name alone, no "null" beside it
        page.click("#sign-out")
        page.wait_for_selector("form#login")
        sign_in(page, BOB)
        assert page.locator("#account").inner_text().split() == [BOB[0], "Sign", "out"]
        assert not page.locator("#users-link").count()

    # ada's progress, not bob's
    status, saved = server.api(f"/api/v1/video/{video_id}/progress")
    assert status == 200 and abs(saved["position"] - paused_at) < 0.5
    status, answer = server.api("/api/v1/auth/login", "POST", {"username": BOB[0], "password": BOB[1]})
    server.token = answer["token"]
    assert server.api(f"/api/v1/video/{video_id}/progress")[1]["updated_at"] is None
    assert server.api("/api/v1/history") == (200, [])
    assert server.api("/api/v1/continue") == (200, [])


def test_an_admin_sees_skipped_files_rescans_and_sets_passwords(browser, server, tmp_path):
    context, page = new_page(browser, server)
    try:
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url + "/#/login")
        sign_in(page, ADA)
        page.goto(server.url + "/#/users")
        page.wait_for_selector("#scan-summary:has-text('Last scan')")
        assert page.locator("#skipped tbody tr").count() == 0

        # a file that cannot be played, then a scan from the page: listed with its reason
        (tmp_path / "media" / "Movies" / "Broken (2020).mp4").write_bytes(b"not a video" * 100)
        page.click("#rescan")
        page.wait_for_selector("#skipped tbody tr:has-text('Movies/Broken (2020).mp4')")
        assert page.locator("#skipped tbody tr td").nth(1).inner_text()

        # bob's password, set by the admin: bob signs in with the new one only
        page.once("dialog", lambda dialog: dialog.accept("bob's new secret"))
        page.click("button[aria-label='New password for bob']")
        wait_until(page, server, "fetch('/api/v1/auth/login', {method: 'POST', credentials: 'omit', "
                                 "headers: {'Content-Type': "
                                 "'application/json'}, body: JSON.stringify({username: 'bob', password: "
                                 "\"bob's new secret\"})}).then(r => r.status === 200)")
        # and the admin's own, with the current one
        page.fill("#current-password", ADA[1])
        page.fill("#changed-password", "ada's new secret")
        page.click("form#own-password button[type=submit]")
        page.wait_for_selector("form#own-password .message.info")
        assert errors == []
    finally:
        context.close()
    assert server.api("/api/v1/auth/login", "POST", {"username": "bob", "password": BOB[1]})[0] == 401
    assert server.api("/api/v1/auth/login", "POST", {"username": "ada", "password": "ada's new secret"})[0] == 200


def test_the_header_and_the_admin_page_fit_a_phone(browser, server):
    """At 390 px the search box was 34 px wide for an admin, "Sign out" wrapped, and the
    sessions table ran off the screen with its Sign-out buttons."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    try:
        for user in (BOB, ADA):
            page.goto(server.url + "/#/login")
            sign_in(page, user)
            assert page.locator("#search").bounding_box()["width"] >= 300, user
            for button in page.locator("#account .button").all():
                box = button.bounding_box()
                assert box["height"] < 60 and box["x"] + box["width"] <= 390, button.inner_text()  # one line, on screen
            page.click("#sign-out")
            page.wait_for_selector("form#login")
        sign_in(page, ADA)
        page.goto(server.url + "/#/users")
        page.wait_for_selector("#sessions tbody tr")
        for button in page.locator("#sessions .button, #users .button").all():
            box = button.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390, button.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # this browser's session, by a name a person reads, in local time
        row = page.locator("#sessions tbody tr:has-text('this one')").first
        assert row.locator("td").nth(1).inner_text() == "Chrome on Linux"
        assert "T" not in row.locator("td").nth(3).inner_text()
    finally:
        context.close()


def test_a_user_changes_their_own_password_on_a_phone(browser, server):
    """Only admins had a password form (on the users page); a user's name in the header
    now leads to their own."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    try:
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url + "/#/login")
        sign_in(page, BOB)
        page.tap("#me")
        page.wait_for_selector("form#own-password")
        page.fill("#current-password", "not bob's password")
        page.fill("#changed-password", "bob's new secret")
        page.tap("form#own-password button[type=submit]")
        page.wait_for_selector("form#own-password .message.error")
        page.fill("#current-password", BOB[1])
        page.fill("#changed-password", "bob's new secret")
        page.tap("form#own-password button[type=submit]")
        page.wait_for_selector("form#own-password .message.info")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert not page.locator("#users-link").count() and errors == []
    finally:
        context.close()
    assert server.api("/api/v1/auth/login", "POST", {"username": "bob", "password": BOB[1]})[0] == 401
    assert server.api("/api/v1/auth/login", "POST", {"username": "bob", "password": "bob's new secret"})[0] == 200
