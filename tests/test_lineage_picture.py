"""The /lineage picture: a real PNG, generations top to bottom, the focus in amber, bounded size."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageChops, ImageFont

from bot.lineage_picture import (
    ACCENT,
    BACKGROUND,
    DEJAVU_SANS_BOLD,
    MAX_NODES,
    LineageNode,
    draw_lineage,
    layout,
)
from generators.pianoroll import fit_text

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REPO = Path(__file__).resolve().parents[1]


def open_png(data: bytes) -> Image.Image:
    assert data.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    image.load()
    return image


def accent_pixels(image: Image.Image) -> int:
    pixels = np.asarray(image.convert("RGB"))
    return int(np.all(pixels == np.array(ACCENT, dtype=np.uint8), axis=-1).sum())


def family() -> list[LineageNode]:
    """Three generations: an original with two remixes, one of them remixed again."""
    return [
        LineageNode("root0000", "Midnight lofi", "alice", ()),
        LineageNode("left0000", "Midnight lofi, faster", "bob", ("root0000",)),
        LineageNode("right000", "Midnight jazz", "carol", ("root0000",)),
        LineageNode("grand000", "Jazz at dawn", "dmitri", ("right000",)),
    ]


def with_focus(nodes: list[LineageNode], node_id: str) -> list[LineageNode]:
    return [
        LineageNode(n.id, n.title, n.owner, n.parents, n.deleted, focus=n.id == node_id)
        for n in nodes
    ]


def test_draws_a_png_of_the_asked_width_and_a_modest_height() -> None:
    image = open_png(draw_lineage(family()))
    assert image.width == 640
    assert 150 <= image.height <= 400  # three generations of one card row each

    narrower = open_png(draw_lineage(family(), max_width=480))
    assert narrower.width == 480


def test_children_are_drawn_below_their_parents() -> None:
    places = layout(family())
    assert places["root0000"] == (0, 0)
    assert {places["left0000"], places["right000"]} == {(1, 0), (1, 1)}
    assert places["grand000"] == (2, 0)


def test_generation_is_the_longest_path_from_an_original() -> None:
    nodes = [
        *family(),
        # Remixes both the original and its grandchild: it belongs below the grandchild.
        LineageNode("mash0000", "Mashup", "erin", ("root0000", "grand000")),
    ]
    places = layout(nodes)
    assert places["mash0000"][0] == 3
    for node in nodes:
        for parent in node.parents:
            assert places[parent][0] < places[node.id][0]


def test_crossings_are_avoided_where_the_order_allows() -> None:
    # Input order would cross the lines: b's child listed before a's.
    nodes = [
        LineageNode("aaaaaaaa", "A", "x", ()),
        LineageNode("bbbbbbbb", "B", "x", ()),
        LineageNode("bchild00", "B's remix", "x", ("bbbbbbbb",)),
        LineageNode("achild00", "A's remix", "x", ("aaaaaaaa",)),
    ]
    places = layout(nodes)
    left_root = min(("aaaaaaaa", "bbbbbbbb"), key=lambda i: places[i][1])
    left_child = min(("achild00", "bchild00"), key=lambda i: places[i][1])
    assert left_child[0] == left_root[0]


def test_parents_outside_the_picture_are_ignored() -> None:
    nodes = [LineageNode("k3j9x2ab", "Orphan remix", "alice", ("gone0000", "k3j9x2ab"))]
    assert layout(nodes) == {"k3j9x2ab": (0, 0)}
    open_png(draw_lineage(nodes))


def test_the_focus_piece_is_drawn_in_the_accent_colour() -> None:
    plain = open_png(draw_lineage(family()))
    focused = open_png(draw_lineage(with_focus(family(), "right000")))
    assert accent_pixels(plain) == 0
    assert accent_pixels(focused) > 200  # its border and its links, not a stray pixel


def test_sixty_pieces_draw_forty_with_a_bounded_height() -> None:
    nodes = [LineageNode("root0000", "The original", "alice", ())]
    for i in range(59):
        parent = nodes[(i * 7) % len(nodes)].id  # a bushy tree a few generations deep
        nodes.append(LineageNode(f"rmx{i:05d}", f"Remix {i}", f"user{i}", (parent,)))
    places = layout(nodes)
    assert len(places) == MAX_NODES
    # The first forty by generation: nothing left out is shallower than something drawn.
    depth: dict[str, int] = {}
    for node in nodes:  # every parent comes before its remixes here
        depth[node.id] = depth[node.parents[0]] + 1 if node.parents else 0
    deepest_drawn = max(depth[i] for i in places)
    assert all(depth[n.id] >= deepest_drawn for n in nodes if n.id not in places)

    image = open_png(draw_lineage(nodes))
    assert image.width == 640
    assert image.height <= 3000


def test_a_focus_piece_beyond_the_first_forty_is_still_drawn() -> None:
    nodes = [
        LineageNode(f"c{i:07d}", f"Link {i}", "zed", (f"c{i - 1:07d}",) if i else ())
        for i in range(60)
    ]
    nodes[55] = LineageNode("c0000055", "Link 55", "zed", ("c0000054",), focus=True)
    places = layout(nodes)
    assert "c0000055" in places
    assert places["c0000054"][0] < places["c0000055"][0] < places["c0000056"][0]
    assert accent_pixels(open_png(draw_lineage(nodes))) > 0


@pytest.mark.parametrize(
    "parents",
    [
        {"aaaaaaaa": ("cccccccc",), "bbbbbbbb": ("aaaaaaaa",), "cccccccc": ("bbbbbbbb",)},
        {"aaaaaaaa": ("bbbbbbbb",), "bbbbbbbb": ("aaaaaaaa",), "cccccccc": ("bbbbbbbb",)},
        {
            "aaaaaaaa": ("aaaaaaaa",),
            "bbbbbbbb": ("aaaaaaaa", "cccccccc"),
            "cccccccc": ("bbbbbbbb",),
        },
    ],
    ids=["three-cycle", "two-cycle-with-tail", "self-loop-and-cycle"],
)
def test_cycles_terminate_and_everything_is_still_drawn(
    parents: dict[str, tuple[str, ...]],
) -> None:
    nodes = [
        LineageNode(i, f"Piece {i[0]}", "x", ps, focus=i == "cccccccc") for i, ps in parents.items()
    ]
    places = layout(nodes)
    assert set(places) == set(parents)
    open_png(draw_lineage(nodes))


def test_a_long_title_is_cut_with_an_ellipsis_inside_its_card() -> None:
    def drawn_extent(title: str) -> tuple[int, int, int, int]:
        image = open_png(draw_lineage([LineageNode("k3j9x2ab", title, "alice", ())]))
        background = Image.new("RGB", image.size, BACKGROUND)
        box = ImageChops.difference(image.convert("RGB"), background).getbbox()
        assert box is not None
        return box

    short = drawn_extent("Lofi")
    # Uncut, this title would run past the card to the edge of the picture.
    long = drawn_extent("An extremely long title that goes on and on " * 10)
    assert long == short

    font = ImageFont.truetype(DEJAVU_SANS_BOLD, 30)
    fitted = fit_text(font, "Midnight lofi for rainy Tuesdays and sleepy cats", 300)
    assert fitted.endswith("…")
    assert font.getlength(fitted) <= 300


def test_titles_the_font_cannot_draw_and_deleted_pieces_still_draw() -> None:
    nodes = [
        LineageNode("root0000", "🎵 Rainy café ☕️", "Дмитрий", ()),
        LineageNode("cjk00000", "夜の歌", "hana", ("root0000",)),
        LineageNode("gone0000", "Old idea", "frank", ("root0000",), deleted=True),
        LineageNode("blank000", "   ", "", ("gone0000",)),
    ]
    image = open_png(draw_lineage(nodes))
    assert image.height > 150


def test_empty_input_and_bad_values_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one piece"):
        draw_lineage([])
    with pytest.raises(ValueError, match="at least one piece"):
        layout([])
    twice = [LineageNode("k3j9x2ab", "A", "x", ()), LineageNode("k3j9x2ab", "B", "y", ())]
    with pytest.raises(ValueError, match="'k3j9x2ab' appears twice"):
        draw_lineage(twice)
    with pytest.raises(ValueError, match="max_width must be at least"):
        draw_lineage(family(), max_width=100)


def test_the_same_family_gives_the_same_bytes_in_any_process() -> None:
    # String hashing differs per process; the picture must not depend on set or dict order.
    script = (
        "import sys, hashlib\n"
        "from bot.lineage_picture import LineageNode as N, draw_lineage\n"
        "nodes = [N('root0000', 'Root', 'a', ())]\n"
        "nodes += [N(f'r{i:07d}', f'Remix {i}', 'b', ('root0000',)) for i in range(9)]\n"
        "nodes += [N(f'm{i:07d}', f'Mash {i}', 'c', (f'r{i:07d}', f'r{(i + 3) % 9:07d}')) for i in range(9)]\n"
        "sys.stdout.write(hashlib.sha256(draw_lineage(nodes)).hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(digests) == 1
