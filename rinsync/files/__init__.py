"""Safe file handling: atomic replacement and the sync lock."""
