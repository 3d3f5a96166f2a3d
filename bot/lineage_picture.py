"""The remix family tree picture for `/lineage`: originals at the top, remixes below, arrows down.

Drawn for a Discord embed on the dark theme at about 600 px wide: rounded cards with the title and
"by owner · id", one band per generation (longest path from an original). A generation too wide
for one row is stacked in columns under the parents. Connectors are orthogonal and never pass under
a card: each parent has its own lane and its own muted hue, so a remix with two parents reads as
two lines meeting at one arrow; the piece asked about and its own links are amber.

Pure Pillow, drawn at twice the size and reduced for smooth edges; no clock or randomness, so the
same family gives the same bytes.
"""

from __future__ import annotations

import io
import itertools
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from generators.pianoroll import DEJAVU_SANS, Font, fit_text, scalable_font, text_width

Colour = tuple[int, int, int]
Point = tuple[float, float]

MAX_NODES = 40  # beyond this the cards stop being legible at embed size
MAX_LAYERS = 10  # generations shown; keeps a long chain of remixes from becoming a ribbon
MIN_WIDTH = 240

BACKGROUND: Colour = (22, 23, 29)  # as the piano roll, so the two pictures sit together
BAND: Colour = (27, 28, 36)
CARD: Colour = (37, 39, 49)
CARD_BORDER: Colour = (66, 70, 88)
DELETED_CARD: Colour = (27, 28, 35)
DELETED_BORDER: Colour = (48, 50, 62)
TEXT: Colour = (240, 242, 247)
MUTED_TEXT: Colour = (150, 156, 172)
DELETED_TEXT: Colour = (98, 102, 118)
EDGE: Colour = (104, 110, 134)
# One muted hue per parent, so connectors that share a gap can still be told apart.
EDGE_HUES: tuple[Colour, ...] = (
    (110, 140, 210),
    (88, 176, 164),
    (182, 128, 204),
    (140, 152, 180),
    (206, 122, 128),
    (124, 176, 112),
)
ACCENT: Colour = (255, 184, 48)  # the piano roll's lead amber: the piece you asked about

DEJAVU_SANS_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

_SUPERSAMPLE = 2
_MARGIN = 18
_GAP_X = 24  # between cards in a row; connectors run down these gaps
_MIN_CARD_WIDTH = 168
_CARD_HEIGHT = 54
_CARD_RADIUS = 9
_CARD_PAD_X = 11
_TITLE_SIZE = 15
_META_SIZE = 12
_LANE_STEP = 6
_MAX_LANES = 6  # more parents than this in one gap share lanes rather than grow the picture
_CHANNEL_PAD_TOP = 11
_CHANNEL_PAD_BOTTOM = 15  # room for the arrowhead
_MIN_LAYER_GAP = 34
_MIN_WRAP_GAP = 24  # between the rows of one stacked generation
_CORRIDOR_PAD = 5
_TRUNK_STEP = 5
_ARROW_LENGTH = 7.0
_ARROW_HALF_WIDTH = 4.5
_FOOTER_HEIGHT = 30
_MAX_TITLE_CHARS = 200  # nobody reads further; keeps fitting cheap
# A private-use code point no font maps: it draws as the missing-glyph box.
_NOTDEF_PROBE = "\U0010fffd"


@dataclass(frozen=True, slots=True)
class LineageNode:
    """One piece in the family tree."""

    id: str  # piece id, 8 characters like "k3j9x2ab"
    title: str
    owner: str  # display name
    parents: tuple[str, ...]  # parent ids; those not among the nodes are ignored
    deleted: bool = False  # drawn faded and struck through, titled "deleted"
    focus: bool = False  # the piece the person asked about: highlighted


@dataclass(frozen=True, slots=True)
class _Family:
    """The nodes checked and made acyclic: every parent is present and earlier in depth."""

    nodes: dict[str, LineageNode]
    order: dict[str, int]  # input position, the tie-break everywhere
    parents: dict[str, tuple[str, ...]]
    depth: dict[str, int]


@dataclass(frozen=True, slots=True)
class _Plan:
    layers: tuple[tuple[str, ...], ...]  # drawn ids per generation, top first, left to right
    parents: dict[str, tuple[str, ...]]  # drawn parents of each drawn id
    hidden: int  # nodes left out of the picture


@dataclass(frozen=True, slots=True)
class _Card:
    left: float
    top: float
    right: float
    bottom: float


@dataclass(frozen=True, slots=True)
class _Route:
    parent: str
    child: str
    xs: tuple[float, ...]  # x of each vertical leg; the legs are joined along lanes


@dataclass(frozen=True, slots=True)
class _Edge:
    parent: str
    child: str
    points: tuple[Point, ...]


@dataclass(frozen=True, slots=True)
class _Geometry:
    width: int
    height: int
    cards: dict[str, _Card]
    edges: tuple[_Edge, ...]
    bands: tuple[tuple[float, float], ...]  # top and bottom of each generation's band
    footer_top: float


@dataclass(frozen=True, slots=True)
class _Fonts:
    title: Font
    meta: Font


def layout(nodes: Sequence[LineageNode]) -> dict[str, tuple[int, int]]:
    """(generation, position left to right) of each node that will be drawn; generation 0 at the top."""
    plan = _plan(_family(nodes))
    return {
        node_id: (layer, index)
        for layer, ids in enumerate(plan.layers)
        for index, node_id in enumerate(ids)
    }


def draw_lineage(nodes: Sequence[LineageNode], *, max_width: int = 640) -> bytes:
    """PNG bytes of the tree: roots at the top, remixes below, arrows parent -> child."""
    if max_width < MIN_WIDTH:
        raise ValueError(f"max_width must be at least {MIN_WIDTH} px, got {max_width}")
    family = _family(nodes)
    plan = _plan(family)
    geometry = _geometry(plan, max_width)
    fonts = _Fonts(
        title=_font(DEJAVU_SANS_BOLD, _TITLE_SIZE * _SUPERSAMPLE),
        meta=_font(DEJAVU_SANS, _META_SIZE * _SUPERSAMPLE),
    )

    s = _SUPERSAMPLE
    image = Image.new("RGB", (geometry.width * s, geometry.height * s), BACKGROUND)
    draw = ImageDraw.Draw(image)
    # Alternate generations get a faint band, so a wrapped generation still reads as one.
    for top, bottom in geometry.bands[1::2]:
        draw.rectangle((0, round(top * s), geometry.width * s, round(bottom * s) - 1), fill=BAND)
    focus_ids = {node_id for node_id, node in family.nodes.items() if node.focus}
    # Plain connectors first, the focus piece's own on top so its line is never broken.
    edges = sorted(geometry.edges, key=lambda e: e.parent in focus_ids or e.child in focus_ids)
    parents_in_order = list(dict.fromkeys(e.parent for e in geometry.edges))
    hue = {p: EDGE_HUES[n % len(EDGE_HUES)] for n, p in enumerate(parents_in_order)}
    for edge in edges:
        highlighted = edge.parent in focus_ids or edge.child in focus_ids
        _draw_edge(draw, edge, ACCENT if highlighted else hue[edge.parent])
    for node_id, card in geometry.cards.items():
        _draw_card(draw, family.nodes[node_id], card, fonts)
    if plan.hidden:
        note = f"+{plan.hidden} more not shown"
        centre = (geometry.width / 2 * s, (geometry.footer_top + _FOOTER_HEIGHT / 2) * s)
        draw.text(centre, note, font=fonts.meta, fill=MUTED_TEXT, anchor="mm")

    picture = image.reduce(s)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


# The family: validation, cycles, depth.


def _family(nodes: Sequence[LineageNode]) -> _Family:
    if not nodes:
        raise ValueError("a lineage picture needs at least one piece, got none")
    by_id: dict[str, LineageNode] = {}
    for node in nodes:
        if node.id in by_id:
            raise ValueError(f"each piece may appear once in a lineage, {node.id!r} appears twice")
        by_id[node.id] = node
    order = {node_id: index for index, node_id in enumerate(by_id)}
    # Parents outside the picture, repeats and a piece naming itself are dropped here.
    known = {
        node_id: tuple(dict.fromkeys(p for p in node.parents if p in by_id and p != node_id))
        for node_id, node in by_id.items()
    }
    parents, depth = _break_cycles(known, order)
    return _Family(nodes=by_id, order=order, parents=parents, depth=depth)


def _break_cycles(
    parents: dict[str, tuple[str, ...]], order: dict[str, int]
) -> tuple[dict[str, tuple[str, ...]], dict[str, int]]:
    """Parents without the links that close a cycle, and each piece's longest path from an original.

    A cycle is bad data, not a family; dropping the link that closes it (depth first, in input
    order, without recursion) keeps the rest of the tree drawable and the walk finite.
    """
    depth: dict[str, int] = {}
    dropped: set[tuple[str, str]] = set()
    for start in order:
        if start in depth:
            continue
        stack = [(start, iter(parents[start]))]
        walking = {start}
        while stack:
            node_id, pending = stack[-1]
            for parent in pending:
                if parent in depth:
                    continue
                if parent in walking:
                    dropped.add((parent, node_id))
                    continue
                stack.append((parent, iter(parents[parent])))
                walking.add(parent)
                break
            else:
                stack.pop()
                walking.discard(node_id)
                kept = [p for p in parents[node_id] if (p, node_id) not in dropped]
                depth[node_id] = 1 + max((depth[p] for p in kept), default=-1)
    acyclic = {
        node_id: tuple(p for p in ps if (p, node_id) not in dropped)
        for node_id, ps in parents.items()
    }
    return acyclic, depth


# The plan: which pieces are drawn, and in what order within a generation.


def _plan(family: _Family) -> _Plan:
    depth = family.depth
    focus_depths = [depth[i] for i, node in family.nodes.items() if node.focus]
    # A focus piece deep in a long chain moves the window down, keeping two generations below it.
    top = max(0, min(focus_depths) - (MAX_LAYERS - 3)) if focus_depths else 0
    window = [i for i in family.order if top <= depth[i] < top + MAX_LAYERS]
    ranked = sorted(window, key=lambda i: (not family.nodes[i].focus, depth[i], family.order[i]))
    shown = set(ranked[:MAX_NODES])

    layer_count = 1 + max(depth[i] - top for i in shown)
    layers: list[list[str]] = [[] for _ in range(layer_count)]
    for node_id in family.order:
        if node_id in shown:
            layers[depth[node_id] - top].append(node_id)
    # Empty generations (a focus piece whose ancestors were cut) would leave a blank band.
    layers = [layer for layer in layers if layer]
    drawn_parents = {
        i: tuple(p for p in family.parents[i] if p in shown) for i in family.order if i in shown
    }
    ordered = _reduce_crossings(layers, drawn_parents)
    return _Plan(
        layers=tuple(tuple(layer) for layer in ordered),
        parents=drawn_parents,
        hidden=len(family.nodes) - len(shown),
    )


def _reduce_crossings(
    layers: list[list[str]], parents: dict[str, tuple[str, ...]]
) -> list[list[str]]:
    """Barycentre sweeps down and up; keeps the ordering with the fewest crossings seen."""
    children: dict[str, list[str]] = {i: [] for i in parents}
    for child, ps in parents.items():
        for parent in ps:
            children[parent].append(child)
    current = [list(layer) for layer in layers]
    best = [list(layer) for layer in current]
    best_crossings = _crossings(best, parents)
    for _ in range(4):
        for index in range(1, len(current)):
            current[index] = _sort_by_barycentre(current[index], parents, current)
        for index in range(len(current) - 2, -1, -1):
            current[index] = _sort_by_barycentre(current[index], children, current)
        crossings = _crossings(current, parents)
        if crossings < best_crossings:
            best = [list(layer) for layer in current]
            best_crossings = crossings
        if best_crossings == 0:
            break
    return best


def _relative_positions(layers: list[list[str]]) -> dict[str, float]:
    # Position as a fraction of the row so generations of different widths compare.
    return {
        node_id: (index + 0.5) / len(layer)
        for layer in layers
        for index, node_id in enumerate(layer)
    }


def _sort_by_barycentre(
    layer: list[str],
    neighbours: dict[str, tuple[str, ...]] | dict[str, list[str]],
    layers: list[list[str]],
) -> list[str]:
    position = _relative_positions(layers)

    def key(node_id: str) -> tuple[float, float]:
        linked = [position[n] for n in neighbours[node_id]]
        centre = sum(linked) / len(linked) if linked else position[node_id]
        return centre, position[node_id]

    return sorted(layer, key=key)


def _crossings(layers: list[list[str]], parents: dict[str, tuple[str, ...]]) -> int:
    position = _relative_positions(layers)
    layer_of = {node_id: index for index, layer in enumerate(layers) for node_id in layer}
    edges = [(p, c) for c, ps in parents.items() for p in ps]
    count = 0
    for a, (p1, c1) in enumerate(edges):
        for p2, c2 in edges[a + 1 :]:
            if p1 == p2 or c1 == c2:
                continue
            low = max(layer_of[p1], layer_of[p2])
            high = min(layer_of[c1], layer_of[c2])
            if low >= high:
                continue
            # Edges as straight segments in (position, generation): compare where both exist.
            before = _x_at(position, layer_of, p1, c1, low) - _x_at(position, layer_of, p2, c2, low)
            after = _x_at(position, layer_of, p1, c1, high) - _x_at(
                position, layer_of, p2, c2, high
            )
            if before * after < 0:
                count += 1
    return count


def _x_at(
    position: dict[str, float], layer_of: dict[str, int], parent: str, child: str, layer: int
) -> float:
    start, end = layer_of[parent], layer_of[child]
    t = (layer - start) / (end - start)
    return position[parent] + (position[child] - position[parent]) * t


# Geometry: cards on a half-card grid, connectors routed between them.


def _geometry(plan: _Plan, width: int) -> _Geometry:
    usable = width - 2 * _MARGIN
    columns = max(1, (usable + _GAP_X) // (_MIN_CARD_WIDTH + _GAP_X))
    card_width = (usable - (columns - 1) * _GAP_X) / columns

    rows, row_layer, slot = _grid(plan.layers, plan.parents, columns)
    # Half-slot grid: a row of two cards sits centred under a row of three.
    pitch = (card_width + _GAP_X) / 2
    centre_x = {node_id: _MARGIN + card_width / 2 + s * pitch for node_id, s in slot.items()}
    row_of = {node_id: index for index, row in enumerate(rows) for node_id in row}

    # Routes in x first: how many parents share each gap decides how tall that gap is.
    corridors = [_corridors(row, centre_x, card_width, width) for row in rows]
    routes = _routes(rows, row_of, plan.parents, centre_x, corridors)
    lanes = [_lanes(routes, row_of, row_index) for row_index in range(len(rows))]

    row_top: list[float] = []
    y = float(_MARGIN)
    for row_index in range(len(rows)):
        row_top.append(y)
        if row_index + 1 < len(rows):
            lane_count = min(_MAX_LANES, len(lanes[row_index]))
            needed = _CHANNEL_PAD_TOP + (lane_count - 1) * _LANE_STEP + _CHANNEL_PAD_BOTTOM
            needed = needed if lane_count else 0
            same_layer = row_layer[row_index] == row_layer[row_index + 1]
            y += _CARD_HEIGHT + max(needed, _MIN_WRAP_GAP if same_layer else _MIN_LAYER_GAP)
    bottom = row_top[-1] + _CARD_HEIGHT
    height = math.ceil(bottom + (_FOOTER_HEIGHT if plan.hidden else _MARGIN))

    cards = {
        node_id: _Card(
            left=centre_x[node_id] - card_width / 2,
            top=row_top[row_of[node_id]],
            right=centre_x[node_id] + card_width / 2,
            bottom=row_top[row_of[node_id]] + _CARD_HEIGHT,
        )
        for node_id in row_of
    }
    edges: list[_Edge] = []
    for route in routes:
        first_row = row_of[route.parent]
        points: list[Point] = [(route.xs[0], cards[route.parent].bottom)]
        for step in range(len(route.xs) - 1):
            lane = lanes[first_row + step].get(route.parent, 0)
            lane_y = row_top[first_row + step] + _CARD_HEIGHT + _CHANNEL_PAD_TOP + lane * _LANE_STEP
            points += [(route.xs[step], lane_y), (route.xs[step + 1], lane_y)]
        points.append((route.xs[-1], cards[route.child].top))
        edges.append(_Edge(parent=route.parent, child=route.child, points=_simplify(points)))

    return _Geometry(
        width=width,
        height=height,
        cards=cards,
        edges=tuple(edges),
        bands=tuple(_bands(row_top, row_layer, height)),
        footer_top=bottom,
    )


def _grid(
    layers: tuple[tuple[str, ...], ...], parents: dict[str, tuple[str, ...]], columns: int
) -> tuple[list[tuple[str, ...]], list[int], dict[str, int]]:
    """Rows of cards, the generation of each row, and each card's half-slot (two per card width).

    A generation that fits in one row is placed card by card under its parents, on half slots so
    two cards sit centred under three. A wider one is stacked in columns, each column as near its
    parents as it can be: siblings then sit one above the other, reached by one trunk down the gap
    beside them, rather than scattered across rows.
    """
    rows: list[tuple[str, ...]] = []
    row_layer: list[int] = []
    slot: dict[str, int] = {}
    for layer_index, layer in enumerate(layers):
        wanted = [_wanted_slot(node_id, parents, slot) for node_id in layer]
        if len(layer) <= columns:
            slot.update(zip(layer, _place(wanted, columns), strict=True))
            rows.append(layer)
            row_layer.append(layer_index)
            continue
        stacks = _stack(wanted, columns)
        for depth in range(max(len(stack) for stack in stacks)):
            row = tuple(layer[stack[depth]] for stack in stacks if depth < len(stack))
            rows.append(row)
            row_layer.append(layer_index)
        for column, stack in enumerate(stacks):
            slot.update((layer[index], 2 * column) for index in stack)
    return rows, row_layer, slot


def _stack(wanted: list[float | None], columns: int) -> list[list[int]]:
    """Split a wide generation, in order, into `columns` stacks no taller than they must be.

    Dynamic programme over (cards placed, columns used); each card pays its distance from its
    parents' column, so siblings gather under their parent.
    """
    count = len(wanted)
    height = math.ceil(count / columns)
    default = [min(columns - 1, i // height) for i in range(count)]

    def cost(i: int, column: int) -> float:
        goal = wanted[i]
        near = 0.0 if goal is None else abs(column - goal / 2)
        return near + 0.01 * abs(column - default[i])

    inf = math.inf
    # best[c][i]: the first i cards in columns 0..c-1; take[c][i]: how many of them in column c-1.
    best = [[inf] * (count + 1) for _ in range(columns + 1)]
    take = [[0] * (count + 1) for _ in range(columns + 1)]
    best[0][0] = 0.0
    for column in range(1, columns + 1):
        for placed in range(count + 1):
            for size in range(min(height, placed) + 1):
                before = best[column - 1][placed - size]
                if before == inf:
                    continue
                total = before + sum(cost(i, column - 1) for i in range(placed - size, placed))
                if total < best[column][placed]:
                    best[column][placed], take[column][placed] = total, size
    stacks: list[list[int]] = []
    placed = count
    for column in range(columns, 0, -1):
        size = take[column][placed]
        stacks.append(list(range(placed - size, placed)))
        placed -= size
    return stacks[::-1]


def _routes(
    rows: list[tuple[str, ...]],
    row_of: dict[str, int],
    parents: dict[str, tuple[str, ...]],
    centre_x: dict[str, float],
    corridors: list[list[tuple[float, float]]],
) -> list[_Route]:
    """Each connector's vertical legs: down from the parent, down gaps between cards, into the child.

    One parent's connectors share a trunk in a gap; different parents' trunks sit side by side.
    """
    pairs = [(parent, child) for row in rows for child in row for parent in parents[child]]
    legs: list[list[float]] = [[centre_x[parent]] for parent, _ in pairs]
    for row_index, gaps in enumerate(corridors):
        crossing = [k for k, (p, c) in enumerate(pairs) if row_of[p] < row_index < row_of[c]]
        chosen = {k: _nearest_gap(gaps, centre_x[pairs[k][1]], legs[k][-1]) for k in crossing}
        for gap_index, (low, high) in enumerate(gaps):
            passing = [k for k in crossing if chosen[k] == gap_index]
            if not passing:
                continue
            trunks = sorted({pairs[k][0] for k in passing}, key=lambda p: (centre_x[p], row_of[p]))
            spread = min(_TRUNK_STEP, (high - low) / max(1, len(trunks) - 1))
            half = spread * (len(trunks) - 1) / 2
            # In an empty slot the connectors can go straight at their cards, not hug its middle.
            aim = sum(centre_x[pairs[k][1]] for k in passing) / len(passing)
            middle = min(max(aim, low + half), high - half)
            for k in passing:
                legs[k].append(middle + trunks.index(pairs[k][0]) * spread - half)
    return [
        _Route(parent=parent, child=child, xs=(*legs[k], centre_x[child]))
        for k, (parent, child) in enumerate(pairs)
    ]


def _lanes(routes: list[_Route], row_of: dict[str, int], row_index: int) -> dict[str, int]:
    """The lane of each parent running sideways in the gap below a row, left to right."""
    start_x: dict[str, float] = {}
    for route in routes:
        step = row_index - row_of[route.parent]
        if 0 <= step < len(route.xs) - 1 and abs(route.xs[step] - route.xs[step + 1]) > 0.5:
            start_x.setdefault(route.parent, route.xs[step])
    ordered = sorted(start_x, key=lambda p: (start_x[p], row_of[p]))
    return {parent: n % _MAX_LANES for n, parent in enumerate(ordered)}


def _bands(row_top: list[float], row_layer: list[int], height: int) -> list[tuple[float, float]]:
    """Each generation's y range, split halfway across the gap between generations."""
    edges = [0.0]
    for index in range(1, len(row_top)):
        if row_layer[index] != row_layer[index - 1]:
            edges.append((row_top[index - 1] + _CARD_HEIGHT + row_top[index]) / 2)
    edges.append(float(height))
    return list(itertools.pairwise(edges))


def _wanted_slot(
    node_id: str, parents: dict[str, tuple[str, ...]], slot: dict[str, int]
) -> float | None:
    placed = [slot[p] for p in parents[node_id] if p in slot]
    return sum(placed) / len(placed) if placed else None


def _place(wanted: list[float | None], columns: int) -> list[int]:
    """Half-slots (two per card) for a row, in order, each as near its parents as room allows.

    Pieces without a parent above ask for the centre. Small dynamic programme: a row holds at most
    `columns` cards.
    """
    count = len(wanted)
    last = 2 * columns - 2
    centred = [columns - count + 2 * i for i in range(count)]
    goals = [centred[i] if w is None else w for i, w in enumerate(wanted)]

    def cost(i: int, s: int) -> float:
        # The small centring pull settles ties the same way every time and keeps rows balanced.
        return abs(s - goals[i]) + 0.01 * abs(s - centred[i])

    inf = math.inf
    table = [[inf] * (last + 1) for _ in range(count)]
    back = [[-1] * (last + 1) for _ in range(count)]
    for s in range(last + 1):
        table[0][s] = cost(0, s)
    for i in range(1, count):
        for s in range(2 * i, last + 1):
            best, best_prev = inf, -1
            for prev in range(s - 1):
                if table[i - 1][prev] < best:
                    best, best_prev = table[i - 1][prev], prev
            table[i][s] = best + cost(i, s)
            back[i][s] = best_prev
    end = min(range(last + 1), key=lambda s: table[count - 1][s])
    slots = [end]
    for i in range(count - 1, 0, -1):
        slots.append(back[i][slots[-1]])
    return slots[::-1]


def _corridors(
    row: tuple[str, ...], centre_x: dict[str, float], card_width: float, width: int
) -> list[tuple[float, float]]:
    """The free x ranges of a row a connector may run down, margins included."""
    edges = sorted(centre_x[node_id] for node_id in row)
    free: list[tuple[float, float]] = []
    left = 0.0
    for x in edges:
        free.append((left + _CORRIDOR_PAD, x - card_width / 2 - _CORRIDOR_PAD))
        left = x + card_width / 2
    free.append((left + _CORRIDOR_PAD, width - _CORRIDOR_PAD))
    return [(lo, hi) for lo, hi in free if hi >= lo]


def _nearest_gap(gaps: list[tuple[float, float]], target: float, current: float) -> int:
    """The gap a connector runs down on its way to `target`: nearest to it, then to where it is."""

    def distance(index: int) -> tuple[float, float]:
        middle = (gaps[index][0] + gaps[index][1]) / 2
        return abs(middle - target), abs(middle - current)

    return min(range(len(gaps)), key=distance)


def _simplify(points: list[Point]) -> tuple[Point, ...]:
    # Zero-length legs would draw as stray dots at line joins.
    kept: list[Point] = []
    for point in points:
        if kept and abs(kept[-1][0] - point[0]) < 0.5 and abs(kept[-1][1] - point[1]) < 0.5:
            continue
        kept.append(point)
    return tuple(kept)


# Drawing.


def _draw_edge(draw: ImageDraw.ImageDraw, edge: _Edge, colour: Colour) -> None:
    s = _SUPERSAMPLE
    (from_x, from_y), (tip_x, tip_y) = edge.points[-2], edge.points[-1]
    length = math.hypot(tip_x - from_x, tip_y - from_y) or 1.0
    dx, dy = (tip_x - from_x) / length, (tip_y - from_y) / length
    base_x, base_y = tip_x - dx * _ARROW_LENGTH, tip_y - dy * _ARROW_LENGTH
    # The line stops inside the arrowhead so it does not poke through the tip.
    points = [*edge.points[:-1], (base_x + dx, base_y + dy)]
    draw.line([(x * s, y * s) for x, y in points], fill=colour, width=3, joint="curve")
    draw.polygon(
        [
            (tip_x * s, tip_y * s),
            ((base_x - dy * _ARROW_HALF_WIDTH) * s, (base_y + dx * _ARROW_HALF_WIDTH) * s),
            ((base_x + dy * _ARROW_HALF_WIDTH) * s, (base_y - dx * _ARROW_HALF_WIDTH) * s),
        ],
        fill=colour,
    )


def _draw_card(draw: ImageDraw.ImageDraw, node: LineageNode, card: _Card, fonts: _Fonts) -> None:
    s = _SUPERSAMPLE
    box = (card.left * s, card.top * s, card.right * s - 1, card.bottom * s - 1)
    if node.focus:
        fill, border, border_width = _mix(CARD, ACCENT, 0.16), ACCENT, 5
    elif node.deleted:
        fill, border, border_width = DELETED_CARD, DELETED_BORDER, 2
    else:
        fill, border, border_width = CARD, CARD_BORDER, 2
    draw.rounded_rectangle(
        box, radius=_CARD_RADIUS * s, fill=fill, outline=border, width=border_width
    )

    text_left = (card.left + _CARD_PAD_X) * s
    room = round((card.right - card.left - 2 * _CARD_PAD_X) * s)
    title_y = (card.top + 23) * s
    meta_y = (card.top + 42) * s
    title, title_colour, meta_colour = "deleted", DELETED_TEXT, DELETED_TEXT
    if not node.deleted:
        drawable = _title_text(node.title)
        title_colour, meta_colour = (TEXT, MUTED_TEXT) if drawable else (MUTED_TEXT, MUTED_TEXT)
        title = drawable or "(title not shown)"
    title = fit_text(fonts.title, title, room)
    draw.text((text_left, title_y), title, font=fonts.title, fill=title_colour, anchor="ls")
    if node.deleted:
        strike_y = title_y - 5 * s
        strike_end = text_left + text_width(fonts.title, title)
        draw.line([(text_left, strike_y), (strike_end, strike_y)], fill=title_colour, width=s)

    meta = _meta_text(fonts.meta, node, room)
    draw.text((text_left, meta_y), meta, font=fonts.meta, fill=meta_colour, anchor="ls")


def _title_text(title: str) -> str | None:
    """The title as DejaVu can draw it; None when nothing drawable is left (emoji only, CJK)."""
    if not title.strip():
        return "untitled"
    drawable = _drawable(DEJAVU_SANS_BOLD, title[:_MAX_TITLE_CHARS])
    # Letters, digits or symbols (♪) make a title; a lone "!" left from "🎵!" does not.
    return drawable if any(unicodedata.category(ch)[0] in "LNS" for ch in drawable) else None


def _meta_text(font: Font, node: LineageNode, max_width: int) -> str:
    # The id is how people find a piece again, so the owner's name gives way first.
    suffix = f" · {node.id}"
    owner = _drawable(DEJAVU_SANS, node.owner[:_MAX_TITLE_CHARS]) or "unknown"
    room = max_width - text_width(font, "by " + suffix)
    if room < text_width(font, "…"):
        return fit_text(font, f"by {owner}{suffix}", max_width)
    return f"by {fit_text(font, owner, room)}{suffix}"


def _drawable(font_path: str, text: str) -> str:
    """Text with what the font cannot draw removed, instead of rows of missing-glyph boxes."""
    kept: list[str] = []
    for ch in text:
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp"):
            kept.append(" ")
        elif category == "Cf" or 0xFE00 <= ord(ch) <= 0xFE0F or 0xE0100 <= ord(ch) <= 0xE01EF:
            # Joiners and variation selectors only shape emoji, which are gone anyway.
            continue
        elif category.startswith("M"):
            if kept and kept[-1] != " " and _covers(font_path, ch, mark=True):
                kept.append(ch)
        elif _covers(font_path, ch, mark=False):
            kept.append(ch)
    return " ".join("".join(kept).split())


@lru_cache(maxsize=4096)
def _covers(font_path: str, ch: str, *, mark: bool) -> bool:
    font = _font(font_path, 24)
    if not isinstance(font, ImageFont.FreeTypeFont):
        return ord(ch) < 256  # the bitmap fallback is Latin-1
    # A combining mark alone is drawn on a dotted circle; it has to be tried on a letter.
    base = "o" if mark else ""
    missing = font.getmask(base + _NOTDEF_PROBE)
    drawn = font.getmask(base + ch)
    return drawn.size != missing.size or bytes(drawn) != bytes(missing)


def _font(path: str, size: int) -> Font:
    return scalable_font(size, path)


def _mix(a: Colour, b: Colour, t: float) -> Colour:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )
