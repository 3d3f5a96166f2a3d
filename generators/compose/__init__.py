"""The composition engine: pure and deterministic for a seed.

`compose(request, seed) -> Score`. One module per musical concept (theory, harmony, melody, rhythm,
form, arrangement) and one per genre style under `styles/`.
"""

from generators.compose.composer import compose

__all__ = ["compose"]
