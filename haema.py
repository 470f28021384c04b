#!/usr/bin/env python3
"""Start Haema: ``python haema.py -c conf/haema.conf`` or ``python haema.py -t /media -p 8080``.

This file only parses the config and serves. Everything happens inside ``main`` so that
encoder processes, which re-import this file, do not patch or serve anything.
"""
import logging
import sys


def main(argv=None):
    from gevent import monkey

    monkey.patch_all()

    from gevent.pywsgi import WSGIServer

    from haema import catalog
    from haema.config import ConfigError, bind_socket, check_writable, parse_config
    from haema.web import create_app

    try:
        config = parse_config(argv)
        check_writable(config)
        listener = bind_socket(config)
    except ConfigError as error:
        print(f"haema: error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app = create_app(config)
    except ConfigError as error:  # a database that cannot be reached
        print(f"haema: error: {error}", file=sys.stderr)
        return 2
    host, port = listener.getsockname()[:2]
    log = logging.getLogger("haema")
    log.info("serving %s on http://%s:%d/ (%s)", config.target_path, host, port, catalog.summary())
    server = WSGIServer(listener, app, log=None, error_log=log)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
