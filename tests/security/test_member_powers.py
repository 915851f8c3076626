"""Members do not control who gets in (issue 14, item 3).

Before the fix, conversations made by ``invite create`` kept libxmtp's default permissions: any
member could add people directly, put back a revoked invite tag, set a past expiry so every new
invite was refused, or write garbage appData after which ``invite create --conversation`` and
``invite lock`` failed. Mallory, a member who joined with a link, tries each of these with her
own libxmtp client.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openclaw_convos.agents import EchoAgent
from openclaw_convos.cli.control import CONVERSATION_ACTIONS
from openclaw_convos.convos.metadata import decode_app_data, update_app_data
from openclaw_convos.errors import ConvosError
from openclaw_convos.gateway.service import create_owned_conversation, open_gateway
from openclaw_convos.joinflow import creator as cr
from openclaw_convos.xmtp.client import CREATOR_OWNED_POLICY
from tests.reliability.harness import Place, setup_owner


async def test_a_member_cannot_change_membership_or_metadata(place: Place) -> None:
    await setup_owner(place)
    async with open_gateway(place.load(), EchoAgent()) as gateway:
        room = await create_owned_conversation(place.load(), name="Room", gateway=gateway)
        host = gateway.hosts[room.identity.id]
        ours = host.client.conversation(room.conversation_id)
        assert ours is not None
        assert ours.permissions() == CREATOR_OWNED_POLICY
        assert decode_app_data(ours.app_data).image_encryption_key is not None  # members need not write it
        old_tag = decode_app_data(ours.app_data).tag
        await cr.revoke_invites(ours, own_inbox_id=host.client.inbox_id)
        fresh_slug, _url = cr.invite_for(host.client, ours)

        mallory, eve = await place.user("Mallory"), await place.user("Eve")
        assert (await mallory.join(fresh_slug)).conversation_id == room.conversation_id
        group = mallory.conversation(room.conversation_id)
        await group.sync()
        current = group.app_data
        attempts = {
            "add a member directly": group.add_members([eve.inbox_id]),
            "put back the revoked tag": group.set_app_data(update_app_data(current, tag=old_tag)),
            "set a past expiry": group.set_app_data(
                update_app_data(current, expires_at=datetime.now(UTC) - timedelta(days=1))
            ),
            "write garbage appData": group.set_app_data("garbage!"),
            "rename": group.set_name("pwned"),
            "remove the gateway": group.remove_members([host.client.inbox_id]),
        }
        refused = []
        for what, attempt in attempts.items():
            with pytest.raises(ConvosError):
                await attempt
            refused.append(what)
        print(f"\nrefused to a member: {', '.join(refused)}")
        await ours.sync()
        assert eve.inbox_id not in {m.inbox_id for m in await ours.members()}
        assert ours.app_data == current and ours.name == "Room"
        # the gateway's own invites still work
        assert (await eve.join(fresh_slug)).conversation_id == room.conversation_id


async def test_garbage_metadata_is_survived_old_conversations_are_tightened_and_members_removed(
    place: Place,
) -> None:
    await setup_owner(place)
    async with open_gateway(place.load(), EchoAgent()) as gateway:
        room = await create_owned_conversation(place.load(), name="Old room", gateway=gateway)
        host = gateway.hosts[room.identity.id]
        ours = host.client.conversation(room.conversation_id)
        assert ours is not None
        # a conversation made before the fix: libxmtp's defaults, anyone writes appData
        await ours.set_policy("update_app_data", "allow")
        await ours.set_add_member_policy(allow=True)
        mallory, eve = await place.user("Mallory"), await place.user("Eve")
        assert (await mallory.join(room.url)).conversation_id == room.conversation_id
        group = mallory.conversation(room.conversation_id)
        await group.sync()
        await group.set_app_data("garbage!")  # allowed by the old permissions
        await ours.sync()
        assert cr.readable_tag(ours) is None

        made = await CONVERSATION_ACTIONS["invite"](host.client, ours, {})
        assert made["repairedMetadata"] is True
        assert {"update_app_data", "add_member"} <= set(made["restricted"])
        assert ours.permissions()["update_app_data"] == "admin"
        with pytest.raises(ConvosError):
            await group.set_app_data("garbage again")
        assert (await eve.join(str(made["slug"]))).conversation_id == room.conversation_id
        locked = await CONVERSATION_ACTIONS["lock"](host.client, ours, {"locked": True})
        assert locked == {"locked": True}

        removed = await CONVERSATION_ACTIONS["remove_member"](
            host.client, ours, {"inboxId": mallory.inbox_id}
        )
        assert removed == {"removed": mallory.inbox_id}
        await ours.sync()
        assert mallory.inbox_id not in {m.inbox_id for m in await ours.members()}
