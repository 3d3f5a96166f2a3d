"""The play queue: order, loop modes, limits; `next_track` always agrees with `advance`."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ledger import Owner
from bot.voice.playlist import LoopMode, Playlist, QueueFull, Track

ALICE = Owner("discord", "1", "alice")


def track(name: str) -> Track:
    return Track(name, name.title(), 5.0, Path(f"/media/{name}.mp3"), ALICE)


def played(playlist: Playlist, count: int) -> list[str]:
    """The piece ids of the next `count` entries to play, each played to its end."""
    order = []
    for _ in range(count):
        current = playlist.advance()
        if current is None:
            break
        order.append(current.piece_id)
    return order


def test_entries_play_in_the_order_they_were_added() -> None:
    playlist = Playlist()
    assert playlist.add([track("a"), track("b")]) == 1
    assert playlist.add([track("c")]) == 3
    assert played(playlist, 5) == ["a", "b", "c"]
    assert playlist.current is None and len(playlist) == 0


def test_place_in_line_counts_from_after_the_current_entry() -> None:
    playlist = Playlist()
    playlist.add([track("a")])
    playlist.advance()  # a plays
    assert playlist.add([track("b")]) == 1
    assert playlist.add([track("c"), track("d")]) == 2
    assert [t.piece_id for t in playlist.upcoming] == ["b", "c", "d"]


def test_loop_one_repeats_until_skipped() -> None:
    playlist = Playlist()
    playlist.add([track("a"), track("b")])
    playlist.loop = LoopMode.ONE
    assert played(playlist, 3) == ["a", "a", "a"]
    assert playlist.advance(skipped=True) is not None
    assert playlist.current is not None and playlist.current.piece_id == "b"
    assert played(playlist, 2) == ["b", "b"]


def test_loop_all_goes_round_and_a_skipped_entry_comes_back() -> None:
    playlist = Playlist()
    playlist.add([track("a"), track("b"), track("c")])
    playlist.loop = LoopMode.ALL
    assert played(playlist, 7) == ["a", "b", "c", "a", "b", "c", "a"]
    skipped_to = playlist.advance(skipped=True)
    assert skipped_to is not None and skipped_to.piece_id == "b"
    assert [t.piece_id for t in playlist.upcoming] == ["c", "a"]


def test_a_dropped_entry_leaves_whatever_the_loop_mode() -> None:
    for mode in LoopMode:
        playlist = Playlist()
        playlist.add([track("bad"), track("good")])
        playlist.loop = mode
        playlist.advance()
        following = playlist.advance(drop=True)
        assert following is not None and following.piece_id == "good", mode
        assert all(t.piece_id != "bad" for t in playlist.upcoming), mode


def test_the_same_piece_twice_is_two_entries() -> None:
    playlist = Playlist()
    first, second = track("a"), track("a")
    playlist.add([first, second])
    assert playlist.advance() is first
    assert playlist.advance() is second


def test_the_queue_has_a_limit_and_a_refusal_says_how_much_room_is_left() -> None:
    playlist = Playlist(limit=3)
    playlist.add([track("a"), track("b")])
    with pytest.raises(QueueFull, match="at most 3 pieces and has room for 1 more"):
        playlist.add([track("c"), track("d")])
    assert len(playlist) == 2  # all or nothing
    playlist.add([track("c")])
    with pytest.raises(ValueError, match="at least one"):
        playlist.add([])
    with pytest.raises(ValueError, match="limit must be at least 1"):
        Playlist(limit=0)


def test_clear_and_remove_piece() -> None:
    playlist = Playlist()
    playlist.add([track("a"), track("b"), track("a"), track("c")])
    playlist.advance()
    assert playlist.remove_piece("a") == 1  # the upcoming copy; the current one plays on
    assert [t.piece_id for t in playlist.upcoming] == ["b", "c"]
    assert playlist.clear() == 3
    assert playlist.current is None and playlist.upcoming == ()


operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(1, 3)),
        st.tuples(st.just("advance"), st.booleans()),
        st.tuples(st.just("loop"), st.sampled_from(list(LoopMode))),
        st.tuples(st.just("clear"), st.none()),
    ),
    max_size=40,
)


@given(operations)
def test_next_track_is_what_advance_makes_current(steps: list[tuple[str, object]]) -> None:
    playlist = Playlist(limit=20)
    added = 0
    for name, argument in steps:
        if name == "add":
            assert isinstance(argument, int)
            fresh = [track(f"p{added + i}") for i in range(argument)]
            if len(playlist) + len(fresh) <= playlist.limit:
                playlist.add(fresh)
                added += argument
        elif name == "advance":
            skipped = bool(argument)
            expected = playlist.next_track()
            size, ending = len(playlist), playlist.current
            current = playlist.advance(skipped=skipped)
            if not skipped:
                assert current is expected
            # Nothing is lost or made up: an ended entry leaves only when not looped.
            kept = playlist.loop is LoopMode.ALL or (playlist.loop is LoopMode.ONE and not skipped)
            assert len(playlist) == (size if ending is None or kept else size - 1)
        elif name == "loop":
            playlist.loop = LoopMode(str(argument))
        else:
            playlist.clear()
        assert len(playlist) <= playlist.limit
