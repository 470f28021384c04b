"""Haema: a self-hosted video server that packages any file as HLS on demand."""
