"""What the tests and the scripts share: media to play, Haema (and PostgreSQL and nginx) as
processes, a player's view over HTTP, a browser, and readings of processes from /proc.

It lives in scripts/ because a script run as ``python scripts/x.py`` has that folder first
on ``sys.path``, and pytest.ini puts the same folder on the tests' path (``pythonpath``):
both import it as ``harness``, one module under one name, and neither edits ``sys.path``
nor imports the other's files. Nothing in haema/ imports it; it is not installed.
"""
