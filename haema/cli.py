"""The ``haema`` command: ``haema -c conf/haema.conf`` or ``haema -t /media -p 8080``.

``haema -c conf/haema.conf --add-user NAME [--admin]`` adds an account instead.

Installed (``pip install .``) it is the ``haema`` console script; in a checkout
``python haema.py`` calls the same ``main``; frozen (scripts/build-binary.sh) it is the
binary's entry. This module only parses the config and serves. Everything happens inside
``main``, and nothing is imported at the top that gevent must patch first, so that
encoder processes, which import the package, do not patch or serve anything.
"""
import getpass
import logging
import signal
import sys

STOP_GRACE = 5  # seconds requests in flight get to finish after SIGTERM
# The frozen binary's stand-in for ``python -c "...background_job(...)"``: it has no
# interpreter to give ``-c`` to, so the watched folder's rescans (watch.watch_job) run
# the binary itself with this first argument.
RESCAN_ARG = "--haema-background-rescan"


def main(argv=None):
    if getattr(sys, "frozen", False):
        _frozen_child()
    from gevent import monkey

    monkey.patch_all()

    import gevent
    import gevent.pool
    from gevent.pywsgi import WSGIServer

    from haema.config import ConfigError, bind_socket, check_writable, is_loopback, parse_config
    from haema.streaming import SendfileHandler
    from haema.web import create_app, setup_token

    try:
        config = parse_config(argv)
        if config.add_user:
            return add_user(config)
        check_writable(config)
        listener = bind_socket(config)
    except ConfigError as error:
        print(f"haema: error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app = create_app(config, serving=True)
    except ConfigError as error:  # a database that cannot be reached
        print(f"haema: error: {error}", file=sys.stderr)
        return 2
    host, port = listener.getsockname()[:2]
    log = logging.getLogger("haema")
    log.info("serving %s on http://%s:%d/", config.target_path, host, port)
    if not config.auth and not is_loopback(host):
        log.warning("--auth false on %s: anyone who can reach this address can watch everything and change "
                    "the watch history; use it only on a network you trust", host)
    token = setup_token(app)
    if token:
        # printed, not logged: the link is a credential, and logs are kept and shipped
        shown = "localhost" if host in ("0.0.0.0", "::") else host
        print(f"\nNo user yet. Create the first admin at http://{shown}:{port}/#/setup/{token}\n"
              "(once; or stop Haema and run: haema -c conf/haema.conf --add-user NAME --admin)\n",
              flush=True)
    # Requests run in a pool (unbounded), so that stopping waits for those in flight: on
    # SIGTERM the server stops accepting, and serve_forever ends by stopping with
    # ``stop_timeout``, after which the encoders are closed.
    server = WSGIServer(listener, app, log=None, error_log=log, handler_class=SendfileHandler,
                        spawn=gevent.pool.Pool())
    server.stop_timeout = STOP_GRACE

    def stop(signum):
        log.info("%s: finishing requests in flight (at most %d s)", signal.Signals(signum).name, STOP_GRACE)
        server.close()

    # Ctrl-C (SIGINT, sent to every process of the terminal's group) stops as SIGTERM
    # does; the encoders, scanner and watcher ignore it and are stopped by us.
    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, stop, signum)
    try:
        server.serve_forever()
    finally:
        app.close()
    return 0


def _frozen_child():
    """In the single-file binary every process is the binary: an encoder or scan process
    started by multiprocessing (spawn) runs its job inside ``freeze_support`` and exits
    there, and a rescan runs here and exits, both before gevent patches anything."""
    import multiprocessing

    multiprocessing.freeze_support()
    if sys.argv[1:2] == [RESCAN_ARG]:
        from haema.library import background_job

        background_job(*sys.argv[2:])
        sys.exit(0)


def add_user(config):
    """``--add-user``: the password comes from stdin when it is not a terminal (scripts, tests), else it is asked for."""
    from haema import accounts, models, storage
    from haema.config import ConfigError
    from haema.errors import HaemaError

    if sys.stdin.isatty():
        password = getpass.getpass(f"Password for {config.add_user}: ")
        if getpass.getpass("Again: ") != password:
            print("haema: error: the two passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        storage.open_database(config.db)
        with models.database.connection_context():
            accounts.add_user(config.add_user, password, admin=config.admin)
    except (HaemaError, ConfigError) as error:
        print(f"haema: error: {getattr(error, 'message', error)}", file=sys.stderr)
        return 2
    print(f"added {'admin' if config.admin else 'user'} {config.add_user}")
    return 0

