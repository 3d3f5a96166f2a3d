"""Ownership, transfers and licences, enforced by the ledger itself: every rule tried by the wrong person."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.ledger import (
    ALL_LICENCES,
    Deleted,
    EventKind,
    InvalidValue,
    Ledger,
    LedgerError,
    Licence,
    LicenceConflict,
    NotFound,
    NotOwner,
    Owner,
    TransferError,
)
from generators.errors import TunesmithError

ALICE = Owner("cli", "alice", "Alice")
BOB = Owner("discord", "1001", "Bob")
CAROL = Owner("discord", "1002", "Carol")


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(tmp_path / "ledger.db") as opened:
        yield opened


def record(ledger: Ledger, owner: Owner, tag: str = "a", **extra: Any) -> str:
    return ledger.record_creation(
        owner,
        origin="cli",
        title=f"Piece {tag}",
        request="lofi 30s",
        seed=1,
        score_json="{}",
        media={"mp3": f"mp3:{tag}:{owner.user_id}".encode()},
        generator_version="0.1.0",
        **extra,
    ).id


def unchanged(ledger: Ledger, before: int) -> bool:
    """Nothing was written: the chain did not grow and the ledger still verifies."""
    return ledger.head().seq == before and ledger.verify().ok


# --- owners -----------------------------------------------------------------------------------


def test_the_person_who_asked_owns_the_piece(ledger: Ledger) -> None:
    piece = ledger.creation(record(ledger, BOB))
    assert piece.owner == BOB
    (created,) = ledger.events(piece.id)
    assert created.actor == BOB and created.payload["owner"]["user_id"] == BOB.user_id


@pytest.mark.parametrize(
    ("action", "needs"),
    [
        (lambda led, p, who: led.rename(p, who, "Mine now"), "rename it"),
        (lambda led, p, who: led.relicense(p, who, "CC0-1.0"), "change its licence"),
        (lambda led, p, who: led.delete(p, who), "delete it"),
        (lambda led, p, who: led.offer_transfer(p, who, CAROL), "offer it to someone else"),
    ],
    ids=["rename", "relicense", "delete", "offer"],
)
def test_only_the_owner_may_change_a_piece(ledger: Ledger, action: Any, needs: str) -> None:
    piece = record(ledger, ALICE)
    before = ledger.head().seq
    with pytest.raises(NotOwner) as refused:
        action(ledger, piece, BOB)
    message = str(refused.value)
    assert f"Only the owner of “Piece a” ({piece}) can {needs}" in message
    assert "transfer it to you" in message  # says what would be right
    assert unchanged(ledger, before)
    action(ledger, piece, ALICE)  # the owner may
    assert ledger.head().seq == before + 1
    assert ledger.verify().ok


def test_a_no_op_is_still_only_the_owners_to_ask_for(ledger: Ledger) -> None:
    piece = record(ledger, ALICE)
    with pytest.raises(NotOwner):
        ledger.rename(piece, BOB, "Piece a")
    assert ledger.rename(piece, ALICE, "Piece a").title == "Piece a"
    assert [e.kind for e in ledger.events(piece)] == [EventKind.CREATED]


def test_the_display_name_is_not_the_identity(ledger: Ledger) -> None:
    piece = record(ledger, ALICE)
    impostor = Owner("discord", "alice", "Alice")  # same names, other platform
    with pytest.raises(NotOwner):
        ledger.rename(piece, impostor, "Taken")
    renamed = ledger.rename(piece, Owner("cli", "alice", "Alice Liddell"), "Still hers")
    assert renamed.title == "Still hers"


def test_errors_are_a_small_hierarchy_of_user_safe_messages() -> None:
    for error in (NotOwner, NotFound, Deleted, LicenceConflict, TransferError, InvalidValue):
        assert issubclass(error, LedgerError) and issubclass(LedgerError, TunesmithError)
    assert issubclass(Deleted, NotFound)


def test_unknown_and_malformed_ids_are_not_found(ledger: Ledger) -> None:
    with pytest.raises(NotFound, match="no piece zzzzzzzz"):
        ledger.rename("zzzzzzzz", ALICE, "x")
    with pytest.raises(NotFound, match="not a piece id"):
        ledger.creation("../etc")


# --- transfers --------------------------------------------------------------------------------


def test_a_transfer_completes_only_when_the_recipient_accepts(ledger: Ledger) -> None:
    piece = record(ledger, ALICE)
    offered = ledger.offer_transfer(piece, ALICE, BOB)
    assert offered.owner == ALICE and offered.offered_to == BOB
    with pytest.raises(TransferError, match="offered to someone else"):
        ledger.accept_transfer(piece, CAROL)
    with pytest.raises(TransferError, match="offered to someone else"):
        ledger.accept_transfer(piece, ALICE)  # the owner cannot accept on the recipient's behalf
    taken = ledger.accept_transfer(piece, BOB)
    assert taken.owner == BOB and taken.offered_to is None
    with pytest.raises(NotOwner):
        ledger.rename(piece, ALICE, "Old owner")
    assert ledger.rename(piece, BOB, "New owner").title == "New owner"
    assert [c.id for c in ledger.creations_of(BOB)] == [piece]
    assert ledger.creations_of(ALICE) == []
    kinds = [e.kind for e in ledger.events(piece)]
    assert kinds[-3:] == [
        EventKind.TRANSFER_OFFERED,
        EventKind.TRANSFER_ACCEPTED,
        EventKind.RENAMED,
    ]
    assert ledger.verify().ok


def test_only_the_recipient_declines(ledger: Ledger) -> None:
    piece = record(ledger, ALICE)
    ledger.offer_transfer(piece, ALICE, BOB)
    before = ledger.head().seq
    for wrong in (CAROL, ALICE):
        with pytest.raises(TransferError):
            ledger.decline_transfer(piece, wrong)
    assert unchanged(ledger, before)
    declined = ledger.decline_transfer(piece, BOB)
    assert declined.owner == ALICE and declined.offered_to is None
    with pytest.raises(TransferError, match="no pending transfer to accept"):
        ledger.accept_transfer(piece, BOB)


def test_accepting_or_declining_without_an_offer_is_refused(ledger: Ledger) -> None:
    piece = record(ledger, ALICE)
    with pytest.raises(TransferError, match="owner has to offer it first"):
        ledger.accept_transfer(piece, BOB)
    with pytest.raises(TransferError):
        ledger.decline_transfer(piece, BOB)


def test_offering_to_yourself_is_refused(ledger: Ledger) -> None:
    piece = record(ledger, ALICE)
    with pytest.raises(TransferError, match="You already own"):
        ledger.offer_transfer(piece, ALICE, Owner("cli", "alice", "me again"))
    assert ledger.creation(piece).offered_to is None


def test_a_new_offer_replaces_the_pending_one(ledger: Ledger) -> None:
    piece = record(ledger, ALICE)
    ledger.offer_transfer(piece, ALICE, BOB)
    ledger.offer_transfer(piece, ALICE, CAROL)
    with pytest.raises(TransferError):
        ledger.accept_transfer(piece, BOB)
    assert ledger.accept_transfer(piece, CAROL).owner == CAROL
    replaced = [e for e in ledger.events(piece) if e.kind is EventKind.TRANSFER_OFFERED][-1]
    assert replaced.payload["replaces"] == {"platform": "discord", "user_id": BOB.user_id}


def test_the_owner_can_withdraw_and_only_the_owner(ledger: Ledger) -> None:
    piece = record(ledger, ALICE)
    with pytest.raises(TransferError, match="no pending transfer offer to withdraw"):
        ledger.withdraw_transfer(piece, ALICE)
    ledger.offer_transfer(piece, ALICE, BOB)
    with pytest.raises(NotOwner):
        ledger.withdraw_transfer(piece, BOB)  # the recipient declines instead
    withdrawn = ledger.withdraw_transfer(piece, ALICE)
    assert withdrawn.offered_to is None
    with pytest.raises(TransferError):
        ledger.accept_transfer(piece, BOB)
    assert ledger.events(piece)[-1].kind is EventKind.TRANSFER_WITHDRAWN


def test_deleting_voids_a_pending_offer(ledger: Ledger) -> None:
    piece = record(ledger, ALICE)
    ledger.offer_transfer(piece, ALICE, BOB)
    gone = ledger.delete(piece, ALICE)
    assert gone.offered_to is None
    with pytest.raises(Deleted, match="deleted by its owner"):
        ledger.accept_transfer(piece, BOB)
    with pytest.raises(Deleted):
        ledger.delete(piece, ALICE)
    assert ledger.verify().ok


# --- licences ---------------------------------------------------------------------------------


def test_licences_have_names_and_deeds() -> None:
    assert [str(licence) for licence in ALL_LICENCES] == [
        "CC0-1.0",
        "CC-BY-4.0",
        "CC-BY-SA-4.0",
        "CC-BY-NC-4.0",
        "all-rights-reserved",
    ]
    assert (
        Licence.CC_BY_SA.human_name == "Creative Commons Attribution-ShareAlike 4.0 International"
    )
    assert Licence.CC_BY_NC.url == "https://creativecommons.org/licenses/by-nc/4.0/"
    assert Licence.CC0.url == "https://creativecommons.org/publicdomain/zero/1.0/"
    assert Licence.ALL_RIGHTS_RESERVED.url is None
    assert Licence.parse("cc-by-sa-4.0") is Licence.CC_BY_SA and Licence.parse("ARR").url is None
    with pytest.raises(InvalidValue, match=r"choose one of CC0-1\.0, CC-BY-4\.0"):
        Licence.parse("MIT")


def expected_terms(parent: Licence, own: bool) -> tuple[Licence, ...] | None:
    """The table from the rules, written out independently of the code: None = no remix."""
    if own:
        return ALL_LICENCES
    return {
        Licence.CC0: ALL_LICENCES,
        Licence.CC_BY: ALL_LICENCES,
        Licence.CC_BY_SA: (Licence.CC_BY_SA,),
        Licence.CC_BY_NC: (Licence.CC_BY_NC,),
        Licence.ALL_RIGHTS_RESERVED: None,
    }[parent]


@pytest.mark.parametrize("own", [True, False], ids=["own", "other"])
@pytest.mark.parametrize("requested", [None, *ALL_LICENCES], ids=str)
@pytest.mark.parametrize("parent_licence", ALL_LICENCES, ids=str)
def test_remix_licence_table(
    ledger: Ledger, parent_licence: Licence, requested: Licence | None, own: bool
) -> None:
    parent = record(ledger, ALICE, "parent", licence=parent_licence)
    remixer = ALICE if own else BOB
    allowed = expected_terms(parent_licence, own)
    before = ledger.head().seq
    if allowed is None:
        with pytest.raises(LicenceConflict, match="all rights reserved: only the owner") as no:
            record(ledger, remixer, "remix", parents=[parent], licence=requested)
        assert no.value.allowed == ()
        assert unchanged(ledger, before)
        return
    default = allowed[0] if len(allowed) == 1 else Licence.CC_BY
    if requested is not None and requested not in allowed:
        with pytest.raises(LicenceConflict) as refused:
            record(ledger, remixer, "remix", parents=[parent], licence=requested)
        assert f"allowed: {', '.join(allowed)}" in str(refused.value)
        assert refused.value.allowed == allowed
        assert unchanged(ledger, before)
        return
    remix = ledger.creation(record(ledger, remixer, "remix", parents=[parent], licence=requested))
    assert remix.licence == (requested or default)
    assert remix.allowed_licences == allowed
    # Relicensing later keeps to the same terms.
    for later in ALL_LICENCES:
        if later in allowed:
            assert ledger.relicense(remix.id, remixer, later).licence == later
        else:
            with pytest.raises(LicenceConflict, match="allow only"):
                ledger.relicense(remix.id, remixer, later)
    assert ledger.verify().ok


def test_share_alike_and_non_commercial_parents_cannot_be_combined(ledger: Ledger) -> None:
    share_alike = record(ledger, ALICE, "sa", licence="CC-BY-SA-4.0")
    non_commercial = record(ledger, CAROL, "nc", licence="CC-BY-NC-4.0")
    with pytest.raises(LicenceConflict) as refused:
        record(ledger, BOB, "both", parents=[share_alike, non_commercial])
    message = str(refused.value)
    assert "“Piece sa”" in message and "“Piece nc”" in message
    assert "cannot be remixed together" in message and "Remix them separately" in message


@pytest.mark.parametrize(
    ("parents", "forced"),
    [
        ([("sa", BOB), ("nc", ALICE)], Licence.CC_BY_NC),  # Bob's own SA piece does not constrain
        ([("sa", ALICE), ("by", CAROL)], Licence.CC_BY_SA),
        ([("sa", ALICE), ("sa", CAROL)], Licence.CC_BY_SA),
        ([("arr", BOB), ("cc0", ALICE)], None),  # own all-rights-reserved piece: no constraint
    ],
)
def test_several_parents(
    ledger: Ledger, parents: list[tuple[str, Owner]], forced: Licence | None
) -> None:
    codes = {"sa": "CC-BY-SA-4.0", "nc": "CC-BY-NC-4.0", "by": "CC-BY-4.0", "cc0": "CC0-1.0",
             "arr": "all-rights-reserved"}  # fmt: skip
    ids = [
        record(ledger, owner, f"{code}-{owner.user_id}", licence=codes[code])
        for code, owner in parents
    ]
    remix = ledger.creation(record(ledger, BOB, "remix", parents=ids))
    assert remix.licence == (forced or Licence.CC_BY)
    assert remix.allowed_licences == ((forced,) if forced else ALL_LICENCES)


def test_a_deleted_parent_cannot_be_remixed(ledger: Ledger) -> None:
    parent = record(ledger, ALICE)
    ledger.delete(parent, ALICE)
    with pytest.raises(Deleted, match="deleted by its owner; it cannot be remixed"):
        record(ledger, BOB, "remix", parents=[parent])
    with pytest.raises(Deleted):
        record(ledger, ALICE, "own remix", parents=[parent])


def test_a_remix_keeps_the_terms_it_was_made_under(ledger: Ledger) -> None:
    """Relicensing the parent later does not loosen a remix already made under share-alike."""
    parent = record(ledger, ALICE, licence="CC-BY-SA-4.0")
    remix = record(ledger, BOB, "remix", parents=[parent])
    ledger.relicense(parent, ALICE, "CC-BY-4.0")
    with pytest.raises(LicenceConflict):
        ledger.relicense(remix, BOB, "CC-BY-4.0")
    # ...and a new remix of the now CC-BY parent is free.
    assert ledger.creation(record(ledger, BOB, "again", parents=[parent])).allowed_licences == (
        ALL_LICENCES
    )
