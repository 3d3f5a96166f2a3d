"""The remix grammar, family trees, credit chains and originality within a family."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mutagen.id3 import ID3

from bot.grammar import GrammarError, parse_changes
from bot.ledger import Ledger, Owner
from bot.lineage import credit_chain, lineage_tree, tree_lines
from bot.provenance.credits import Credit, ParentCredit, read_credit_tags, tagged_mp3
from bot.publishing import family_of
from generators.catalog import Catalog
from generators.remix import FASTER, SLOWER
from tests.test_ledger import record

CATALOG = Catalog.default()
ALICE = Owner("cli", "alice", "Alice")
BOB = Owner("discord", "1001", "Bob")
CAROL = Owner("discord", "1002", "Carol")


# --- the remix grammar ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("as jazz", {"genre": "jazz"}),
        ("make it a trap beat", {"genre": "hiphop", "variant": "trap"}),
        ("faster", {"tempo_factor": FASTER}),
        ("slow down", {"tempo_factor": SLOWER}),
        ("double time", {"tempo_factor": 2.0}),
        ("at 120 bpm", {"tempo_bpm": 120.0}),
        ("in E minor", {"tonic": 4, "mode": "minor"}),
        ("in F#", {"tonic": 6}),
        ("sadder", {"mood": "sad"}),
        ("with strings and flute", {"instruments": ("strings", "flute")}),
        ("without drums", {"without": ("drums",)}),
        ("new melody", {"new_melody": True}),
        ("reharmonize", {"new_harmony": True}),
        ("to 2m", {"duration_s": 120.0}),
        ("extend", {"duration_s": 60.0}),
        (
            "as jazz, faster, in E minor, with strings, to 2m",
            {
                "genre": "jazz",
                "tempo_factor": FASTER,
                "tonic": 4,
                "mode": "minor",
                "instruments": ("strings",),
                "duration_s": 120.0,
            },
        ),
    ],
)
def test_remix_words_become_changes(words: str, expected: dict[str, object]) -> None:
    changes = parse_changes(words, CATALOG, current_duration_s=30)
    for name, value in expected.items():
        assert getattr(changes, name) == value, name
    assert changes.text == words
    untouched = {"genre", "tempo_factor", "tempo_bpm", "tonic", "mode", "mood", "duration_s"}
    for name in untouched - set(expected) - {"variant"}:
        assert getattr(changes, name) is None, name


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ("", "Say what to change"),
        ("please", "Say what to change"),
        ("as jazz wobbly", 'I didn\'t understand "wobbly"'),
        ("as jaz", 'did you mean "jazz"'),
        ("faster at 120 bpm", "not both"),
        ("new melody new chords", "not both"),
        ("extend", "Extend to how long"),
        ("as jazz as rock", "rock"),
    ],
)
def test_remix_words_that_cannot_work_say_why(words: str, message: str) -> None:
    with pytest.raises(GrammarError, match=message.replace("(", r"\(")):
        parse_changes(words, CATALOG)


@given(st.text(max_size=80))
def test_any_words_give_changes_or_a_grammar_error(words: str) -> None:
    try:
        changes = parse_changes(words, CATALOG, current_duration_s=20)
    except GrammarError as error:
        assert str(error)
    else:
        assert not changes.empty


# --- family trees ---------------------------------------------------------------------------------


@pytest.fixture
def family(tmp_path: Path) -> Iterator[tuple[Ledger, dict[str, str]]]:
    """A (Alice) ← B (Bob) ← C (Carol); A ← D (Carol); and an unrelated E."""
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        a = record(ledger, ALICE, "a")
        b = record(ledger, BOB, "b", parents=[a.id], title="Piece a (jazz remix)")
        c = record(ledger, CAROL, "c", parents=[b.id], title="Piece a (E minor remix)")
        d = record(ledger, CAROL, "d", parents=[a.id], title="Piece a (rock remix)")
        e = record(ledger, BOB, "e")
        yield ledger, {"a": a.id, "b": b.id, "c": c.id, "d": d.id, "e": e.id}


def test_a_family_is_every_relative_of_the_same_original(
    family: tuple[Ledger, dict[str, str]],
) -> None:
    ledger, ids = family
    everyone = {ids[k] for k in "abcd"}
    for member in "abcd":
        assert family_of(ledger, [ids[member]]) == everyone
    assert family_of(ledger, [ids["e"]]) == {ids["e"]}


def test_the_tree_in_words_and_the_credit_chain(family: tuple[Ledger, dict[str, str]]) -> None:
    ledger, ids = family
    tree = lineage_tree(ledger, ids["c"])
    lines = tree_lines(tree, lambda owner: owner.display_name)
    assert lines[0] == f"“Piece a” by Alice ({ids['a']})"
    assert lines[1] == f"├─ “Piece a (jazz remix)” by Bob ({ids['b']})"
    assert lines[2] == f"│  └─ “Piece a (E minor remix)” by Carol ({ids['c']})  ◀ this one"
    assert lines[3] == f"└─ “Piece a (rock remix)” by Carol ({ids['d']})"
    assert tree.root_of(ids["c"]).id == ids["a"] and tree.root_of(ids["a"]).id == ids["a"]
    assert credit_chain(tree, ids["c"], lambda o: o.display_name) == [
        "remix of “Piece a (jazz remix)” by Bob",
        "remix of “Piece a” by Alice",
    ]
    # The picture's cards name what each remix did.
    titles = {node.id: node.title for node in tree.nodes(str)}
    assert titles[ids["a"]] == "Piece a" and titles[ids["c"]] == "E minor remix"
    assert [n.focus for n in tree.nodes(str)].count(True) == 1


def test_a_deleted_relative_stays_in_the_tree_as_deleted(
    family: tuple[Ledger, dict[str, str]],
) -> None:
    ledger, ids = family
    ledger.delete(ids["b"], BOB)
    lines = tree_lines(lineage_tree(ledger, ids["c"]), str)
    assert f"├─ deleted piece by Bob ({ids['b']})" in lines


# --- credit tags ----------------------------------------------------------------------------------


def test_credit_tags_carry_the_whole_chain(tmp_path: Path) -> None:
    credit = Credit(
        creator="Carol",
        owner_platform="discord",
        owner_id="1002",
        year=2026,
        licence="CC-BY-4.0",
        licence_url="https://creativecommons.org/licenses/by/4.0/",
        piece_id="cccccccc",
        title="Piece a (E minor remix)",
        parents=(ParentCredit("bbbbbbbb", "Piece a (jazz remix)", "Bob", "CC-BY-4.0"),),
        ancestors=(ParentCredit("aaaaaaaa", "Piece a", "Alice", "CC-BY-4.0"),),
    )
    assert credit.lineage == (
        'remix of "Piece a (jazz remix)" by Bob (id bbbbbbbb, CC-BY-4.0),'
        ' which builds on "Piece a" by Alice (id aaaaaaaa)'
    )
    mp3 = tagged_mp3(b"\xff\xfb\x90\x00" + bytes(400), credit)
    assert ID3(io.BytesIO(mp3)).getall("TXXX:tunesmith_ancestors")
    path = tmp_path / "remix.mp3"
    path.write_bytes(mp3)
    tags = read_credit_tags(path)
    assert tags.parents == credit.parents and tags.ancestors == credit.ancestors
    assert tags.lineage == credit.lineage
