"""Everything that turns a request into music: compose, render, master, encode, picture."""

__version__ = "0.1.0"
