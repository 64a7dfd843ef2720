"""One SSH connection per host (paramiko), reused for every command and the Docker API.

Host keys are always verified: a pinned key is enforced; without one, the first key seen is
recorded by the caller and enforced from then on. Nothing here reads the user's ~/.ssh.
"""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass, field
from types import TracebackType

import paramiko

from pulumi_pyrke.deadline import Deadline, Retry, wait_until
from pulumi_pyrke.engine.ports import CommandResult
from pulumi_pyrke.errors import (
    ConfigError,
    DeadlineExceeded,
    HostKeyMismatch,
    Problem,
    SSHAuthError,
    SSHError,
)
from pulumi_pyrke.model.secret import Secret
from pulumi_pyrke.transport.keys import HostKey, load_private_key, parse_host_key

log = logging.getLogger("pulumi_pyrke.transport")

# One attempt may not hang longer than this, so a booting machine is retried often enough.
ATTEMPT_TIMEOUT = 15.0
# stdin goes out in slices of this size (paramiko packs each into 32 KiB SSH packets)
STDIN_CHUNK = 2**20

__all__ = ["CommandResult", "SSHSession", "SSHTarget", "connect"]


@dataclass(frozen=True, kw_only=True, slots=True)
class SSHTarget:
    """Where and as whom to connect. Secret fields stay wrapped until paramiko needs them."""

    address: str
    port: int = 22
    user: str = "root"
    private_key: Secret | None = None
    key_path: str | None = None
    passphrase: Secret | None = None
    use_agent: bool = False
    certificate: str | None = None
    host_key: str | None = None
    bastion: SSHTarget | None = None

    @property
    def label(self) -> str:
        """``user@address:port``, for messages."""
        return f"{self.user}@{self.address}:{self.port}"

    def credentials(self) -> str:
        """Which credentials are offered, for messages (never the key itself)."""
        offered = []
        if self.private_key is not None:
            offered.append("the key in ssh_private_key")
        if self.key_path is not None:
            offered.append(f"the key file {self.key_path}")
        if self.certificate:
            offered.append("with its certificate in ssh_cert")
        if self.use_agent:
            offered.append("the keys of the SSH agent")
        return ", ".join(offered) or "no credentials"


@dataclass(kw_only=True)
class SSHSession:
    """An open connection to one host (through its bastion, if any). Close it when done."""

    target: SSHTarget
    client: paramiko.SSHClient
    host_key: HostKey
    connections: int
    jump: SSHSession | None = None
    _closed: bool = field(default=False, repr=False)

    @property
    def transport(self) -> paramiko.Transport:
        transport = self.client.get_transport()
        if transport is None or not transport.is_active():
            raise SSHError(
                f"[ssh] connection to {self.target.label} was closed; run the operation again"
            )
        return transport

    def open_command(self, command: str, *, timeout: float) -> paramiko.Channel:
        """Start ``command`` on a new channel of this connection and return the channel."""
        channel: paramiko.Channel | None = None
        try:
            channel = self.transport.open_session(timeout=timeout)
            channel.settimeout(timeout)
            channel.exec_command(command)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            if channel is not None:
                channel.close()
            raise SSHError(
                f"[ssh] host {self.target.address}: cannot start a command over SSH: {exc}. "
                "Check that sshd allows sessions (MaxSessions) and that the host is up."
            ) from exc
        return channel

    def run(
        self, command: str, *, stdin: bytes | None = None, timeout: float = 120.0
    ) -> CommandResult:
        """Run ``command`` and wait for it; the result holds its output and exit code."""
        code, stdout, stderr = self.exec(command, stdin=stdin, timeout=timeout)
        return CommandResult(
            command=command,
            exit_code=code,
            stdout=stdout.decode(errors="replace"),
            stderr=stderr.decode(errors="replace"),
        )

    def exec(
        self, command: str, *, stdin: bytes | None = None, timeout: float = 120.0
    ) -> tuple[int, bytes, bytes]:
        """Run ``command`` with ``stdin`` (then end of input); its exit code, stdout and stderr.

        stdin is sent and stderr read on their own threads while stdout is read here, so a
        command that writes much while it reads (or to both streams) cannot stall on a full
        SSH window. ``timeout`` bounds every wait for the host to send or accept data."""
        channel = self.open_command(command, timeout=timeout)
        failures: list[BaseException] = []
        stderr: list[bytes] = []

        def read_stderr() -> None:
            try:
                stderr.append(channel.makefile_stderr("rb").read())
            except BaseException as exc:  # handed to the caller's thread below
                failures.append(exc)

        def feed() -> None:
            try:
                data = stdin or b""
                for offset in range(0, len(data), STDIN_CHUNK):
                    channel.sendall(data[offset : offset + STDIN_CHUNK])
                channel.shutdown_write()
            except BaseException as exc:
                failures.append(exc)

        helpers = [threading.Thread(target=read_stderr, daemon=True)]
        if stdin:
            helpers.append(threading.Thread(target=feed, daemon=True))
        else:
            channel.shutdown_write()  # end of input at once: nothing waits for a keyboard
        try:
            for helper in helpers:
                helper.start()
            stdout = channel.makefile("rb").read()
            for helper in helpers:
                helper.join(timeout)
            if failures:
                raise failures[0]
            if any(h.is_alive() for h in helpers) or not channel.status_event.wait(timeout):
                raise TimeoutError
            code = channel.recv_exit_status()
        except (TimeoutError, OSError, EOFError, paramiko.SSHException) as exc:
            if isinstance(exc, TimeoutError):
                why = f"did not finish in {timeout:g}s"
            else:
                why = f"was cut off ({type(exc).__name__}: {exc})"
            raise SSHError(
                f"[ssh] host {self.target.address}: command {why}: {command.splitlines()[0][:80]}"
            ) from exc
        finally:
            channel.close()
        return code, stdout, stderr[0] if stderr else b""

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.client.close()
        if self.jump is not None:
            self.jump.close()

    def __enter__(self) -> SSHSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _RecordFirstKey(paramiko.MissingHostKeyPolicy):
    """Trust on first use: accept an unknown key; the caller records and pins it."""

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        log.info(
            "[ssh] %s: first contact, recording host key %s",
            hostname,
            HostKey.from_pkey(key).fingerprint(),
        )


def connect(target: SSHTarget, *, deadline: Deadline) -> SSHSession:
    """Open one SSH connection to ``target``, retrying until ``deadline`` while it is unreachable.

    Refused, timed-out and half-open connections are retried (a machine that is still booting).
    A refused login (``SSHAuthError``) and a changed host key (``HostKeyMismatch``) are final.
    """
    key = _load_key(target)
    jump_key = _load_key(target.bastion, field_prefix="bastion.") if target.bastion else None

    def attempt() -> SSHSession:
        try:
            return _connect_once(target, key, jump_key, deadline)
        except (OSError, EOFError, paramiko.SSHException, paramiko.ChannelException) as exc:
            raise Retry(_describe(exc)) from exc

    def progress(attempt_no: int, retry: Retry) -> None:
        log.info(
            "[ssh] waiting for %s (attempt %d, %.0fs left): %s",
            target.label,
            attempt_no,
            deadline.remaining(),
            retry.cause,
        )

    try:
        return wait_until(
            attempt,
            deadline,
            what=f"[ssh] host {target.address}: SSH on port {target.port} did not answer",
            hint=(
                f"Check the address and that sshd runs and port {target.port} is open"
                + (f" from the bastion {target.bastion.address}" if target.bastion else "")
                + "; raise ready_timeout if the machine takes longer to boot."
            ),
            on_retry=progress,
        )
    except DeadlineExceeded as exc:
        raise SSHError(str(exc)) from exc.__cause__


def _load_key(target: SSHTarget, field_prefix: str = "") -> paramiko.PKey | None:
    if target.private_key is None and target.key_path is None:
        if not target.use_agent:
            raise ConfigError(
                [
                    Problem(
                        path=f"{field_prefix}ssh_private_key",
                        message="no way to log in: give ssh_private_key, ssh_key_path or ssh_agent_auth",
                    )
                ]
            )
        return None
    return load_private_key(
        text=target.private_key,
        path=target.key_path if target.private_key is None else None,
        passphrase=target.passphrase,
        certificate=target.certificate,
        field_prefix=field_prefix,
    )


def _connect_once(
    target: SSHTarget,
    key: paramiko.PKey | None,
    jump_key: paramiko.PKey | None,
    deadline: Deadline,
) -> SSHSession:
    jump: SSHSession | None = None
    sock: paramiko.Channel | None = None
    if target.bastion is not None:
        jump = _login(target.bastion, jump_key, None, deadline, field_prefix="bastion.")
        try:
            sock = jump.transport.open_channel(
                "direct-tcpip",
                (target.address, target.port),
                ("127.0.0.1", 0),
                timeout=_stage_timeout(deadline),
            )
        except BaseException:
            jump.close()
            raise
    try:
        session = _login(target, key, sock, deadline)
    except BaseException:
        if jump is not None:
            jump.close()
        raise
    session.jump = jump
    if jump is not None:
        session.connections += jump.connections
    return session


def _stage_timeout(deadline: Deadline) -> float:
    """How long one step may block: what is left, but never so long that retries starve."""
    return max(1.0, min(ATTEMPT_TIMEOUT, deadline.remaining()))


def _login(
    target: SSHTarget,
    key: paramiko.PKey | None,
    sock: paramiko.Channel | None,
    deadline: Deadline,
    *,
    field_prefix: str = "",
) -> SSHSession:
    """One SSH login. Refusals that waiting cannot cure become our errors here, naming the
    host and the input fields (``bastion.`` ones for the bastion); the rest is retried."""
    timeout = _stage_timeout(deadline)
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(_RecordFirstKey())
    if target.host_key:
        pinned = parse_host_key(target.host_key)
        name = target.address if target.port == 22 else f"[{target.address}]:{target.port}"
        # paramiko then negotiates this key type first and refuses any other key
        client.get_host_keys().add(name, pinned.key_type, pinned.to_pkey())
    try:
        client.connect(
            target.address,
            port=target.port,
            username=target.user,
            pkey=key,
            allow_agent=target.use_agent,
            look_for_keys=False,
            sock=sock,
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
            channel_timeout=timeout,
        )
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise _host_key_mismatch(target, exc, field_prefix) from None
    except paramiko.AuthenticationException as exc:
        client.close()
        raise _auth_error(target, type(exc).__name__, field_prefix) from None
    except paramiko.ssh_exception.IncompatiblePeer as exc:
        client.close()
        raise SSHError(
            f"[ssh] host {target.address}:{target.port}: no SSH algorithm in common ({exc}). "
            "Enable a current key exchange and host key type (ed25519, ecdsa or rsa-sha2) in sshd."
        ) from None
    except paramiko.SSHException as exc:
        client.close()
        if "No authentication methods" in str(exc):  # agent asked for, but it offers no key
            raise _auth_error(target, "the SSH agent offered no key", field_prefix) from None
        raise
    except BaseException:
        client.close()
        raise
    transport = client.get_transport()
    assert transport is not None  # connect() returned, so the transport is up
    transport.set_keepalive(30)
    if isinstance(transport.sock, socket.socket):
        # as OpenSSH does: without it, each short command waits out a 40 ms delayed ACK
        transport.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    presented = HostKey.from_pkey(transport.get_remote_server_key())
    return SSHSession(target=target, client=client, host_key=presented, connections=1)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, paramiko.ChannelException):
        return f"the bastion could not open a connection to the host ({exc.text})"
    if isinstance(exc, ConnectionRefusedError | paramiko.ssh_exception.NoValidConnectionsError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "connection timed out"
    text = str(exc) or type(exc).__name__
    if "banner" in text.lower() or isinstance(exc, EOFError):
        return "the connection closed before SSH answered (sshd not ready yet?)"
    return text


def _host_key_mismatch(
    target: SSHTarget, exc: paramiko.BadHostKeyException, field_prefix: str
) -> HostKeyMismatch:
    expected = HostKey.from_pkey(exc.expected_key)
    got = HostKey.from_pkey(exc.key)
    what = "bastion" if field_prefix else "host"
    return HostKeyMismatch(
        f"[ssh] {what} {target.address}:{target.port} presented host key {got.fingerprint()} "
        f"({got.key_type}), but {expected.fingerprint()} ({expected.key_type}) is pinned for it. "
        f"Refusing to connect. If the machine was rebuilt on purpose, set {field_prefix}host_key "
        "to its new key "
        f"(see ssh-keyscan -p {target.port} {target.address}); otherwise the connection may be "
        "intercepted."
    )


def _auth_error(target: SSHTarget, reason: str, field_prefix: str) -> SSHAuthError:
    what = "bastion" if field_prefix else "host"
    agent = (
        " With ssh_agent_auth, SSH_AUTH_SOCK must name a running agent that holds the key "
        "(ssh-add -l lists them)."
        if target.use_agent
        else ""
    )
    return SSHAuthError(
        f"[ssh] {what} {target.address}:{target.port} refused user {target.user!r} with "
        f"{target.credentials()} ({reason}). Check that user {target.user!r} exists on the "
        f"{what} and that the matching public key is in ~{target.user}/.ssh/authorized_keys "
        f"(inputs {field_prefix}user, {field_prefix}ssh_private_key/ssh_key_path).{agent}"
    )
