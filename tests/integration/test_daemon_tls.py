"""The optional TCP+TLS listener: x509 client certificates required, libvirt's confirmation
byte, our client and the real virsh over test+tls://."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pyvirt.daemon.config import DaemonConfig, TLSConfig
from pyvirt.daemon.main import Daemon
from pyvirt.errors import VirtError
from pyvirt.remote.client import RemoteDriver

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")


def _ossl(*args: str, cwd: Path) -> None:
    assert OPENSSL is not None
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True)


def make_pki(d: Path) -> None:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, with the
    extensions libvirt's certificate checks insist on."""
    d.mkdir(parents=True, exist_ok=True)
    _ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "cakey.pem", "-out", "cacert.pem",
          "-days", "2", "-subj", "/CN=pyvirt test CA", "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)  # fmt: skip
    for name, eku, san in (("server", "serverAuth", "IP:127.0.0.1,DNS:localhost"), ("client", "clientAuth", "")):
        ext = (f"basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
               f"extendedKeyUsage={eku}\n" + (f"subjectAltName={san}\n" if san else ""))  # fmt: skip
        (d / f"{name}.ext").write_text(ext)
        _ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}key.pem", "-out", f"{name}.csr",
              "-subj", f"/O=pyvirt/CN={'127.0.0.1' if name == 'server' else 'client'}", cwd=d)  # fmt: skip
        _ossl("x509", "-req", "-in", f"{name}.csr", "-CA", "cacert.pem", "-CAkey", "cakey.pem",
              "-CAcreateserial", "-out", f"{name}cert.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)  # fmt: skip


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    make_pki(d)
    return d


@pytest.fixture
async def daemon(tmp_path: Path, pki: Path) -> AsyncIterator[Daemon]:
    tls = TLSConfig("127.0.0.1", 0, pki / "servercert.pem", pki / "serverkey.pem", pki / "cacert.pem")
    d = Daemon(DaemonConfig(root=tmp_path / "root", tls=tls, keepalive_interval=0))
    await d.start()
    yield d
    await d.stop()


async def test_client_over_tls(daemon: Daemon, pki: Path) -> None:
    assert daemon.tls_port
    d = await RemoteDriver.open(f"test+tls://127.0.0.1:{daemon.tls_port}/default?pkipath={pki}")
    t = await d.lookup_by_name("test")
    assert (await d.get_state(t))[0] == 1
    await d.close()


async def test_client_without_certificate_is_refused(daemon: Daemon, pki: Path) -> None:
    assert daemon.tls_port is not None
    ctx = ssl.create_default_context(cafile=str(pki / "cacert.pem"))
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    proto = asyncio.StreamReaderProtocol(reader)
    try:
        tr, _ = await loop.create_connection(lambda: proto, "127.0.0.1", daemon.tls_port, ssl=ctx)
    except (ssl.SSLError, ConnectionError):
        return  # refused during the handshake (TLS 1.2)
    # TLS 1.3: the server rejects the missing certificate after the handshake; never the 0x01
    with pytest.raises((ssl.SSLError, ConnectionError, asyncio.IncompleteReadError)):
        await asyncio.wait_for(reader.readexactly(1), 5)
    tr.close()


async def test_wrong_ca_fails_verification(daemon: Daemon, tmp_path: Path) -> None:
    other = tmp_path / "other"
    make_pki(other)
    with pytest.raises(VirtError):
        await RemoteDriver.open(f"test+tls://127.0.0.1:{daemon.tls_port}/default?pkipath={other}")


@pytest.mark.skipif(shutil.which("virsh") is None, reason="virsh not installed")
async def test_real_virsh_over_tls(daemon: Daemon, pki: Path) -> None:
    uri = f"test+tls://127.0.0.1:{daemon.tls_port}/default?pkipath={pki}"
    proc = await asyncio.create_subprocess_exec(
        "virsh", "-c", uri, "domstate test --reason; list --all",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode()
    assert proc.returncode == 0, text
    assert text.startswith("running (") and " 1    test   running" in text
