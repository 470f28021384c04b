"""Running work off the request path."""
import logging

import gevent

log = logging.getLogger(__name__)


def run_in_background(function, *args):
    """Run ``function`` in a native thread, so the gevent hub keeps serving requests.

    Under gevent's monkey-patching ``threading.Thread`` is a greenlet, which would stall
    every request while PyAV probes a file; the hub's thread pool is a real thread.
    """
    def guarded():
        try:
            function(*args)
        except Exception:
            log.exception("background job %s failed", getattr(function, "__name__", function))
    return gevent.get_hub().threadpool.spawn(guarded)
