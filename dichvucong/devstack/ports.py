"""Is a TCP port free to listen on? Checked before anything starts."""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class PortNeed:
    """A port the stack will listen on, and the setting that moves it."""

    host: str
    port: int
    what: str
    env_var: str


def split_host_port(address: str) -> tuple[str, int]:
    """``"127.0.0.1:7233"`` / ``"[::1]:7233"`` / ``"localhost:7233"`` -> (host, port)."""
    host, sep, port_s = address.rpartition(":")
    if not sep or not host or not port_s.isdigit():
        raise ValueError(f"address {address!r} is not host:port")
    return host.strip("[]"), int(port_s)


def connect_host(host: str) -> str:
    """The address a client on this machine uses to reach a server bound to ``host``."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def port_problem(host: str, port: int) -> str | None:
    """None when ``host:port`` can be listened on; otherwise ``"in-use"`` or an OS reason.

    SO_REUSEADDR is set like uvicorn and the Temporal server do, so connections
    in TIME_WAIT from a previous run do not count, while a listening socket does.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot resolve {host!r}: {exc.strerror}"
    reasons: list[str] = []
    for family, type_, proto, _, sockaddr in infos:
        with socket.socket(family, type_, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(sockaddr)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return "in-use"
                reasons.append(exc.strerror or str(exc))
            else:
                return None
    return reasons[0] if reasons else f"no address for {host!r}"


def first_port_problem(needs: list[PortNeed]) -> str | None:
    """One line describing the first port that cannot be used, or None when all are free."""
    seen: dict[int, PortNeed] = {}
    for need in needs:
        if need.port in seen:
            other = seen[need.port]
            return (
                f"cổng {need.port} được đặt cho cả {other.what} và {need.what} "
                f"(port {need.port} is configured twice) — change {other.env_var} or {need.env_var}"
            )
        seen[need.port] = need
    for need in needs:
        problem = port_problem(need.host, need.port)
        if problem == "in-use":
            return (
                f"cổng {need.port} đang được dùng (port {need.port} for {need.what} is already "
                f"in use) — stop the other program or set {need.env_var}"
            )
        if problem is not None:
            return (
                f"không mở được cổng {need.host}:{need.port} (cannot listen on "
                f"{need.host}:{need.port} for {need.what}: {problem}) — check {need.env_var}"
            )
    return None
