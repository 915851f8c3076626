"""The command backend: a program gets the turn as one JSON object on stdin, answers on stdout.

Input: one line of JSON (see :func:`~openclaw_convos.agents.base.turn_to_json`), then stdin is
closed. Each attachment of the turn has a ``path``: its decrypted bytes in a private (0700)
folder under the state folder, removed when the turn ends. Output: plain text (the reply), or a
JSON object ``{"text": "...", "react": "...", "attachments": [...]}`` (all optional). Each
attachment is ``{"path": "...", "filename"?: "...", "mimeType"?: "..."}`` (read at once, so it
may live in the turn's folder) or ``{"url": "https://..."}`` (downloaded safely by the gateway).
Output that starts with ``{`` and ends with ``}`` must be valid JSON of that shape; empty
output means no reply. A non-zero exit status is an error.

The program runs in its own process group; on timeout or cancellation the whole group is killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..media.files import guess_mime_type, private_folder, sanitize_filename, write_private
from ..media.types import MediaFile, MediaRef
from .base import AgentBase, AgentReply, AgentTurn, turn_to_json
from .errors import AgentCommandFailed, AgentResponseError, AgentTimeout, AgentUnavailable

__all__ = ["CommandAgent", "parse_command_output"]

log = logging.getLogger(__name__)

_DETAIL_LIMIT = 300
_REAP_SECONDS = 5.0
_KEYS = ("text", "react", "attachments")


def _parse_attachments(value: object, *, max_bytes: int) -> tuple[MediaFile | MediaRef, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise AgentResponseError('the agent command\'s JSON field "attachments" must be a list')
    out: list[MediaFile | MediaRef] = []
    for item in value:
        if not isinstance(item, dict):
            raise AgentResponseError("each attachment must be an object with a path or a url")
        url, path = item.get("url"), item.get("path")
        if isinstance(url, str) and url.strip():
            out.append(MediaRef(url.strip()))
            continue
        if not isinstance(path, str) or not path.strip():
            raise AgentResponseError('each attachment needs "path" (a file) or "url" (https)')
        file = Path(path).expanduser()
        try:
            size = file.stat().st_size
            if size > max_bytes:
                raise AgentResponseError(
                    f"the attachment {file.name} is {size} bytes, above the limit {max_bytes}"
                )
            content = file.read_bytes()
        except OSError as exc:
            raise AgentResponseError(
                f"cannot read the attachment {file.name}: {exc.strerror or exc}"
            ) from exc
        name = item.get("filename") if isinstance(item.get("filename"), str) else file.name
        mime = item.get("mimeType") if isinstance(item.get("mimeType"), str) else guess_mime_type(str(name))
        out.append(MediaFile(filename=sanitize_filename(str(name)), mime_type=str(mime), content=content))
    return tuple(out)


def parse_command_output(output: str, *, max_bytes: int = 25 * 1024 * 1024) -> AgentReply:
    """Plain text, or ``{"text", "react", "attachments"}``; raises :class:`AgentResponseError`."""
    stripped = output.strip()
    if not stripped:
        return AgentReply()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return AgentReply(text=stripped)
    try:
        data = json.loads(stripped)
    except ValueError as exc:
        raise AgentResponseError(
            f"the agent command printed invalid JSON ({exc}); print plain text, "
            'or one object like {"text": "...", "react": "..."}'
        ) from exc
    if not isinstance(data, dict):  # pragma: no cover - "{...}" always decodes to an object
        raise AgentResponseError("the agent command's JSON output must be an object")
    values: dict[str, str | None] = {}
    attachments = _parse_attachments(data.get("attachments"), max_bytes=max_bytes)
    for key in ("text", "react"):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise AgentResponseError(
                f'the agent command\'s JSON field "{key}" must be a string or null, '
                f"not {type(value).__name__}"
            )
        values[key] = value if value and value.strip() else None
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        log.debug("agent command output: ignoring unknown fields %s", unknown)
    react = values["react"].strip() if values["react"] else None
    return AgentReply(text=values["text"], react=react, attachments=attachments)


class CommandAgent(AgentBase):
    """Runs ``argv`` once per turn (see the module docstring)."""

    name = "command"

    def __init__(
        self,
        argv: Sequence[str],
        *,
        timeout_seconds: float = 60.0,
        system_prompt: str | None = None,
        env: Mapping[str, str] | None = None,
        work_dir: Path | None = None,
        max_bytes: int = 25 * 1024 * 1024,
    ) -> None:
        if not argv:
            raise ValueError("the command backend needs a program to run")
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        self._argv = (os.path.expanduser(argv[0]), *argv[1:])
        self._timeout = timeout_seconds
        self._system_prompt = system_prompt
        self._env = dict(env) if env is not None else None
        self._work_dir = work_dir
        self._max_bytes = max_bytes

    def __repr__(self) -> str:
        return f"CommandAgent(program={Path(self._argv[0]).name!r}, timeout_seconds={self._timeout})"

    @property
    def _program(self) -> str:
        return Path(self._argv[0]).name

    async def respond(self, turn: AgentTurn) -> AgentReply:
        files = [f for f in turn.attachments if f.content]
        if not files or self._work_dir is None:
            return await self._run(turn, ())
        with private_folder(self._work_dir) as folder:
            paths = tuple(
                str(write_private(folder, f"{i}-{f.filename}", f.content)) if f.content else None
                for i, f in enumerate(turn.attachments)
            )
            return await self._run(turn, paths)

    async def _run(self, turn: AgentTurn, paths: tuple[str | None, ...]) -> AgentReply:
        payload = json.dumps(
            turn_to_json(turn, system_prompt=self._system_prompt, paths=paths), ensure_ascii=False
        )
        try:
            proc = await asyncio.create_subprocess_exec(
                *self._argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                env=self._env,
            )
        except FileNotFoundError as exc:
            raise AgentUnavailable(
                f"agent command {self._argv[0]!r} not found; check channels.convos.agent.command"
            ) from exc
        except PermissionError as exc:
            raise AgentUnavailable(f"agent command {self._argv[0]!r} is not executable") from exc
        except OSError as exc:
            raise AgentUnavailable(
                f"cannot start agent command {self._argv[0]!r}: {exc.strerror or exc}"
            ) from exc
        try:
            async with asyncio.timeout(self._timeout):
                stdout, stderr = await proc.communicate((payload + "\n").encode("utf-8"))
        except TimeoutError:
            raise AgentTimeout(
                f"agent command {self._program} did not answer within {self._timeout:g} s and was killed; "
                "raise channels.convos.agent.timeoutSeconds or make it faster"
            ) from None
        finally:
            if proc.returncode is None:
                await self._kill(proc)
        if stderr:
            log.debug("agent command %s stderr: %s", self._program, stderr.decode("utf-8", "replace"))
        returncode = proc.returncode
        assert returncode is not None  # communicate() waited for the exit
        if returncode != 0:
            raise AgentCommandFailed(self._failure_message(returncode, stderr), returncode=returncode)
        try:
            text = stdout.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AgentResponseError(
                f"agent command {self._program} printed output that is not UTF-8"
            ) from exc
        return parse_command_output(text, max_bytes=self._max_bytes)

    def _failure_message(self, returncode: int, stderr: bytes) -> str:
        if returncode < 0:
            with contextlib.suppress(ValueError):
                return f"agent command {self._program} was killed by {signal.Signals(-returncode).name}"
            return f"agent command {self._program} was killed by signal {-returncode}"
        message = f"agent command {self._program} exited with status {returncode}"
        lines = stderr.decode("utf-8", "replace").strip().splitlines()
        if lines:
            message += f": {lines[-1].strip()[:_DETAIL_LIMIT]}"
        return message

    async def _kill(self, proc: asyncio.subprocess.Process) -> None:
        killpg = getattr(os, "killpg", None)  # POSIX: the whole process group; Windows: the process
        try:
            if killpg is None:  # pragma: no cover - Windows
                raise OSError("no process groups")
            killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        except OSError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        try:
            await asyncio.wait_for(proc.wait(), _REAP_SECONDS)
        except TimeoutError:
            log.warning("agent command %s (pid %d) did not exit after SIGKILL", self._program, proc.pid)
