"""tls_allowed_dn_list on pyvirtd's TCP+TLS listener, with real certificates made here.

The DN string we match is the one libvirt's own ``virt-pki-query-dn`` prints for the same
certificate (checked when it is installed); an allowed client gets the confirmation byte and
works (our client and the real virsh), a client whose DN matches no pattern is dropped right
after the handshake and sees libvirt's "server verification failed" error.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from pyvirt.daemon.config import DaemonConfig, TLSConfig
from pyvirt.daemon.main import Daemon
from pyvirt.errors import VirtError
from pyvirt.remote.client import RemoteDriver
from pyvirt.rpc.tlsacl import subject_dn

OPENSSL = shutil.which("openssl")
QUERY_DN = shutil.which("virt-pki-query-dn")
VIRSH = shutil.which("virsh")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")

CLIENTS = {
    "alice": "/C=GB/ST=London/L=London/O=pyvirt/OU=test/CN=alice",
    "bob": "/C=FR/O=Other, Inc./OU=a+b/CN=bob/emailAddress=bob@example.org",
}


def _ossl(*args: str, cwd: Path) -> None:
    assert OPENSSL is not None
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True)


def _cert(d: Path, name: str, subj: str, eku: str, san: str = "") -> None:
    ext = ("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
           f"extendedKeyUsage={eku}\n" + (f"subjectAltName={san}\n" if san else ""))
    (d / f"{name}.ext").write_text(ext)
    _ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}key.pem", "-out", f"{name}.csr",
          "-subj", subj, cwd=d)
    _ossl("x509", "-req", "-in", f"{name}.csr", "-CA", "cacert.pem", "-CAkey", "cakey.pem",
          "-CAcreateserial", "-out", f"{name}cert.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    _ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "cakey.pem", "-out", "cacert.pem",
          "-days", "2", "-subj", "/CN=pyvirt test CA", "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _cert(d, "server", "/O=pyvirt/CN=127.0.0.1", "serverAuth", "IP:127.0.0.1,DNS:localhost")
    for name, subj in CLIENTS.items():
        _cert(d, name, subj, "clientAuth")
        # a pkipath directory per client, laid out as libvirt's clients expect
        p = d / name
        p.mkdir()
        shutil.copy(d / "cacert.pem", p / "cacert.pem")
        shutil.copy(d / f"{name}cert.pem", p / "clientcert.pem")
        shutil.copy(d / f"{name}key.pem", p / "clientkey.pem")
    return d


def _dn(pki: Path, name: str) -> str:
    """Our DN string for a certificate, through the ssl module as the daemon sees it."""
    decoded = ssl._ssl._test_decode_cert(str(pki / f"{name}cert.pem"))  # type: ignore[attr-defined]
    return subject_dn(decoded)


@pytest.mark.skipif(QUERY_DN is None, reason="virt-pki-query-dn (libvirt) not installed")
@pytest.mark.parametrize("name", sorted(CLIENTS))
def test_dn_string_equals_virt_pki_query_dn(pki: Path, name: str) -> None:
    assert QUERY_DN is not None
    want = subprocess.run([QUERY_DN, str(pki / f"{name}cert.pem")], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert _dn(pki, name) == want


DaemonFactory = Callable[[list[str] | None], "asyncio.Future[Daemon]"]


@pytest.fixture
async def start(tmp_path: Path, pki: Path) -> AsyncIterator[Callable[[list[str] | None], object]]:
    running: list[Daemon] = []

    async def make(allowed: list[str] | None) -> Daemon:
        tls = TLSConfig("127.0.0.1", 0, pki / "servercert.pem", pki / "serverkey.pem", pki / "cacert.pem",
                        allowed_dn_list=allowed)
        d = Daemon(DaemonConfig(root=tmp_path / f"root{len(running)}", tls=tls, keepalive_interval=0,
                                reattach=False))
        await d.start()
        running.append(d)
        return d

    yield make
    for d in running:
        await d.stop()


async def _open(d: Daemon, pki: Path, who: str) -> RemoteDriver:
    return await RemoteDriver.open(f"test+tls://127.0.0.1:{d.tls_port}/default?pkipath={pki / who}")


async def test_allowed_client_connects_refused_one_does_not(start: Callable[..., object], pki: Path) -> None:
    d = await start(["C=GB,ST=London,L=London,O=pyvirt,OU=test,CN=*"])  # type: ignore[misc]
    drv = await _open(d, pki, "alice")
    assert (await drv.get_state(await drv.lookup_by_name("test")))[0] == 1
    await drv.close()
    with pytest.raises(VirtError) as ei:
        await _open(d, pki, "bob")
    assert "server verification (of our certificate or IP address) failed" in ei.value.message
    assert not d.server.clients  # the refused client holds nothing


async def test_patterns_and_empty_list(start: Callable[..., object], pki: Path) -> None:
    # '?' is one character, several patterns: any match is enough; no list: no check
    d = await start(["C=XX,*", f"{_dn(pki, 'bob')[:-len('bob@example.org')]}???@example.org"])  # type: ignore[misc]
    await (await _open(d, pki, "bob")).close()
    with pytest.raises(VirtError):
        await _open(d, pki, "alice")
    nobody = await start([])  # type: ignore[misc]
    for who in CLIENTS:
        with pytest.raises(VirtError):
            await _open(nobody, pki, who)
    anyone = await start(None)  # type: ignore[misc]
    for who in CLIENTS:
        await (await _open(anyone, pki, who)).close()


@pytest.mark.skipif(VIRSH is None, reason="virsh not installed")
async def test_real_virsh_allowed_and_refused(start: Callable[..., object], pki: Path) -> None:
    d = await start(["*CN=alice"])  # type: ignore[misc]

    async def virsh(who: str) -> tuple[int, str]:
        uri = f"test+tls://127.0.0.1:{d.tls_port}/default?pkipath={pki / who}"
        proc = await asyncio.create_subprocess_exec(
            "virsh", "-c", uri, "domstate test", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode is not None
        return proc.returncode, out.decode()

    rc, out = await virsh("alice")
    assert (rc, out.strip()) == (0, "running")
    rc, out = await virsh("bob")
    assert rc == 1
    assert out == ("error: failed to connect to the hypervisor\n"
                   "error: server verification (of our certificate or IP address) failed\n"), out


PY_OPEN = r"""
import sys, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
try:
    libvirt.open(sys.argv[1])
except libvirt.libvirtError as e:
    print(e.get_error_code(), e.get_error_domain(), e.get_error_message())
"""


@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="system python3 not installed")
async def test_refusal_error_equals_libvirt_clients(start: Callable[..., object], pki: Path, tmp_path: Path) -> None:
    """Our client reports the refusal with the code, domain and message python3-libvirt
    (the C library) reports for it."""
    d = await start(["*CN=alice"])  # type: ignore[misc]
    uri = f"test+tls://127.0.0.1:{d.tls_port}/default?pkipath={pki / 'bob'}"
    (tmp_path / "o.py").write_text(PY_OPEN)
    proc = await asyncio.create_subprocess_exec("/usr/bin/python3", str(tmp_path / "o.py"), uri,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    if b"No module named" in out:
        pytest.skip("python3-libvirt not installed")
    with pytest.raises(VirtError) as ei:
        await _open(d, pki, "bob")
    e = ei.value
    assert out.decode().strip() == f"{int(e.code)} {int(e.domain)} {e.message}"
