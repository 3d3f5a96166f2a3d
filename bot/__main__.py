"""`python -m bot`: the Discord bot, the same as `tunesmith bot` (the container's entry point)."""

from __future__ import annotations

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main(["bot", *sys.argv[1:]]))
