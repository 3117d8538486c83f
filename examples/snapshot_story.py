"""The seed's snapshot story on the real test guest (``examples/demo.py --story snapshots``).

The guide "docs: Add detailed notes snapshots, blockcommit, blockpull" (the seed's last post)
in one run, while the guest's disk writer (``testguest.writer=1``) writes a counter to its
disk every 100 ms:

1. an external disk-only snapshot while the guest writes, then a second one
2. ``blockcommit --active --pivot --verbose --wait``: the active layer merged down, with
   virsh's progress line
3. ``blockpull --wait --verbose``: the backing files pulled into the active layer
4. ``snapshot-revert`` to the first (external) snapshot: libvirt 9.0 refuses this
   ("revert to external snapshot not supported yet"); pyvirt restarts the guest on a new
   overlay over the snapshot's frozen image
5. ``snapshot-delete``

Every command is a pyvirsh (or, with ``--client virsh``, Debian's real virsh) process talking
to a pyvirtd that runs in this process; each is printed with its output, followed by the disk
chain (``qemu-img info --backing-chain``) and the writer's last counter as the chain holds it.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from string import Template

_WRITER = re.compile(rb"TESTGUEST-WRITER seq=(\d+) boot=(\S+)")


def chain_of(top: str) -> list[str]:
    out = subprocess.run(["qemu-img", "info", "--backing-chain", "--force-share", "--output=json", top],
                         check=True, capture_output=True, text=True).stdout
    return [str(i["filename"]) for i in json.loads(out)]


def writer_seq(top: str) -> str:
    """The writer's record in block 0, read through the whole chain (-U: the guest runs)."""
    out = subprocess.run(["qemu-io", "-U", "-r", "-c", "read -v 0 128", top], check=True,
                         capture_output=True).stdout
    data = bytearray()
    for line in out.splitlines():
        m = re.match(rb"^[0-9a-f]{8}:\s+((?:[0-9a-f]{2}\s){1,16})", line)
        if m:
            data += bytes.fromhex(m.group(1).decode())
    m2 = _WRITER.search(bytes(data))
    return f"seq={int(m2.group(1))} boot={m2.group(2).decode()[:8]}" if m2 else "no writer record yet"


class Story:
    def __init__(self, *, repo: Path, root: Path, name: str, client: list[str], tool: str, uri: str,
                 say: Callable[[str], None], wait_ready: Callable[[Path], str]) -> None:
        self.repo, self.root, self.name = repo, root, name
        self.client, self.tool, self.uri = client, tool, uri
        self.say, self.wait_ready = say, wait_ready
        self.img = root / "images"

    def sh(self, line: str, *, check: bool = True) -> str:
        """Run one virsh command line through the client; print it and its output."""
        t = time.monotonic()
        p = subprocess.run([*self.client, "-c", self.uri, *shlex.split(line)], capture_output=True,
                           text=True, check=False)
        if not check and p.returncode != 0:
            return p.stdout  # clean-up of what a previous run left: nothing to show
        print(f"$ {self.tool} {line}", flush=True)
        # --verbose progress is "\rBlock Commit: [ 50 %]" on stderr: show its last state
        err = p.stderr.replace("\r", "\n  ")
        sys.stdout.write(p.stdout + err)
        print(f"  ({(time.monotonic() - t) * 1000:.0f} ms, exit {p.returncode})", flush=True)
        if check and p.returncode != 0:
            raise SystemExit(f"demo: `{self.tool} {line}` failed")
        return p.stdout

    def top(self) -> str:
        out = self.sh(f"domblklist {self.name}")
        for row in out.splitlines():
            parts = row.split()
            if parts[:1] == ["vda"]:
                return parts[1]
        raise SystemExit(f"demo: no vda in domblklist {self.name}")

    def show_chain(self) -> None:
        top = self.top()
        names = [Path(p).name if str(self.img) in p else p for p in chain_of(top)]
        print(f"  chain: {' <- '.join(reversed(names))}   (qemu-img info --backing-chain)")
        print(f"  writer on disk: {writer_seq(top)}", flush=True)

    def run(self) -> None:
        guest = self.repo / ".guest"
        self.img.mkdir(parents=True, exist_ok=True)
        base = self.img / f"{self.name}-vda.qcow2"
        log = self.img / f"{self.name}-console.log"
        self.sh(f"destroy {self.name}", check=False)
        self.sh(f"undefine {self.name} --snapshots-metadata", check=False)
        for f in self.img.glob(f"{self.name}-*"):
            f.unlink()
        self.say("the seed's story: snapshots, blockcommit, blockpull, revert, delete")
        cmd = ["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(guest / "disk.qcow2"), "-F", "qcow2", str(base)]
        print("$ " + " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        xml = Template((self.repo / "examples" / "testguest.xml").read_text()).substitute(
            name=self.name, guest=guest, state=self.img)
        xml_file = self.img / f"{self.name}-dom.xml"
        xml_file.write_text(xml)
        log.write_bytes(b"")
        self.sh(f"define {xml_file}")
        self.sh(f"start {self.name}")
        self.say(f"guest ready: {self.wait_ready(log)}")
        self.show_chain()

        snap1, snap2 = self.img / f"{self.name}-snap1.qcow2", self.img / f"{self.name}-snap2.qcow2"
        self.say("1. external disk-only snapshots while the guest writes")
        self.sh(f"snapshot-create-as --domain {self.name} snap1 snap1-desc --disk-only "
                f"--diskspec vda,snapshot=external,file={snap1} --atomic")
        self.show_chain()
        self.sh(f"snapshot-create-as --domain {self.name} snap2 --disk-only "
                f"--diskspec vda,snapshot=external,file={snap2} --atomic")
        self.show_chain()
        self.sh(f"snapshot-list {self.name} --tree")

        # --base: left out, the bottom of the chain (the test guest's shared disk) would be
        # the base, as in libvirt.
        self.say("2. blockcommit the active layer down into snap1, pivot")
        self.sh(f"blockcommit {self.name} vda --active --base {snap1} --pivot --verbose --wait")
        self.show_chain()

        self.say("3. blockpull: the guest's own overlay pulled into the active layer")
        self.sh(f"blockpull {self.name} vda --base {guest / 'disk.qcow2'} --wait --verbose")
        self.show_chain()

        # A disk-only snapshot has no memory: as in libvirt, reverting leaves the domain shut
        # off unless --running boots it from the snapshot's disks.
        self.say("4. revert to snap1, an external snapshot (libvirt 9.0 cannot), and boot it")
        log.write_bytes(b"")
        self.sh(f"snapshot-revert {self.name} snap1 --running")
        self.say(f"guest ready again: {self.wait_ready(log)}")
        self.show_chain()

        self.say("5. delete the snapshots")
        self.sh(f"snapshot-list {self.name}")
        self.sh(f"snapshot-delete {self.name} snap2 --metadata")
        self.sh(f"snapshot-delete {self.name} snap1")
        self.sh(f"snapshot-list {self.name}")
        self.show_chain()
        self.sh(f"destroy {self.name}")
