"""The :class:`Devnode`: a loopback XMTP v3 node running on its own thread and event loop.

The grpc aio server, the SQLite store and all RPC handling live on a dedicated thread with its own
asyncio loop, so the node keeps serving while the caller's loop is busy (libxmtp's native calls run
on the caller's loop thread). ``start``/``stop`` are awaitable from any loop without blocking it.

The node listens on the requested loopback host and, best effort, on the other loopback family
(``127.0.0.1`` and ``::1``); it refuses any non-loopback host.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ipaddress
import logging
import threading
from collections.abc import Callable
from types import TracebackType

import grpc.aio

from openclaw_convos.errors import DevnodeError

from .server import build_server
from .service import CUTOVER_CHECK_INTERVAL_S, NodeService
from .store import Store

logger = logging.getLogger("openclaw_convos.devnode")

DEFAULT_PORT = 5556
DEFAULT_HOST = "127.0.0.1"
STOP_GRACE_S = 1.0


def _loopback_hosts(host: str) -> tuple[str, str | None]:
    """The required bind address and the best-effort one of the other loopback family."""
    if host == "localhost":
        return "127.0.0.1", "::1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise DevnodeError(f"devnode host must be a loopback address, not {host!r}") from None
    if not address.is_loopback:
        raise DevnodeError(f"devnode host must be a loopback address, not {host!r}")
    if address.version == 4:
        return host, "::1"
    return host, "127.0.0.1"


def _bind_target(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _bind(server: grpc.aio.Server, host: str, port: int) -> int:
    """Bind one address; return the bound port or 0 on failure."""
    try:
        return server.add_insecure_port(_bind_target(host, port))
    except RuntimeError:
        return 0


class Devnode:
    """A loopback XMTP v3 node (grpcio + SQLite) for tests and local development.

    ``port`` 0 picks a free port; :attr:`port` reports the real one once started. ``db_path`` None
    keeps everything in memory; a file survives restarts. ``cutover_ns`` (Unix ns, 0 = off) emulates
    the d14n cutover; ``scw_signatures_valid`` is the verdict of VerifySmartContractWalletSignatures.
    Both may be changed while the node runs. ``ipv6_bound`` tells whether the ``::1`` listener is up.
    A stopped node can be started again; with ``port`` 0 it then picks a new free port.
    """

    def __init__(
        self,
        port: int = DEFAULT_PORT,
        db_path: str | None = None,
        host: str = DEFAULT_HOST,
        *,
        cutover_ns: int = 0,
        scw_signatures_valid: bool = True,
        cutover_check_interval_s: float = CUTOVER_CHECK_INTERVAL_S,
    ) -> None:
        if not 0 <= port <= 65535:
            raise DevnodeError(f"devnode port must be 0..65535, not {port}")
        self._primary, self._secondary = _loopback_hosts(host)
        self.host = host
        self.requested_port = port
        self.db_path = db_path
        self._cutover_ns = cutover_ns
        self._scw_signatures_valid = scw_signatures_valid
        self._cutover_check_interval_s = cutover_check_interval_s
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._service: NodeService | None = None
        self.ipv6_bound = False

    # -- properties ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the node listens on."""
        if self._port is None:
            raise DevnodeError("devnode is not running")
        return self._port

    @property
    def url(self) -> str:
        """``http://<host>:<port>``, the URL to hand to libxmtp (plaintext h2c)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        """True between a successful start and stop."""
        return self._port is not None

    @property
    def open_subscriptions(self) -> int:
        """Number of subscription streams currently open (0 when stopped)."""
        service = self._service
        return 0 if service is None else service.dispatcher.count

    @property
    def cutover_ns(self) -> int:
        """The emulated d14n cutover instant in Unix ns; 0 = off."""
        return self._cutover_ns

    @cutover_ns.setter
    def cutover_ns(self, value: int) -> None:
        self._cutover_ns = value
        if self._service is not None:
            self._service.cutover_ns = value

    @property
    def scw_signatures_valid(self) -> bool:
        """The verdict VerifySmartContractWalletSignatures returns for every signature."""
        return self._scw_signatures_valid

    @scw_signatures_valid.setter
    def scw_signatures_valid(self, value: bool) -> None:
        self._scw_signatures_valid = value
        if self._service is not None:
            self._service.scw_signatures_valid = value

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the node thread and wait (without blocking this loop) until it listens."""
        if self._thread is not None:
            raise DevnodeError("devnode is already running")
        ready: concurrent.futures.Future[int] = concurrent.futures.Future()
        thread = threading.Thread(
            target=self._thread_main, args=(ready,), name=f"devnode-{self.requested_port}", daemon=True
        )
        self._thread = thread
        thread.start()
        try:
            self._port = await asyncio.wrap_future(ready)
        except BaseException:
            await asyncio.to_thread(thread.join)
            self._thread = None
            raise
        logger.info("devnode listening on %s (db: %s)", self.url, self.db_path or "in memory")

    async def stop(self) -> None:
        """End open streams with ``UNAVAILABLE``, stop the server, close the database; idempotent."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None:
            return
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # loop already finished
                loop.call_soon_threadsafe(stopping.set)
        await asyncio.to_thread(thread.join)
        self._thread = self._loop = self._stopping = self._service = None
        self._port = None
        logger.info("devnode stopped")

    async def __aenter__(self) -> Devnode:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- node thread ---------------------------------------------------------------------------

    def _thread_main(self, ready: concurrent.futures.Future[int]) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve(ready))
        except BaseException as exc:  # never leave the starter waiting
            if not ready.done():
                ready.set_exception(exc)
            logger.exception("devnode thread failed")
        finally:
            loop.close()

    async def _serve(self, ready: concurrent.futures.Future[int]) -> None:
        try:
            store = Store(self.db_path)
        except DevnodeError as exc:
            ready.set_exception(exc)
            return
        service = NodeService(
            store,
            cutover_ns=self._cutover_ns,
            scw_signatures_valid=self._scw_signatures_valid,
            cutover_check_interval_s=self._cutover_check_interval_s,
        )
        server = build_server(service)
        try:
            port = _bind(server, self._primary, self.requested_port)
            if port == 0:
                raise DevnodeError(
                    f"devnode cannot listen on {_bind_target(self._primary, self.requested_port)}"
                    " (port in use?)"
                )
            if self._secondary is not None:
                bound = _bind(server, self._secondary, port)
                if bound == 0:
                    logger.debug("devnode: no listener on %s", _bind_target(self._secondary, port))
                self.ipv6_bound = bound != 0 and ":" in self._secondary
            await server.start()
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await server.stop(None)
            store.close()
            ready.set_exception(exc)
            return
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._service = service
        ready.set_result(port)
        try:
            await self._stopping.wait()
        finally:
            service.shutdown()
            await asyncio.sleep(0)  # let stream handlers send their final status
            await server.stop(STOP_GRACE_S)
            store.close()


async def run_devnode(
    port: int = DEFAULT_PORT,
    db_path: str | None = None,
    host: str = DEFAULT_HOST,
    ready: Callable[[int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run a devnode until ``stop`` is set (or the task is cancelled), then shut it down cleanly.

    ``ready`` is called once with the real port as soon as the node listens (the URL is then
    ``http://<host>:<port>``). Raises :class:`~openclaw_convos.errors.DevnodeError` when the node cannot start.
    """
    async with Devnode(port=port, db_path=db_path, host=host) as node:
        if ready is not None:
            ready(node.port)
        if stop is None:
            await asyncio.Event().wait()
        else:
            await stop.wait()
