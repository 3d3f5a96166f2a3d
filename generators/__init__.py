"""Everything that turns a request into music: compose, render, master, encode, picture."""

import contextlib
import io

__version__ = "0.1.0"

# pyfluidsynth prints where it found libfluidsynth when CI is set in the environment, on stdout,
# which would corrupt `tunesmith compose --json`. Import it once here, quietly; a missing library
# still raises its ImportError where it is used.
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(ImportError):
    import fluidsynth  # noqa: F401
