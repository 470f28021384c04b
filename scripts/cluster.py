#!/usr/bin/env python3
"""Several Haema nodes on one machine, behind nginx, sharing one PostgreSQL: scale-out to try.

    python scripts/cluster.py -t /path/to/media [--nodes 2] [--port 8080] [--workers 1]

It starts PostgreSQL, N nodes and nginx with conf/nginx.conf (scripts/harness/cluster.py
says how), prints the address, and stops them all on Ctrl-C.
"""
import argparse
import os
import signal
import sys

from harness.cluster import cluster


def _interrupted(number, frame):
    raise KeyboardInterrupt


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-t", "--target-path", required=True, help="folder of films and shows to serve")
    parser.add_argument("--nodes", type=int, default=2, help="Haema nodes behind nginx")
    parser.add_argument("--workers", type=int, default=1, help="encoder processes per node")
    parser.add_argument("--port", type=int, default=8080, help="where nginx listens")
    args = parser.parse_args(argv)
    # SIGTERM (and SIGINT where a shell started us with it ignored) stop everything in order
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, _interrupted)
    with cluster(os.path.abspath(args.target_path), args.nodes, args.workers, args.port) as (postgres, nodes, proxy):
        print(f"PostgreSQL  {postgres.url('haema')}")
        for node in nodes:
            print(f"node        {node.url}  (log {node.log_path})")
        print(f"nginx       {proxy.url}/   <- open this; Ctrl-C stops everything")
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
