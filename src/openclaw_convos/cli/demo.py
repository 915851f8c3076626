"""``demo``: the whole product offline, in one command, as a readable transcript with timings.

A local XMTP node starts in this process (a free port) with a temporary state folder, so nothing
touches ``~/.openclaw``. Alice, a simulated Convos app user, creates a conversation and an invite;
the gateway is configured with that invite (the seed's setup) and answers with the echo agent
(or the openai backend when ``OPENAI_API_KEY`` or ``OPENAI_BASE_URL`` is set). Alice sends a
picture through a local S3-compatible store (``rclone serve s3``, from the ``demo`` extra; the
step is skipped without it) and gets the agent's answer about it (the echo agent sends the same
picture back, freshly encrypted and uploaded). Then Bob, a
stranger, joins a conversation the gateway created, gets a pairing code, Alice approves him from
the owner conversation, Bob is told and gets answers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConvosError
from .console import Console
from .errors import EXIT_OK, CliError

if TYPE_CHECKING:
    from ..simuser import Seen, SimulatedUser

AGENT_NAME = "OpenClaw"
SAYS = "\u203a"  # a single right-pointing angle quote
_HERMETIC_PREFIXES = ("OPENCLAW_", "CLAWDBOT_")


class DemoFailed(CliError):
    """A step of the demo did not happen as it should."""


def demo_agent(environ: Mapping[str, str]) -> tuple[dict[str, Any] | None, str]:
    """The agent config for the demo, and how to describe it."""
    base_url = environ.get("OPENAI_BASE_URL", "").strip()
    api_key = environ.get("OPENAI_API_KEY", "").strip()
    model = environ.get("OPENAI_MODEL", "").strip() or "gpt-4o-mini"
    if base_url:
        config: dict[str, Any] = {"kind": "openai", "baseUrl": base_url, "model": model}
        if api_key:
            config["apiKeyEnv"] = "OPENAI_API_KEY"
        return config, f"the openai backend ({model} at {base_url}, from OPENAI_BASE_URL)"
    if api_key:
        return (
            {"kind": "openai", "preset": "openai", "model": model},
            f"the openai backend ({model}, key from OPENAI_API_KEY)",
        )
    return None, "the echo agent (set OPENAI_API_KEY or OPENAI_BASE_URL for a real model)"


def demo_picture() -> bytes:
    """A real PNG (a QR code of the project's name), made here: the demo ships no image files."""
    import io

    import segno

    buffer = io.BytesIO()
    segno.make("openclaw-convos: a picture over Convos", error="h").save(buffer, kind="png", scale=12)
    return buffer.getvalue()


def hermetic_environ(state_dir: Path, base: Mapping[str, str]) -> dict[str, str]:
    """The process environment without OpenClaw's path overrides, pointed at ``state_dir``."""
    environ = {k: v for k, v in base.items() if not k.startswith(_HERMETIC_PREFIXES)}
    environ["OPENCLAW_STATE_DIR"] = str(state_dir)
    environ["OPENCLAW_CONFIG_PATH"] = str(state_dir / "openclaw.json")
    return environ


class Transcript:
    """Numbered steps with their duration, and the conversation lines seen during each."""

    def __init__(self, console: Console, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.console = console
        self.clock = clock
        self.started = clock()
        self.number = 0
        self._lines: list[str] = []
        self.durations: list[tuple[str, float]] = []

    def line(self, text: str) -> None:
        self._lines.append(text)

    def chat(self, who: str, text: str, note: str | None = None) -> None:
        body = text.splitlines() or [""]
        suffix = f"   ({note})" if note else ""
        self.line(f"      {who} {SAYS} {body[0]}{suffix if len(body) == 1 else ''}")
        pad = " " * (len(who) + 9)
        for index, extra in enumerate(body[1:], start=1):
            self.line(f"{pad}{extra}{suffix if index == len(body) - 1 else ''}".rstrip())

    @contextlib.asynccontextmanager
    async def step(self, title: str) -> AsyncIterator[None]:
        self.number += 1
        number = self.number
        self._lines = []
        start = self.clock()
        try:
            yield
        except (ConvosError, TimeoutError, AssertionError, LookupError) as exc:
            elapsed = (self.clock() - start) * 1000
            self._print(number, title, f"FAILED after {elapsed:.0f} ms")
            detail = str(exc) or type(exc).__name__
            raise DemoFailed(f"demo failed at step {number} ({title}): {detail}") from exc
        elapsed = (self.clock() - start) * 1000
        self.durations.append((title, elapsed))
        self._print(number, title, f"{elapsed:.0f} ms")

    def _print(self, number: int, title: str, result: str) -> None:
        head = f"{number:>3}. {title} "
        self.console.say(head + "." * max(2, 74 - len(head) - len(result)) + " " + result)
        for text in self._lines:
            self.console.say(text)
        self._lines = []

    @property
    def total_ms(self) -> float:
        return (self.clock() - self.started) * 1000


def _from(sender: str, conversation_id: str) -> Callable[[Seen], bool]:
    """A text or reply from ``sender`` in ``conversation_id``."""

    def matches(seen: Seen) -> bool:
        return (
            seen.sender_inbox_id == sender
            and seen.conversation_id == conversation_id
            and seen.kind in ("text", "reply")
        )

    return matches


async def _wait(
    user: SimulatedUser, predicate: Callable[[Seen], bool], *, after: int, timeout: float, what: str
) -> Seen:
    try:
        return await user.wait_for(predicate, timeout=timeout, after=after)
    except TimeoutError:
        raise TimeoutError(f"{user.name} did not see {what} within {timeout:g}s") from None


async def run_demo(console: Console, *, keep: bool = False, environ: Mapping[str, str] | None = None) -> int:
    from ..convos.links import invite_url
    from ..devnode import Devnode
    from ..gateway.config import load_config
    from ..gateway.runtime import APOLOGY, Gateway
    from ..gateway.service import configure_with_invite, create_owned_conversation, open_gateway
    from ..joinflow.joiner import JoinStatus
    from ..media import MediaConfig
    from ..media.localstore import LocalObjectStore, find_rclone
    from ..media.service import MediaService
    from ..simuser import SimulatedUser
    from ..xmtp import BackendPool, Endpoint
    from ..xmtp import attachments as xa

    base_env = os.environ if environ is None else environ
    agent_config, agent_label = demo_agent(base_env)
    real_agent = agent_config is not None
    reply_timeout = 90.0 if real_agent else 15.0
    timeout = 20.0
    root = Path(tempfile.mkdtemp(prefix="openclaw-convos-demo-"))
    state_dir = root / "state"
    env = hermetic_environ(state_dir, base_env)
    t = Transcript(console)
    console.say("openclaw-convos demo: everything runs on this machine, offline. A local XMTP node,")
    console.say(f"the gateway with {agent_label},")
    console.say("and two simulated Convos app users: Alice (who owns the agent) and Bob (a stranger).")
    console.say("Every message is end-to-end encrypted (MLS), exactly as with the real app and network.")
    console.say()
    users: list[SimulatedUser] = []
    gateway: Gateway | None = None

    async def stop_everyone() -> None:
        if gateway is not None:
            with contextlib.suppress(Exception):
                await gateway.stop()
        for user in users:
            with contextlib.suppress(Exception):
                await user.stop()

    try:
        async with contextlib.AsyncExitStack() as stack:
            async with t.step("Start a local XMTP node"):
                node = await stack.enter_async_context(Devnode(port=0, host="127.0.0.1"))
                stack.push_async_callback(stop_everyone)  # before the node stops
                pool = BackendPool(Endpoint(node.url))
                t.line(f"      {node.url} (in memory)")
                store: LocalObjectStore | None = None
                if find_rclone() is not None:
                    store = await stack.enter_async_context(LocalObjectStore(root / "objects"))
                    env.update(store.environ())  # convos-cli's variables: the gateway reads the same
                    t.line(f"      and an S3-compatible store for attachments at {store.endpoint}")

            async with t.step("Alice creates a conversation in her Convos app and copies its invite"):
                alice = await SimulatedUser.create("Alice", pool, root / "phones")
                users.append(alice)
                await alice.start()
                room = await alice.create_conversation("Alice & OpenClaw", emoji="🦞")
                url = invite_url(alice.invite(room), "dev")
                t.line(f"      “Alice & OpenClaw” 🦞  invite {url[:56]}…")

            async with t.step("openclaw-convos configure --invite <link>: the gateway joins"):
                state_dir.mkdir(parents=True, mode=0o700)
                section: dict[str, Any] = {"env": "local", "apiUrl": node.url}
                if agent_config is not None:
                    section["agent"] = agent_config
                (state_dir / "openclaw.json").write_text(
                    json.dumps({"channels": {"convos": section}}, indent=2) + "\n", encoding="utf-8"
                )
                loaded = load_config(environ=env, home=root, cwd=root)
                result = await configure_with_invite(loaded, url, timeout=timeout, profile_name=AGENT_NAME)
                if result.join.status is not JoinStatus.JOINED:
                    raise AssertionError(result.join.message)
                assert result.join.conversation_id == room.id, "joined another conversation"
                t.line(f"      {result.join.message}")
                t.line("      (Alice's app approved the join request; this is now the owner channel)")

            async with t.step(
                f"openclaw-convos run: the gateway starts ({'openai' if real_agent else 'echo'})"
            ):
                loaded = load_config(environ=env, home=root, cwd=root)
                gateway = open_gateway(loaded)
                await gateway.start()
                agent_inbox = gateway.hosts[result.identity.id].client.inbox_id
                t.line(f"      serving {len(gateway.hosts)} conversation(s), agent {gateway.agent.name}")

            async with t.step("Alice talks to the agent in the owner conversation"):
                text = "Hi! Are you there?" if not real_agent else "Hi! In one short sentence: who are you?"
                mark = len(alice.seen)
                sent = t.clock()
                await alice.say(room.id, text)
                t.chat("Alice", text)
                answer = await _wait(
                    alice,
                    _from(agent_inbox, room.id),
                    after=mark,
                    timeout=reply_timeout,
                    what="an answer",
                )
                t.chat(AGENT_NAME, answer.text, f"{(t.clock() - sent) * 1000:.0f} ms")
                if answer.text == APOLOGY:
                    raise AssertionError(
                        "the agent backend failed (the gateway apologised); check its settings"
                    )

            if store is not None:
                async with t.step("Alice sends a picture with a caption"):
                    picture = xa.InlineAttachment("lobster.png", "image/png", demo_picture())
                    caption = "Here is my lobster!" if not real_agent else "What is in this picture?"
                    media = MediaService.from_config(MediaConfig(), environ=env, env="local")
                    stack.push_async_callback(media.aclose)
                    assert media.uploader is not None
                    mark = len(alice.seen)
                    sent = t.clock()
                    await alice.send_file(room.id, picture, media.uploader.upload)
                    await alice.say(room.id, caption)
                    t.chat("Alice", f"[picture lobster.png, {picture.size:,} bytes] {caption}")
                    first = await _wait(
                        alice,
                        lambda s: (
                            _from(agent_inbox, room.id)(s)
                            or (s.sender_inbox_id == agent_inbox and s.kind == "attachment")
                        ),
                        after=mark,
                        timeout=reply_timeout,
                        what="an answer",
                    )
                    if first.attachment is not None:
                        (got,) = await media.receive(first.attachment)
                        same = "the same bytes" if got.content == picture.content else "DIFFERENT bytes"
                        t.chat(
                            AGENT_NAME,
                            f"[picture {got.filename}, {got.size:,} bytes: {same}, freshly encrypted and uploaded]",
                            f"{(t.clock() - sent) * 1000:.0f} ms",
                        )
                        if got.content != picture.content:
                            raise AssertionError("the echoed picture differs from Alice's")
                        mark = alice.seen.index(first) + 1
                        first = await _wait(
                            alice,
                            _from(agent_inbox, room.id),
                            after=mark,
                            timeout=timeout,
                            what="the caption",
                        )
                    t.chat(AGENT_NAME, first.text, f"{(t.clock() - sent) * 1000:.0f} ms")

            async with t.step("The gateway creates a conversation and an invite (invite create)"):
                created = await create_owned_conversation(
                    loaded, name="Open room", emoji="👋", gateway=gateway
                )
                t.line(f"      “Open room” 👋  {created.url[:56]}…")

            async with t.step("Bob, a stranger, joins it with the invite"):
                bob = await SimulatedUser.create("Bob", pool, root / "phones")
                users.append(bob)
                await bob.start()
                joined = await bob.join(created.url, timeout=timeout)
                if joined.status is not JoinStatus.JOINED:
                    raise AssertionError(joined.message)
                t.line("      the gateway checked Bob's request like the Convos app does, and added him")
                open_room = created.conversation_id
                bob_agent = gateway.hosts[created.identity.id].client.inbox_id

            async with t.step("Bob writes; the gateway answers with a pairing code only"):
                mark = len(bob.seen)
                await bob.say(open_room, "Hello! Can I talk to your agent?")
                t.chat("Bob", "Hello! Can I talk to your agent?")
                pairing = await _wait(
                    bob,
                    lambda s: _from(bob_agent, open_room)(s) and "Pairing code:" in s.text,
                    after=mark,
                    timeout=timeout,
                    what="a pairing code",
                )
                t.chat(AGENT_NAME, pairing.text)
                code = pairing.text.split("Pairing code:", 1)[1].split()[0]

            async with t.step("Alice is asked in the owner conversation"):
                notice = await _wait(
                    alice,
                    lambda s: (
                        s.sender_inbox_id == agent_inbox and code in s.text and s.conversation_id == room.id
                    ),
                    after=0,
                    timeout=timeout,
                    what="the pairing request",
                )
                t.chat(AGENT_NAME, notice.text)

            async with t.step("Alice approves Bob"):
                mark = len(alice.seen)
                await alice.say(room.id, f"approve {code}")
                t.chat("Alice", f"approve {code}")
                approved = await _wait(
                    alice,
                    lambda s: s.sender_inbox_id == agent_inbox and s.text.startswith("Approved"),
                    after=mark,
                    timeout=timeout,
                    what="the approval",
                )
                t.chat(AGENT_NAME, approved.text)

            async with t.step("Bob is told"):
                told = await _wait(
                    bob,
                    lambda s: _from(bob_agent, open_room)(s) and "paired" in s.text,
                    after=0,
                    timeout=timeout,
                    what="the approval notice",
                )
                t.chat(AGENT_NAME, told.text)

            async with t.step("Bob talks to the agent"):
                question = (
                    "Great, thanks! What can you do?" if not real_agent else "Say hello to me in five words."
                )
                mark = len(bob.seen)
                sent = t.clock()
                await bob.say(open_room, question)
                t.chat("Bob", question)
                answer = await _wait(
                    bob,
                    _from(bob_agent, open_room),
                    after=mark,
                    timeout=reply_timeout,
                    what="an answer",
                )
                t.chat(AGENT_NAME, answer.text, f"{(t.clock() - sent) * 1000:.0f} ms")
                if answer.text == APOLOGY:
                    raise AssertionError("the agent backend failed (the gateway apologised)")
                earlier = [x for x in bob.texts_from(bob_agent, open_room) if "Can I talk" in x]
                assert not earlier, "Bob's first message was answered before he was approved"
                await gateway.idle(timeout=timeout)
                if gateway.turns_failed:
                    raise AssertionError(f"{gateway.turns_failed} agent turn(s) failed")
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    console.say()
    console.say(
        f"Demo finished in {t.total_ms / 1000:.1f} s: the gateway joined Alice's conversation from an "
        "invite, paired a stranger through her approval, and answered both."
    )
    if keep:
        console.say(f"State kept in {state_dir} (config, key files, databases; the node was in memory).")
    console.say("Next: `openclaw-convos configure` with an invite from the Convos app (see README.md).")
    return EXIT_OK


async def cmd_demo(args: argparse.Namespace) -> int:
    return await run_demo(Console(), keep=args.keep)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "demo",
        parents=[common],
        help="the whole flow offline: local node, simulated Convos users, gateway (about 10 s)",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary state folder for a look")
    p.set_defaults(handler=cmd_demo)
