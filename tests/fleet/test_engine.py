"""The scheduler address is checked before a Client waits on it: a malformed address, a
peer that is not Dask or one that never answers is one line and exit 2, never a hang."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from layerscope.fleet.engine import ClusterError, check_scheduler
from tests.conftest import CliResult
from tests.support.daskcluster import DaskCluster

Cli = Callable[..., CliResult]


class Peer:
    """A TCP server on loopback that is not Dask: it answers every connection with `reply`
    (an HTTP error page, say) or, with None, reads and never answers."""

    def __init__(self, reply: bytes | None) -> None:
        self.reply = reply
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.address = f"tcp://127.0.0.1:{self.sock.getsockname()[1]}"
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.reply is not None:
                conn.sendall(self.reply)

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


@pytest.fixture
def http_peer() -> Iterator[Peer]:
    peer = Peer(b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/html\r\n\r\n<html>bad request</html>\r\n")
    yield peer
    peer.close()


@pytest.fixture
def silent_peer() -> Iterator[Peer]:
    peer = Peer(None)
    yield peer
    peer.close()


@pytest.mark.parametrize(
    ("address", "why"),
    [("bogus", "missing port"), ("http://127.0.0.1:8786", "unknown address scheme"), ("tcp://[::1", "invalid")],
)
def test_a_malformed_address_is_one_line(address: str, why: str, run_cli: Cli) -> None:
    r = run_cli("fleet", "x.tar", "--scheduler", address)
    assert r.code == 2 and r.out == ""
    assert r.err.count("\n") == 1 and r.err.startswith("layerscope: scheduler ") and why in r.err
    assert "Traceback" not in r.err and "internal error" not in r.err


def test_a_peer_that_is_not_dask_is_one_line(http_peer: Peer, run_cli: Cli) -> None:
    """Dask reads an HTTP answer's first bytes as a frame length (exabytes): no MemoryError, no exit 3."""
    r = run_cli("fleet", "x.tar", "--scheduler", http_peer.address)
    assert r.code == 2, r.err
    assert r.err.count("\n") == 1 and "does not answer as a Dask scheduler" in r.err


def test_a_peer_that_never_answers_is_not_waited_on_for_ever(silent_peer: Peer) -> None:
    with pytest.raises(ClusterError, match="did not answer within 1 s"):
        check_scheduler(silent_peer.address, seconds=1.0)


def test_nothing_listening_is_one_line(run_cli: Cli) -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]  # free now, and nothing listens on it once closed
    r = run_cli("fleet", "x.tar", env={"DASK_SCHEDULER_ADDRESS": f"tcp://127.0.0.1:{port}"})
    assert r.code == 2 and r.err.count("\n") == 1
    assert r.err.startswith(f"layerscope: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")


@pytest.mark.registry
def test_a_real_scheduler_passes_and_a_worker_is_not_one(dask_cluster: DaskCluster) -> None:
    check_scheduler(dask_cluster.address)
    from distributed import Client

    with Client(dask_cluster.address, set_as_default=False) as client:
        worker = next(iter(client.scheduler_info()["workers"]))
    with pytest.raises(ClusterError, match="does not answer as a Dask scheduler"):
        check_scheduler(worker)
