#!/usr/bin/env python3
"""Start Haema: ``python haema.py -c conf/haema.conf`` or ``python haema.py -t /media -p 8080``.

This file only parses the config and serves. Everything happens inside ``main`` so that
encoder processes, which re-import this file, do not patch or serve anything.
"""
import logging
import signal
import sys

STOP_GRACE = 5  # seconds requests in flight get to finish after SIGTERM


def main(argv=None):
    from gevent import monkey

    monkey.patch_all()

    import gevent
    import gevent.pool
    from gevent.pywsgi import WSGIServer

    from haema.config import ConfigError, bind_socket, check_writable, parse_config
    from haema.streaming import SendfileHandler
    from haema.web import create_app

    try:
        config = parse_config(argv)
        check_writable(config)
        listener = bind_socket(config)
    except ConfigError as error:
        print(f"haema: error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(config)
    app.config["haema.playback"].pool.start()  # the first segment must not wait for a process to start
    host, port = listener.getsockname()[:2]
    log = logging.getLogger("haema")
    log.info("serving %s on http://%s:%d/", config.target_path, host, port)
    # Requests run in a pool (unbounded), so that stopping waits for those in flight: on
    # SIGTERM the server stops accepting, and serve_forever ends by stopping with
    # ``stop_timeout``, after which the encoders are closed.
    server = WSGIServer(listener, app, log=None, error_log=log, handler_class=SendfileHandler,
                        spawn=gevent.pool.Pool())
    server.stop_timeout = STOP_GRACE

    def stop():
        log.info("SIGTERM: finishing requests in flight (at most %d s)", STOP_GRACE)
        server.close()

    gevent.signal_handler(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
