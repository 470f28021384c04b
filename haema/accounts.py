"""Accounts: users, their passwords, their sessions, and the brakes on guessing.

Passwords are stored as scrypt hashes (``hashlib``, no extra library) with their cost in
the stored string, so a later, higher cost applies to new passwords without breaking old
ones. Sessions are random tokens of which only a SHA-256 is stored: the token is the
credential (a cookie for browsers, ``Authorization: Bearer`` for apps), the hash finds its
row. Nothing here ever logs a password or a token.

Failed sign-ins are counted per user name and per address in this process (``SignIns``):
after a few, each further attempt must wait twice as long as the one before, and is
refused without even hashing while it waits.
"""
import base64
import dataclasses
import datetime
import functools
import hashlib
import hmac
import logging
import math
import re
import secrets
import time

import peewee

from .errors import HaemaError
from .models import (HOUSEHOLD, ContinueDismissed, DisplayPreference, Favourite, PlaybackPreference, Progress, Session,
                     User, database)

log = logging.getLogger(__name__)

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
MIN_PASSWORD = 8
SCRYPT = {"n": 2 ** 15, "r": 8, "p": 1}  # 32 MiB and about 0.1 s per hash on a desktop core
SESSION_IDLE = datetime.timedelta(days=30)  # a session unused this long is gone
TOUCH_EVERY = datetime.timedelta(hours=1)  # ``used_at`` is written at most this often, not per segment


@dataclasses.dataclass(frozen=True)
class Identity:
    """Who a request acts for. ``session_id`` is None for the household (auth off) and for signed URLs."""

    user_id: int
    name: str
    admin: bool
    session_id: str = None


HOUSEHOLD_IDENTITY = Identity(HOUSEHOLD, "household", admin=True)


@dataclasses.dataclass(frozen=True)
class NewSession:
    """A session just opened: the one moment its token exists outside the client."""

    token: str
    identity: Identity


@dataclasses.dataclass(frozen=True)
class Account:
    name: str
    admin: bool
    created_at: str


@dataclasses.dataclass(frozen=True)
class SessionInfo:
    id: str
    user: str
    created_at: str
    used_at: str
    address: str
    agent: str


# -- Passwords -----------------------------------------------------------------


def hash_password(password):
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, **SCRYPT)
    return "scrypt${n}${r}${p}${salt}${digest}".format(**SCRYPT, salt=_b64(salt), digest=_b64(digest))


def verify_password(password, stored):
    """Constant-time comparison of the hashes; a malformed stored hash never matches."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        expected = base64.urlsafe_b64decode(digest + "==")
        actual = _scrypt(password, base64.urlsafe_b64decode(salt + "=="), n=int(n), r=int(r), p=int(p))
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(actual, expected)


@functools.cache
def _nobody_hash():
    """What an unknown user name is checked against, so it costs as long as a known one."""
    return hash_password(secrets.token_urlsafe(16))


def _scrypt(password, salt, n, r, p):
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=2 * 128 * r * n + (1 << 20), dklen=32)


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# -- Users ---------------------------------------------------------------------


def has_users():
    return User.select().exists()


def add_user(name, password, admin=False):
    """A new account. The first admin also takes over the household's history, playback
    preferences and favourites: what was watched and chosen before accounts existed, or with
    ``--auth false``."""
    name = _checked_name(name)
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise HaemaError(f"the password must have at least {MIN_PASSWORD} characters")
    hashed = hash_password(password)
    with database.atomic():
        first_admin = admin and not User.select().where(User.admin == True).exists()  # noqa: E712 (SQL)
        try:
            with database.atomic():
                user = User.create(name=name, password=hashed, admin=bool(admin))
        except peewee.IntegrityError:
            raise HaemaError(f"there is already a user {name!r}", 409) from None
        if first_admin:
            Progress.update(user_id=user.id).where(Progress.user_id == HOUSEHOLD).execute()
            PlaybackPreference.update(user_id=user.id).where(PlaybackPreference.user_id == HOUSEHOLD).execute()
            Favourite.update(user_id=user.id).where(Favourite.user_id == HOUSEHOLD).execute()
            ContinueDismissed.update(user_id=user.id).where(ContinueDismissed.user_id == HOUSEHOLD).execute()
    log.info("added %s %s", "admin" if admin else "user", name)
    return _account(user)


def remove_user(name):
    """Remove an account, its sessions, history, favourites and choices. The last admin stays."""
    with database.atomic():
        user = User.get_or_none(User.name == name)
        if user is None:
            raise HaemaError(f"no user {name!r}", 404)
        if user.admin and User.select().where(User.admin == True).count() == 1:  # noqa: E712 (SQL)
            raise HaemaError("this is the only admin; make another admin first", 409)
        Progress.delete().where(Progress.user_id == user.id).execute()
        DisplayPreference.delete().where(DisplayPreference.user_id == user.id).execute()
        Favourite.delete().where(Favourite.user_id == user.id).execute()
        ContinueDismissed.delete().where(ContinueDismissed.user_id == user.id).execute()
        PlaybackPreference.delete().where(PlaybackPreference.user_id == user.id).execute()
        user.delete_instance()  # sessions go with it (ON DELETE CASCADE)
    log.info("removed user %s", name)


def list_users():
    return [_account(user) for user in User.select().order_by(User.name)]


def change_password(identity, current, password):
    """A user's own new password, given the current one (a browser left signed in must
    not be enough). Their other sessions end: whoever else held one is out."""
    user = User.get_or_none(User.id == identity.user_id)
    if user is None:
        raise HaemaError("accounts are off (--auth false): there is no password to change", 404)
    if not isinstance(current, str) or not verify_password(current, user.password):
        log.warning("%s: a password change with a wrong current password", user.name)
        raise HaemaError("the current password is wrong", 403)
    _set_password(user, password, keep_session=identity.session_id)


def reset_password(name, password):
    """An admin's reset of someone's password: every session of theirs ends."""
    user = User.get_or_none(User.name == name)
    if user is None:
        raise HaemaError(f"no user {name!r}", 404)
    _set_password(user, password)


def _set_password(user, password, keep_session=None):
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise HaemaError(f"the password must have at least {MIN_PASSWORD} characters")
    hashed = hash_password(password)
    with database.atomic():
        User.update(password=hashed).where(User.id == user.id).execute()
        Session.delete().where(Session.user == user.id, Session.id != (keep_session or "")).execute()
    log.info("new password for %s", user.name)


def identity_of(user_id):
    """The Identity of a signed URL's user; None once the user is removed."""
    user = User.get_or_none(User.id == user_id)
    return None if user is None else Identity(user.id, user.name, user.admin)


def _checked_name(name):
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise HaemaError("a user name is 1 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return name


def _account(user):
    return Account(user.name, user.admin, _when(user.created_at))


# -- Sessions ------------------------------------------------------------------


def sign_in(sign_ins, name, password, address, agent=""):
    """A ``NewSession``; 401 for a wrong name or password, 429 while waiting."""
    if not isinstance(name, str) or not isinstance(password, str):
        raise HaemaError('send JSON like {"username": "…", "password": "…"}')
    sign_ins.check(name, address)
    user = User.get_or_none(User.name == name)
    if not verify_password(password, user.password if user else _nobody_hash()) or user is None:
        sign_ins.failed(name, address)
        log.warning("failed sign-in as %r from %s", name[:40], address)
        raise HaemaError("wrong user name or password", 401)
    sign_ins.succeeded(name)
    log.info("%s signed in from %s", name, address)
    return open_session(user, address, agent)


def open_session(user, address, agent=""):
    token = secrets.token_urlsafe(32)
    session = Session.create(id=secrets.token_hex(8), user=user, token_hash=_token_hash(token), address=address or "",
                             agent=(agent or "")[:200])
    return NewSession(token, Identity(user.id, user.name, user.admin, session.id))


def identify(token):
    """The Identity of a session token, or None for an unknown, revoked or idle one."""
    if not token:
        return None
    row = (Session.select(Session, User).join(User)
           .where(Session.token_hash == _token_hash(token)).first())
    if row is None:
        return None
    now = datetime.datetime.utcnow()
    if row.used_at < now - SESSION_IDLE:
        row.delete_instance()
        return None
    if row.used_at < now - TOUCH_EVERY:
        Session.update(used_at=now).where(Session.id == row.id).execute()
    return Identity(row.user.id, row.user.name, row.user.admin, row.id)


def close_session(session_id):
    """Sign out, or revoke someone's session; an unknown id is a 404."""
    if not Session.delete().where(Session.id == session_id).execute():
        raise HaemaError("no such session", 404)


def list_sessions():
    rows = (Session.select(Session, User).join(User)
            .where(Session.used_at >= datetime.datetime.utcnow() - SESSION_IDLE).order_by(Session.used_at.desc()))
    return [SessionInfo(row.id, row.user.name, _when(row.created_at), _when(row.used_at), row.address, row.agent)
            for row in rows]


def _token_hash(token):
    """A plain SHA-256 suffices: a token has 256 random bits, nothing to brute-force."""
    return hashlib.sha256(token.encode()).hexdigest()


def _when(moment):
    return moment.isoformat(timespec="seconds") + "Z"


# -- The first admin -----------------------------------------------------------


class Setup:
    """The one-time link that creates the first admin when there is no user yet.

    The token lives only in this process's memory and in the link printed at start; it
    is spent by the first admin created, whichever way.
    """

    def __init__(self):
        self.token = None if has_users() else secrets.token_urlsafe(24)

    def pending(self):
        """Whether the link still works: a user added any other way (``--add-user``) spends it too."""
        if self.token is not None and has_users():
            self.token = None
        return self.token is not None

    def create_admin(self, token, name, password, address, agent=""):
        """The ``NewSession`` of the new admin, signed in."""
        if not self.pending():
            raise HaemaError("Haema is set up already; sign in", 410)
        if not isinstance(token, str) or not hmac.compare_digest(token.encode(), self.token.encode()):
            log.warning("setup attempted with a wrong token from %s", address)
            raise HaemaError("this setup link is not valid; use the one printed when the server started", 403)
        add_user(name, password, admin=True)
        self.token = None
        return open_session(User.get(User.name == name), address, agent)


# -- Brakes on guessing --------------------------------------------------------


class Throttle:
    """Failures counted per key: after ``free`` of them, each next attempt waits 1 s, 2 s, 4 s…
    up to ``longest`` after the last failure. Kept in memory, oldest keys dropped past ``kept``."""

    def __init__(self, free, longest=900, kept=10000, clock=time.monotonic):
        self.free, self.longest, self.kept, self.clock = free, longest, kept, clock
        self.failures = {}  # key → (count, time of the last failure)

    def delay(self, count):
        return 0 if count < self.free else min(self.longest, 2 ** (count - self.free))

    def wait(self, key):
        """Seconds until ``key`` may try again; 0: now."""
        count, last = self.failures.get(key, (0, 0.0))
        return max(0.0, last + self.delay(count) - self.clock())

    def failed(self, key):
        count, _ = self.failures.pop(key, (0, 0.0))
        self.failures[key] = (count + 1, self.clock())
        while len(self.failures) > self.kept:
            del self.failures[next(iter(self.failures))]

    def forget(self, key):
        self.failures.pop(key, None)


class SignIns:
    """A user name may fail 5 times before it waits; an address, which a household or a
    reverse proxy shares, 20."""

    def __init__(self, clock=time.monotonic):
        self.users = Throttle(free=5, clock=clock)
        self.addresses = Throttle(free=20, clock=clock)

    def check(self, name, address):
        wait = max(self.users.wait(name.casefold()), self.addresses.wait(address))
        if wait > 0:
            log.warning("sign-in as %r from %s refused: %d failures, waiting", name[:40], address,
                        self.users.failures.get(name.casefold(), (0,))[0])
            raise HaemaError(f"too many failed sign-ins; try again in {math.ceil(wait)} s", 429)

    def failed(self, name, address):
        self.users.failed(name.casefold())
        self.addresses.failed(address)

    def succeeded(self, name):
        self.users.forget(name.casefold())
