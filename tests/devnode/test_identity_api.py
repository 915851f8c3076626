"""IdentityApi: inbox log, address index, the 256 cap, smart-contract-wallet verdicts."""

from __future__ import annotations

import os

import grpc
import grpc.aio
import pytest

from openclaw_convos.devnode import Devnode
from openclaw_convos.devnode.proto import association_pb2 as assoc
from openclaw_convos.devnode.proto import identity_api_pb2 as ident

from .helpers import Rpc, address_action, new_address, new_inbox, registration


async def publish(rpc: Rpc, update: assoc.IdentityUpdate) -> None:
    await rpc.identity("PublishIdentityUpdate", ident.PublishIdentityUpdateRequest(identity_update=update))


async def inbox_ids(rpc: Rpc, *items: tuple[str, int]) -> list[ident.GetInboxIdsResponse.Response]:
    request = ident.GetInboxIdsRequest(
        requests=[ident.GetInboxIdsRequest.Request(identifier=i, identifier_kind=k) for i, k in items]  # type: ignore[arg-type]
    )
    return list((await rpc.identity("GetInboxIds", request)).responses)


async def updates(rpc: Rpc, *items: tuple[str, int]) -> ident.GetIdentityUpdatesResponse:
    request = ident.GetIdentityUpdatesRequest(
        requests=[ident.GetIdentityUpdatesRequest.Request(inbox_id=i, sequence_id=s) for i, s in items]
    )
    return await rpc.identity("GetIdentityUpdates", request)  # type: ignore[no-any-return]


async def test_get_inbox_ids_echoes_and_maps_after_registration(rpc: Rpc) -> None:
    address, inbox = new_address(), new_inbox()
    [before] = await inbox_ids(rpc, (address, 1))
    assert before.identifier == address
    assert before.identifier_kind == assoc.IDENTIFIER_KIND_ETHEREUM
    assert not before.HasField("inbox_id")

    await publish(rpc, registration(address, inbox, os.urandom(32)))
    eth, unspecified, passkey, upper = await inbox_ids(
        rpc, (address, 1), (address, 0), (address, 2), (address.upper().replace("0X", "0x"), 1)
    )
    assert eth.inbox_id == inbox and eth.identifier_kind == 1
    assert unspecified.inbox_id == inbox and unspecified.identifier_kind == 0
    assert not passkey.HasField("inbox_id") and passkey.identifier_kind == 2
    assert upper.inbox_id == inbox
    assert upper.identifier == address.upper().replace("0X", "0x")  # echoed exactly


async def test_add_and_revoke_addresses(rpc: Rpc) -> None:
    owner, extra, inbox = new_address(), new_address(), new_inbox()
    await publish(rpc, registration(owner, inbox, os.urandom(32)))
    await publish(rpc, address_action(inbox, extra.upper().replace("0X", "0x")))
    [mapped] = await inbox_ids(rpc, (extra, 1))
    assert mapped.inbox_id == inbox

    await publish(rpc, address_action(inbox, extra, revoke=True))
    [revoked, still] = await inbox_ids(rpc, (extra, 1), (owner, 1))
    assert not revoked.HasField("inbox_id")
    assert still.inbox_id == inbox


async def test_revoke_by_another_inbox_does_not_unmap(rpc: Rpc) -> None:
    address, inbox, other = new_address(), new_inbox(), new_inbox()
    await publish(rpc, registration(address, inbox, os.urandom(32)))
    await publish(rpc, address_action(other, address, revoke=True))
    [result] = await inbox_ids(rpc, (address, 1))
    assert result.inbox_id == inbox


async def test_latest_association_wins(rpc: Rpc) -> None:
    address, first, second = new_address(), new_inbox(), new_inbox()
    await publish(rpc, registration(address, first, os.urandom(32)))
    await publish(rpc, address_action(second, address))
    [result] = await inbox_ids(rpc, (address, 1))
    assert result.inbox_id == second


async def test_get_identity_updates_order_filter_and_global_ids(rpc: Rpc) -> None:
    a, b, unknown = new_inbox(), new_inbox(), new_inbox()
    ua = registration(new_address(), a, os.urandom(32))
    ub = registration(new_address(), b, os.urandom(32))
    await publish(rpc, ua)
    await publish(rpc, ub)
    await publish(rpc, address_action(a, new_address()))

    response = await updates(rpc, (b, 0), (unknown, 0), (a, 0), (a, 1))
    assert [r.inbox_id for r in response.responses] == [b, unknown, a, a]
    rb, ru, ra, ra_after = response.responses
    assert [u.sequence_id for u in rb.updates] == [2]
    assert list(ru.updates) == []
    assert [u.sequence_id for u in ra.updates] == [1, 3]
    assert [u.sequence_id for u in ra_after.updates] == [3]
    assert ra.updates[0].update == ua
    assert ra.updates[0].server_timestamp_ns > 0
    assert ra.updates[0].server_timestamp_ns <= ra.updates[1].server_timestamp_ns

    huge = await updates(rpc, (a, 2**64 - 1))
    assert list(huge.responses[0].updates) == []


async def test_unknown_fields_of_updates_survive(rpc: Rpc) -> None:
    inbox = new_inbox()
    update = registration(new_address(), inbox, os.urandom(32))
    raw = update.SerializeToString() + b"\xf8\x3e\x2a"  # field 999 varint 42, unknown to everyone
    request = ident.PublishIdentityUpdateRequest()
    request.identity_update.MergeFromString(raw)
    await rpc.identity("PublishIdentityUpdate", request)
    [log] = (await updates(rpc, (inbox, 0))).responses[0].updates
    assert log.update.SerializeToString() == raw


async def test_identity_update_is_required(rpc: Rpc) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await rpc.identity("PublishIdentityUpdate", ident.PublishIdentityUpdateRequest())
    assert info.value.code() == grpc.StatusCode.UNKNOWN
    assert info.value.details() == "IdentityUpdate is required"


async def test_inbox_log_is_capped_at_256(rpc: Rpc) -> None:
    inbox = new_inbox()
    await publish(rpc, registration(new_address(), inbox, os.urandom(32)))
    for _ in range(255):
        await publish(rpc, assoc.IdentityUpdate(inbox_id=inbox))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publish(rpc, assoc.IdentityUpdate(inbox_id=inbox))
    assert info.value.code() == grpc.StatusCode.UNKNOWN
    assert info.value.details() == "inbox log is full"
    assert len((await updates(rpc, (inbox, 0))).responses[0].updates) == 256
    await publish(rpc, assoc.IdentityUpdate(inbox_id=new_inbox()))  # other inboxes unaffected


@pytest.mark.parametrize("valid", [True, False])
async def test_verify_smart_contract_wallet_signatures(node: Devnode, rpc: Rpc, valid: bool) -> None:
    node.scw_signatures_valid = valid
    request = ident.VerifySmartContractWalletSignaturesRequest(
        signatures=[
            ident.VerifySmartContractWalletSignatureRequestSignature(
                account_id="eip155:1:0xab", block_number=7
            ),
            ident.VerifySmartContractWalletSignatureRequestSignature(account_id="eip155:1:0xcd"),
        ]
    )
    response = await rpc.identity("VerifySmartContractWalletSignatures", request)
    assert [r.is_valid for r in response.responses] == [valid, valid]
    assert response.responses[0].block_number == 7
    assert not response.responses[1].HasField("block_number")
    assert response.responses[0].HasField("error") is not valid
