#!/usr/bin/env python3
"""Start Haema from a checkout: ``python haema.py -c conf/haema.conf -t /media``, the same
as the installed ``haema`` command (haema/cli.py, which patches with gevent first).

Only under ``__main__``: encoder processes re-import this file and must not serve.
"""
import sys

if __name__ == "__main__":
    from haema.cli import main

    sys.exit(main())
