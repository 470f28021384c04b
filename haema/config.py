"""Configuration: conf file, then ``HAEMA_*`` environment, then command line.

configargparse gives that precedence for free. Everything is checked here, once, so the
rest of the code can trust a plain ``Config`` object. Tests build ``Config`` directly.
"""
import dataclasses
import ipaddress
import os
import re
import socket
import urllib.parse

import configargparse

DEFAULT_CONF = "conf/haema.conf"

_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres")


class ConfigError(Exception):
    """A setting that cannot work; the message says which and how to fix it."""


@dataclasses.dataclass(frozen=True)
class Config:
    target_path: str
    host: str = "127.0.0.1"
    port: int = 8080
    db: str = "haema.db"
    cache: bool = True
    cache_path: str = "cache"
    cache_limit: int = 20 << 30
    log_level: str = "INFO"
    workers: int = max(1, os.cpu_count() or 1)
    copy_workers: int = 1
    segment_duration: float = 4.0
    transcode_segment_duration: float = 2.0
    prefetch: int = 3
    job_timeout: float = 120.0
    encoder: str = "libx264"
    x264_preset: str = "veryfast"
    x264_crf: int = 23
    max_height: int = 1080
    scan_on_start: bool = True
    auth: bool = True
    add_user: str = None  # --add-user NAME: add an account and exit instead of serving
    admin: bool = False  # with add_user: the account may manage users
    watch: bool = True
    jellyfin_web: str = None  # --jellyfin-web DIR: a built jellyfin-web (its dist folder), served at /web/


def parse_size(text):
    """``"500M"`` → 524288000. Binary units, as users read them in ``df -h``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", str(text), re.IGNORECASE)
    if not match:
        raise ConfigError(f"cache-limit {text!r} is not a size; use a number with K, M, G or T, e.g. 500M or 20G")
    number, unit = match.groups()
    return int(float(number) * _SIZE_UNITS[unit.upper()])


def database_url(text):
    """``--db`` as a playhouse.db_url URL; a plain path is a SQLite file, made absolute
    so that the scanning process, started elsewhere, opens the same one."""
    text = str(text).strip()
    scheme = urllib.parse.urlsplit(text).scheme if "://" in text else ""
    if not scheme:
        return "sqlite:///" + os.path.abspath(os.path.expanduser(text))
    if scheme not in DATABASE_SCHEMES:
        raise ConfigError(f"--db: {scheme}:// databases are not supported; use a SQLite file path, "
                          "sqlite:///path or postgresql://user:password@host:port/name")
    if scheme == "sqlite":
        path = text[len("sqlite:///"):] if text.startswith("sqlite:///") else ""
        if not path:
            raise ConfigError(f"--db {text!r}: a SQLite URL names a file, as in sqlite:///path/to/haema.db")
        return "sqlite:///" + os.path.abspath(os.path.expanduser(path))
    return text


def sqlite_path(url):
    """The file of a SQLite URL, or None for another database."""
    return url[len("sqlite:///"):] if url.startswith("sqlite:///") else None


def parse_bool(text):
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{text!r} is not true or false")


class _HelpFormatter(configargparse.ArgumentDefaultsHelpFormatter):
    """--help shows each option's default, where it has one."""

    def _get_help_string(self, action):
        return action.help if action.default is None else super()._get_help_string(action)


class _Parser(configargparse.ArgParser):
    def error(self, message):
        raise ConfigError(f"{message}; see --help")


def build_parser():
    parser = _Parser(
        prog="haema",
        add_help=False,  # -h is --host, as in the seed; help is --help only
        default_config_files=[],
        auto_env_var_prefix="HAEMA_",
        description="Stream a folder of films and shows to any browser over HLS.",
        formatter_class=_HelpFormatter,
        add_config_file_help=False,  # its own text ends with a dead short link; the epilog says it
        add_env_var_help=False,
        epilog="Options come from the conf file (-c), then HAEMA_* environment variables (HAEMA_PORT=9000), "
               "then the command line, which wins. Conf file lines read 'port = 8080'; conf/haema.conf "
               "documents them all.",
    )
    add = parser.add_argument
    add("--help", action="help", default=configargparse.SUPPRESS, help="show this help and exit")
    add("-c", "--config", is_config_file=True, help="conf file (see conf/haema.conf)")
    add("-t", "--target_path", "--target-path", dest="target_path", help="folder of films and shows to serve")
    add("-h", "--host", default=Config.host, help="address to listen on")
    add("-p", "--port", default=Config.port, help="port to listen on")
    add("--db", default=Config.db, help="library index and watch history: a SQLite file (or sqlite:///path), "
        "or postgresql://user:password@host:port/name shared by several nodes")
    add("--cache", default="true", help="keep made segments on disk: true or false")
    add("--cache-path", default=Config.cache_path, help="folder for cached segments and thumbnails")
    add("--cache-limit", default="20G", help="disk budget of the segment cache, e.g. 500M or 20G")
    add("--log-level", default=Config.log_level, help="DEBUG, INFO, WARNING or ERROR")
    add("--workers", default=Config.workers, help="encoder processes; one per core of this machine by default")
    add("--copy-workers", default=Config.copy_workers,
        help="processes for copied segments, so they never wait behind a transcode; 0: the encoders make them")
    add("--segment-duration", default=Config.segment_duration, help="target HLS segment length in seconds")
    add("--transcode-segment-duration", default=Config.transcode_segment_duration,
        help="longest transcoded segment in seconds (shorter: faster start and seeks)")
    add("--prefetch", default=Config.prefetch, help="transcoded segments a worker makes ahead of the player")
    add("--job-timeout", default=Config.job_timeout,
        help="seconds an encoder may take on one request before it counts as hung and is replaced")
    add("--encoder", default=Config.encoder, help="libx264, or h264_v4l2m2m for the Raspberry Pi 4")
    add("--x264-preset", default=Config.x264_preset, help="libx264 preset (speed against size)")
    add("--x264-crf", default=Config.x264_crf, help="libx264 constant quality, 18 (best) to 30")
    add("--max-height", default=Config.max_height, help="highest transcoded resolution, e.g. 1080 or 720")
    add("--scan-on-start", default="true", help="index the library when the server starts")
    add("--auth", default="true",
        help="require signing in: true or false (false only on a trusted machine; see README)")
    add("--add-user", metavar="NAME", help="add an account (password from stdin, or asked for) and exit")
    add("--admin", action="store_true", help="with --add-user: the account manages users")
    add("--watch", default="true", help="watch the library folder and index changes as they happen")
    add("--jellyfin-web", metavar="DIR",
        help="a built jellyfin-web (the dist folder of its npm build) to serve at /web/, as Jellyfin does")
    return parser


def parse_config(argv=None, env=None):
    """Parse and check every option; raise ``ConfigError`` with one actionable line."""
    parser = build_parser()
    ns = parser.parse_args(argv, env_vars=os.environ if env is None else env)
    return _checked(ns)


def _number(name, text, kind, low, high):
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise ConfigError(f"--{name} {text!r} is not a number") from None
    if not low <= value <= high:
        raise ConfigError(f"--{name} {value} is out of range; use {low} to {high}")
    return value


def _checked(ns):
    if not ns.target_path and not ns.add_user:
        raise ConfigError("no library folder; pass -t /path/to/media or set target_path in the conf file")
    target = os.path.abspath(os.path.expanduser(ns.target_path or "."))
    if not os.path.isdir(target) and not ns.add_user:  # adding an account needs the database, not the library
        raise ConfigError(f"target path {ns.target_path!r} is not a folder; point -t at your media folder")
    level = str(ns.log_level).upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"--log-level {ns.log_level!r} is unknown; use DEBUG, INFO, WARNING or ERROR")
    encoder = str(ns.encoder)
    if encoder not in ("libx264", "h264_v4l2m2m"):
        raise ConfigError(f"--encoder {encoder!r} is unknown; use libx264 or h264_v4l2m2m")
    try:
        cache, scan = parse_bool(ns.cache), parse_bool(ns.scan_on_start)
        auth, watch = parse_bool(ns.auth), parse_bool(ns.watch)
    except ConfigError as error:
        raise ConfigError(f"--cache / --scan-on-start / --auth / --watch: {error}") from None
    segment = _number("segment-duration", ns.segment_duration, float, 1.0, 30.0)
    transcoded = _number("transcode-segment-duration", ns.transcode_segment_duration, float, 0.5, 30.0)
    jellyfin_web = os.path.abspath(os.path.expanduser(ns.jellyfin_web)) if ns.jellyfin_web else None
    if jellyfin_web and not os.path.isfile(os.path.join(jellyfin_web, "index.html")):
        raise ConfigError(f"--jellyfin-web {ns.jellyfin_web!r} has no index.html; "
                          "point it at the dist folder of a jellyfin-web build")
    return Config(
        target_path=target,
        host=ns.host,
        port=_number("port", ns.port, int, 1, 65535),
        db=database_url(ns.db),
        cache=cache,
        cache_path=os.path.abspath(os.path.expanduser(ns.cache_path)),
        cache_limit=parse_size(ns.cache_limit),
        log_level=level,
        workers=_number("workers", ns.workers, int, 1, 64),
        copy_workers=_number("copy-workers", ns.copy_workers, int, 0, 16),
        segment_duration=segment,
        transcode_segment_duration=min(transcoded, segment),  # never longer than a copied one
        prefetch=_number("prefetch", ns.prefetch, int, 0, 20),
        job_timeout=_number("job-timeout", ns.job_timeout, float, 1.0, 3600.0),
        encoder=encoder,
        x264_preset=str(ns.x264_preset),
        x264_crf=_number("x264-crf", ns.x264_crf, int, 0, 51),
        max_height=_number("max-height", ns.max_height, int, 144, 4320),
        scan_on_start=scan,
        auth=auth,
        add_user=ns.add_user,
        admin=bool(ns.admin),
        watch=watch,
        jellyfin_web=jellyfin_web,
    )


def check_writable(config):
    """Checks that need the file system, run once before serving. They leave nothing
    behind: a start that fails (here, or at a busy port) creates no file or folder.
    (A PostgreSQL database is checked when it is opened.)"""
    path = sqlite_path(database_url(config.db))
    existed = path is None or os.path.exists(path)
    try:
        if path is not None:
            with open(path, "ab"):  # an empty file is a valid new SQLite database
                pass
    except OSError as error:
        raise ConfigError(f"cannot write the database {path!r} ({error.strerror}); "
                          "choose a --db in a writable folder") from None
    if not existed:
        os.remove(path)
    created = _missing_folders(config.cache_path)
    try:
        os.makedirs(config.cache_path, exist_ok=True)
        writable = os.access(config.cache_path, os.W_OK)
    except OSError as error:
        raise ConfigError(f"cannot create --cache-path {config.cache_path!r}: {error.strerror}") from None
    finally:
        for folder in created:  # deepest first
            if os.path.isdir(folder):
                os.rmdir(folder)
    if not writable:
        raise ConfigError(f"cannot write --cache-path {config.cache_path!r}; choose a writable folder")


def is_loopback(host):
    """``127.0.0.1``, ``::1``, ``localhost``: only this machine can connect."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def _missing_folders(path):
    """The folders ``os.makedirs(path)`` would create, deepest first."""
    missing = []
    while path and not os.path.exists(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return missing


def bind_socket(config):
    """Bind before anything else starts, so a busy port is a clean config error."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError as error:
        sock.close()
        raise ConfigError(
            f"cannot listen on {config.host}:{config.port} ({error.strerror}); choose another --port"
        ) from None
    # Accepted connections inherit this: gevent writes a response's headers and body
    # separately, and Nagle's algorithm would hold the body for the client's delayed
    # ACK (about 40 ms on every keep-alive request).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.listen(128)
    return sock
