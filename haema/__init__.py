"""Haema: a self-hosted video server that packages any file as HLS on demand."""

__version__ = "0.1.0"
