"""``status``: what is set up and what happened, from local files only (works offline)."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import Any

from ..gateway.config import LoadedConfig
from ..gateway.health import assess
from ..gateway.lock import run_started_at, running_gateway
from ..gateway.pairing import PairingStore
from .console import Console, format_when, parse_timestamp, short
from .context import add_network_options, identities, load, owner_conversation_id
from .errors import EXIT_ERROR, EXIT_OK
from .runtime_info import agent_description

_ACTIVITY = (
    ("lastInboundAt", "last_inbound_at", "message received"),
    ("lastReplyAt", "last_reply_at", "reply sent"),
    ("lastJoinAt", "last_join_at", "someone joined"),
    ("startedAt", "started_at", "gateway started"),
)


async def collect_status(loaded: LoadedConfig) -> dict[str, Any]:
    """Everything ``status`` shows, as JSON-ready data. No network, and nothing is created."""
    from ..xmtp.endpoints import resolve_endpoint

    cfg = loaded.convos
    stored, broken = identities(loaded)
    owner = owner_conversation_id(loaded, stored)
    pending_owner = [s for s in stored if s.role == "owner" and not s.conversation_id and s.invite_slug]
    # identities in no conversation and waiting for none are left-overs: they serve nothing
    usable = [s for s in stored if s.conversation_id or s.invite_slug]
    # the config's ownerConversationId counts when an identity of ours is in it, or when the
    # config's privateKey is that identity (run adopts it into a key file at start)
    if owner and not cfg.private_key and not any(s.conversation_id == owner for s in stored):
        owner = None
    if owner:
        setup = "configured"
    elif pending_owner:
        setup = "join pending"
    elif usable:
        setup = "no owner conversation"
    else:
        setup = "needs setup"
    pairing = PairingStore(loaded.paths.credentials_dir)
    pending = await pairing.read_pending()  # read-only: no lock, no prune, nothing moved
    approved = await pairing.read_allow_from()
    store_problems = [problem.message for problem in pairing.problems()]
    activity: dict[str, str] = {}
    counts: dict[str, int] = {}
    if loaded.paths.store_path.exists():
        from ..gateway.state import GatewayState

        state = GatewayState.open(loaded.paths.store_path)
        try:
            activity = await state.activity()
            counts = await state.counts()
        finally:
            state.close()
    pid = running_gateway(loaded.paths)
    health = assess(
        running=pid is not None,
        run_started_unix=run_started_at(loaded.paths) if pid is not None else None,
        activity=activity,
        now=time.time(),
    )
    store_dir = loaded.paths.identities_dir(cfg.env)
    return {
        "configured": bool(owner),
        "setup": setup,
        "enabled": cfg.enabled,
        "env": cfg.env,
        "node": resolve_endpoint(cfg.env, cfg.api_url, cfg.gateway_host).url,
        "configPath": str(loaded.paths.config_path),
        "configExists": loaded.exists,
        "stateDir": str(loaded.paths.state_dir),
        "ownerConversationId": owner,
        "ownerState": "joined" if owner else ("pending" if pending_owner else None),
        "gateway": {"running": pid is not None, "pid": pid if pid and pid > 0 else None},
        "health": health.to_json(),
        "agent": agent_description(loaded),
        "dmPolicy": cfg.dm_policy,
        "allowFrom": list(cfg.allow_from),
        "approvedSenders": list(approved),
        "identities": [
            {
                "id": s.id,
                "role": s.role,
                "label": s.label,
                "inboxId": s.inbox_id,
                "conversationId": s.conversation_id,
                "state": "joined" if s.conversation_id else ("pending" if s.invite_slug else "idle"),
                "keyFile": str(store_dir / f"{s.id}.json"),
            }
            for s in stored
        ],
        "unreadableIdentities": broken,
        "pendingPairings": [
            {
                "code": r.code,
                "id": r.id,
                "createdAt": r.to_json()["createdAt"],
                "expiresAt": r.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ") if r.expires_at else None,
                "meta": dict(r.meta),
            }
            for r in pending
        ],
        "pairingStoreProblems": store_problems,
        "activity": {key: activity[raw] for key, raw, _label in _ACTIVITY if raw in activity},
        "messages": counts,
    }


async def cmd_status(args: argparse.Namespace) -> int:
    console = Console()
    loaded = load(args)
    status = await collect_status(loaded)
    health = status["health"]
    if args.check:
        # for health checks (Docker HEALTHCHECK, monitoring): one line, exit 0 only when it serves
        line = f"{health['state']}: {health['detail']}"
        if health["heartbeatAgeSeconds"] is not None:
            line += f" (heartbeat {health['heartbeatAgeSeconds']:.0f} s ago)"
        if health["action"]:
            line += f"; {health['action']}"
        if health["problems"]:
            line += f"; {len(health['problems'])} conversation problem(s): see `openclaw-convos status`"
        console.say(line)
        return EXIT_OK if health["ok"] else EXIT_ERROR
    if args.json:
        console.json(status)
        return EXIT_OK
    now = datetime.now(UTC)
    setup = status["setup"]
    hint = {
        "needs setup": " (run `openclaw-convos configure` with an invite, or `openclaw-convos invite create`)",
        "join pending": " (the conversation's creator must approve; `openclaw-convos run` finishes the join)",
        "no owner conversation": " (run `openclaw-convos configure`)",
    }.get(setup, "")
    console.say(f"Convos: {setup}{hint}")
    if not status["enabled"]:
        console.say("Enabled: no (channels.convos.enabled is false)")
    console.say(f"Environment: {status['env']} (node {status['node']})")
    owner = status["ownerConversationId"]
    console.say(f"Owner conversation: {owner[:8] + '...' if owner else '-'}")
    gateway = status["gateway"]
    if gateway["running"]:
        console.say(f"Gateway: running (pid {gateway['pid'] or '?'})")
    else:
        console.say("Gateway: not running (start it with `openclaw-convos run`)")
    if gateway["running"]:
        age = health["heartbeatAgeSeconds"]
        beat = f", heartbeat {age:.0f} s ago" if age is not None else ""
        action = f" -> {health['action']}" if health["action"] else ""
        console.say(f"Health: {health['state']}{beat}: {health['detail']}{action}")
    problems = health["problems"]
    if problems:
        console.say(f"Problems: {len(problems)}")
        for key, problem in problems.items():
            console.say(f"  {key}: {problem}")
    console.say(f"Agent: {status['agent']}")
    console.say(
        f"DM policy: {status['dmPolicy']} (allowFrom: {len(status['allowFrom'])} in the config, "
        f"{len(status['approvedSenders'])} approved by pairing)"
    )
    items = status["identities"]
    console.say(f"Identities: {len(items)}")
    if items:
        rows = [
            [
                i["id"],
                i["role"] + (" (owner channel)" if owner and i["conversationId"] == owner else ""),
                i["state"],
                i["conversationId"] or "-",
                short(i["inboxId"]),
                i["label"] or "",
            ]
            for i in items
        ]
        console.table(
            ["  Identity", "Role", "State", "Conversation", "Inbox", "Label"],
            [["  " + r[0], *r[1:]] for r in rows],
        )
    for key, error in status["unreadableIdentities"].items():
        console.say(f"  unreadable identity {key}: {error}")
    pairings = status["pendingPairings"]
    console.say(f"Pending pairings: {len(pairings) or 'none'}")
    for p in pairings:
        expires = parse_timestamp(p["expiresAt"])
        console.say(f"  {p['code']}  {p['id']}  expires {format_when(expires, now)}")
    if pairings:
        console.say("  approve one with `openclaw-convos pairing approve <code> --notify`")
    for problem in status["pairingStoreProblems"]:
        console.say(f"  problem: {problem}")
    activity = status["activity"]
    if activity:
        parts = [
            f"{label} {format_when(parse_timestamp(activity[key]), now)}"
            for key, _raw, label in _ACTIVITY
            if key in activity
        ]
        console.say("Last activity: " + "; ".join(parts))
    else:
        console.say("Last activity: none yet")
    counts = status["messages"]
    if counts:
        console.say("Messages: " + ", ".join(f"{n} {state}" for state, n in sorted(counts.items())))
    console.say(f"Config: {status['configPath']}" + ("" if status["configExists"] else " (not created yet)"))
    console.say(f"State: {status['stateDir']}")
    return EXIT_OK


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "status",
        parents=[common],
        help="what is configured and what happened (local files only; works offline)",
    )
    add_network_options(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--check",
        action="store_true",
        help="health check: one line, exit 0 when the gateway runs and serves, 1 otherwise "
        "(stopped, stuck, or the XMTP node unreachable)",
    )
    p.set_defaults(handler=cmd_status)
