"""What a user's Discord client sends for a slash command: typed options and resolved objects.

The option types come from the command the bot synced, so a test that passes the wrong kind of
value, an unknown option or leaves out a required one fails here, as it would in the client.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.fake_discord.model import FakeChannel, FakeDiscordError, FakeUser
from bot.fake_discord.world import World

SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = range(3, 12)

# An attachment a user uploads into an attachment option: (filename, bytes, content type).
AttachmentUpload = tuple[str, bytes, str]


def command_options(
    world: World,
    command: Mapping[str, Any],
    channel: FakeChannel,
    values: Mapping[str, Any],
    *,
    attachments: Mapping[str, AttachmentUpload] | None = None,
    subcommand: str | None = None,
    focused: str | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The ``options`` and ``resolved`` of an application command interaction.

    ``subcommand`` is "sub" or "group sub". With ``focused`` (autocomplete) that option is sent as
    the raw typed text and required options may be missing, as Discord does.
    """
    declared = list(command.get("options") or [])
    path = subcommand.split() if subcommand else []
    nesting: list[tuple[int, str]] = []
    for part in path:
        found = next(
            (
                o
                for o in declared
                if o["name"] == part and o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)
            ),
            None,
        )
        if found is None:
            names = [o["name"] for o in declared if o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)]
            raise FakeDiscordError(
                f"/{command['name']} has no subcommand {subcommand!r}; it has {names}"
            )
        nesting.append((found["type"], part))
        declared = list(found.get("options") or [])
    if any(o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in declared):
        names = [o["name"] for o in declared]
        raise FakeDiscordError(f"/{command['name']} needs subcommand=, one of {names}")
    resolved: dict[str, dict[str, Any]] = {}
    leaf = _leaf_options(
        world, command["name"], declared, channel, values, attachments or {}, focused, resolved
    )
    options = leaf
    for kind, name in reversed(nesting):
        options = [{"type": kind, "name": name, "options": options}]
    return options, {k: v for k, v in resolved.items() if v}


def _leaf_options(
    world: World,
    command_name: str,
    declared: list[dict[str, Any]],
    channel: FakeChannel,
    values: Mapping[str, Any],
    attachments: Mapping[str, AttachmentUpload],
    focused: str | None,
    resolved: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    by_name = {o["name"]: o for o in declared}
    given = set(values) | set(attachments) | ({focused} if focused else set())
    unknown = sorted(given - set(by_name))
    if unknown:
        raise FakeDiscordError(
            f"/{command_name} has no option {unknown}; its options: {sorted(by_name)}"
        )
    options: list[dict[str, Any]] = []
    for spec in declared:
        name = spec["name"]
        if name == focused:
            raw = values.get(name, "")
            options.append({"type": spec["type"], "name": name, "value": str(raw), "focused": True})
            continue
        if name not in given:
            if spec.get("required") and focused is None:
                raise FakeDiscordError(f"/{command_name} needs option {name!r}")
            continue
        if spec["type"] == ATTACHMENT:
            if name not in attachments:
                raise FakeDiscordError(
                    f"option {name!r} of /{command_name} is an attachment: pass it in attachments="
                )
            filename, data, content_type = attachments[name]
            stored = world.store_attachment(channel.id, filename, data, content_type, None)
            payload = world.attachment_payload(stored)
            payload["ephemeral"] = True
            resolved.setdefault("attachments", {})[str(stored.id)] = payload
            options.append({"type": ATTACHMENT, "name": name, "value": str(stored.id)})
            continue
        if name in attachments:
            raise FakeDiscordError(f"option {name!r} of /{command_name} is not an attachment")
        value = _typed_value(world, command_name, spec, values[name], channel, resolved)
        options.append({"type": spec["type"], "name": name, "value": value})
    return options


def _typed_value(
    world: World,
    command_name: str,
    spec: Mapping[str, Any],
    value: Any,
    channel: FakeChannel,
    resolved: dict[str, dict[str, Any]],
) -> Any:
    kind = spec["type"]
    name = spec["name"]
    where = f"option {name!r} of /{command_name}"
    if kind == STRING:
        if not isinstance(value, str):
            raise FakeDiscordError(f"{where} takes a str, got {value!r}")
        low, high = spec.get("min_length", 0), spec.get("max_length", 6000)
        if not low <= len(value) <= high:
            raise FakeDiscordError(f"{where} must be {low}..{high} characters, got {len(value)}")
    elif kind in (INTEGER, NUMBER):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FakeDiscordError(f"{where} takes a number, got {value!r}")
        if kind == INTEGER and not isinstance(value, int):
            raise FakeDiscordError(f"{where} takes an int, got {value!r}")
        low, high = spec.get("min_value"), spec.get("max_value")
        if (low is not None and value < low) or (high is not None and value > high):
            raise FakeDiscordError(f"{where} must be between {low} and {high}, got {value}")
    elif kind == BOOLEAN:
        if not isinstance(value, bool):
            raise FakeDiscordError(f"{where} takes a bool, got {value!r}")
    elif kind in (USER, MENTIONABLE):
        if not isinstance(value, FakeUser):
            raise FakeDiscordError(f"{where} takes a FakeUser, got {value!r}")
        resolved.setdefault("users", {})[str(value.id)] = world.user_payload(value)
        guild = channel.guild
        if guild is not None and value in guild.members:
            member = world.member_payload(guild, value, with_user=False, permissions=True)
            resolved.setdefault("members", {})[str(value.id)] = member
        return str(value.id)
    elif kind == CHANNEL:
        if not isinstance(value, FakeChannel):
            raise FakeDiscordError(f"{where} takes a FakeChannel, got {value!r}")
        payload = world.channel_payload(value, for_user=world.bot_user)
        resolved.setdefault("channels", {})[str(value.id)] = payload
        return str(value.id)
    else:
        raise FakeDiscordError(f"{where} has option type {kind}, which the fake does not support")
    choices = spec.get("choices")
    if choices and value not in [c["value"] for c in choices]:
        raise FakeDiscordError(
            f"{where} takes one of {[c['value'] for c in choices]}, got {value!r}"
        )
    return value


def modal_answer(
    modal: Mapping[str, Any] | None, fields: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The ``components`` of a modal submit, mirroring the modal the bot showed (if known).

    Text inputs take their value from ``fields`` (custom_id -> text); selects take a list.
    """
    if modal is None:
        return [
            {"type": 1, "components": [{"type": 4, "custom_id": key, "value": str(value)}]}
            for key, value in fields.items()
        ]
    known = set(_input_ids(modal.get("components") or []))
    unknown = sorted(set(fields) - known)
    if unknown:
        raise FakeDiscordError(f"the modal has no input {unknown}; its inputs: {sorted(known)}")
    return [answer for c in modal.get("components") or [] if (answer := _answer(c, fields))]


def _input_ids(components: list[dict[str, Any]]) -> list[str]:
    ids: list[str] = []
    for component in components:
        if component.get("type") == 1:
            ids += _input_ids(component.get("components") or [])
        elif component.get("type") == 18:
            ids += _input_ids([component["component"]])
        elif isinstance(component.get("custom_id"), str):
            ids.append(component["custom_id"])
    return ids


def _answer(component: dict[str, Any], fields: Mapping[str, Any]) -> dict[str, Any] | None:
    kind = component.get("type")
    if kind == 1:
        children = [a for c in component.get("components") or [] if (a := _answer(c, fields))]
        return {"type": 1, "components": children}
    if kind == 18:
        inner = _answer(component["component"], fields)
        return None if inner is None else {"type": 18, "component": inner}
    custom_id = component.get("custom_id")
    if custom_id is None:
        return None
    if kind == 4:
        value = fields.get(custom_id, component.get("value") or "")
        if component.get("required", True) and not value:
            raise FakeDiscordError(f"the modal's input {custom_id!r} is required")
        return {"type": 4, "custom_id": custom_id, "value": str(value)}
    values = fields.get(custom_id, [])
    return {"type": kind, "custom_id": custom_id, "values": [str(v) for v in values]}
