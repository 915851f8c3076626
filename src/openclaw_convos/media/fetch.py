"""Downloading an attachment's payload from a URL a peer chose, safely by construction.

A remote attachment's URL comes from whoever sent the message, so every download:

- is ``https``; plain ``http`` only to a loopback address, and only when ``allow_loopback`` is
  set (the gateway sets it for ``env: "local"`` only);
- resolves the host first and refuses if *any* address is not a public unicast address (no
  private, loopback, link-local, multicast, reserved or shared ranges: no SSRF into the
  operator's network), then connects to exactly the address it checked (TLS still verifies
  the certificate for the host name), so a second DNS answer cannot redirect it;
- never follows a redirect to another host or scheme (same-host redirects: at most 3);
- is refused up front when the message's or the server's stated length is above the cap, and
  aborted as soon as the body passes it (``max_bytes``, default 25 MB);
- is bounded in time as a whole (``timeout``);
- ignores proxy settings of the environment (they would bypass the address check).

Only metadata is logged (host, size), never the URL's path or the bytes.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from .errors import DownloadFailed, DownloadRefused

__all__ = ["Resolver", "SafeDownloader", "address_allowed"]

log = logging.getLogger(__name__)

Resolver = Callable[[str, int], Awaitable[list[str]]]
_MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def address_allowed(address: str, *, allow_loopback: bool) -> bool:
    """True for a public unicast address (or loopback when allowed)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return allow_loopback
    return bool(ip.is_global) and not ip.is_multicast


async def _system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class SafeDownloader:
    """Fetches payloads under the rules of the module docstring."""

    def __init__(
        self,
        *,
        max_bytes: int,
        timeout: float,
        allow_loopback: bool = False,
        resolver: Resolver | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self._timeout = timeout
        self._allow_loopback = allow_loopback
        self._resolve = resolver or _system_resolver
        self._client = httpx.AsyncClient(
            follow_redirects=False, trust_env=False, timeout=httpx.Timeout(timeout)
        )

    def __repr__(self) -> str:
        return f"SafeDownloader(max_bytes={self.max_bytes}, timeout={self._timeout:g}, allow_loopback={self._allow_loopback})"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str, *, expected_length: int | None = None) -> bytes:
        """The body at ``url``; raises :class:`DownloadRefused` or :class:`DownloadFailed`."""
        if expected_length is not None and expected_length > self.max_bytes:
            raise DownloadRefused(
                f"the attachment is {expected_length} bytes, above the limit of {self.max_bytes} "
                "(channels.convos.media.maxBytes); not downloaded"
            )
        try:
            async with asyncio.timeout(self._timeout):
                return await self._fetch(url)
        except TimeoutError:
            raise DownloadFailed(
                f"the download did not finish within {self._timeout:g} s "
                "(channels.convos.media.downloadTimeoutSeconds)"
            ) from None

    async def _check(self, url: str) -> tuple[httpx.URL, str, str]:
        """(URL to connect to, host name, checked address)."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        if not host:
            raise DownloadRefused("the attachment URL has no host")
        if parts.username or parts.password:
            raise DownloadRefused("the attachment URL carries credentials; refused")
        if scheme not in ("https", "http"):
            raise DownloadRefused(f"the attachment URL scheme {scheme or '(none)'!r} is not https; refused")
        port = parts.port or (443 if scheme == "https" else 80)
        try:
            addresses = [host] if _is_ip(host) else await self._resolve(host, port)
        except OSError as exc:
            raise DownloadFailed(f"cannot resolve the attachment host {host}: {exc.strerror or exc}") from exc
        if not addresses:
            raise DownloadFailed(f"the attachment host {host} has no address")
        for address in addresses:
            if not address_allowed(address, allow_loopback=self._allow_loopback):
                raise DownloadRefused(
                    f"the attachment host {host} resolves to {address}, which is not a public address; "
                    "refused (no downloads from private, loopback or link-local networks)"
                )
        if scheme == "http" and not all(ipaddress.ip_address(a).is_loopback for a in addresses):
            raise DownloadRefused("the attachment URL is plain http; only https is allowed")
        address = addresses[0]
        literal = f"[{address}]" if ":" in address else address
        netloc = f"{literal}:{parts.port}" if parts.port else literal
        target = httpx.URL(urlunsplit((scheme, netloc, parts.path or "/", parts.query, "")))
        return target, host, address

    async def _fetch(self, url: str) -> bytes:
        original_host = (urlsplit(url).hostname or "").lower()
        original_scheme = urlsplit(url).scheme.lower()
        for _ in range(_MAX_REDIRECTS + 1):
            target, host, _address = await self._check(url)
            headers = {"Host": urlsplit(url).netloc.rsplit("@", 1)[-1], "Accept-Encoding": "identity"}
            extensions = {"sni_hostname": host} if target.scheme == "https" else {}
            request = self._client.build_request("GET", target, headers=headers, extensions=extensions)
            try:
                response = await self._client.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise DownloadFailed(
                    f"cannot download the attachment from {host}: {type(exc).__name__}"
                ) from exc
            try:
                if response.status_code in _REDIRECTS:
                    location = response.headers.get("location", "")
                    nxt = urljoin(url, location)
                    parts = urlsplit(nxt)
                    if (
                        parts.hostname or ""
                    ).lower() != original_host or parts.scheme.lower() != original_scheme:
                        raise DownloadRefused(
                            f"the attachment server {host} redirected to another host; refused"
                        )
                    url = nxt
                    continue
                if response.status_code != 200:
                    raise DownloadFailed(f"the attachment server {host} answered HTTP {response.status_code}")
                stated = response.headers.get("content-length")
                if stated is not None and stated.isdigit() and int(stated) > self.max_bytes:
                    raise DownloadRefused(
                        f"the attachment is {stated} bytes, above the limit of {self.max_bytes}; not downloaded"
                    )
                chunks: list[bytes] = []
                received = 0
                async for chunk in response.aiter_raw():
                    chunks.append(chunk)
                    received += len(chunk)
                    if received > self.max_bytes:
                        raise DownloadRefused(
                            f"the attachment passed the limit of {self.max_bytes} bytes while downloading; aborted"
                        )
                log.debug("downloaded %d bytes from %s", received, host)
                return b"".join(chunks)
            except httpx.HTTPError as exc:
                raise DownloadFailed(f"the download from {host} broke off: {type(exc).__name__}") from exc
            finally:
                await response.aclose()
        raise DownloadRefused(f"more than {_MAX_REDIRECTS} redirects; refused")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
