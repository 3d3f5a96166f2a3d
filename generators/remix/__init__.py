"""Remixing: operations on a stored Score, and reading uploaded MIDI into one.

changes = RemixChanges(genre="jazz", tempo_factor=FASTER)
new = remix(stored_score, changes, seed)          # pure, like compose()
"""

from generators.remix.changes import FASTER, SLOWER, RemixChanges
from generators.remix.remix import remix, remix_title

__all__ = ["FASTER", "SLOWER", "RemixChanges", "remix", "remix_title"]
