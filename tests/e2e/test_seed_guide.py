"""The seed's snapshot guide, as written, end to end on the real test guest.

Every command line of "docs: Add detailed notes snapshots, blockcommit, blockpull"
(../shared/seeds/000_e08e7d9b556ccee6.txt) runs against pyvirtd (in this process, through
pyvirt.daemon.thread.DaemonThread) from two clients: pyvirsh and Debian's real virsh
(``qemu+unix:///system?socket=ROOT/run/libvirt-sock``). The table in
tests/e2e/seedguide/steps.py maps each guide line to the command we run (our domain, paths
and snapshot names); docs/seed-guide.md prints it.

The guest runs its disk writer (``testguest.writer=1``). After every step:
- the writer's counters on disk are intact (block 0 + a gap-free ring from block 16) and
  monotonic (same boot, never smaller; after an internal revert, never smaller than before
  the checkpoint was taken), read through ``qemu-img dd -U`` from the chain's top;
- the live XML's <backingStore> chain equals ``qemu-img info --backing-chain --force-share``
  and the chain the guide says we should have.
Between the live and the offline part the daemon is restarted (the guest keeps running) and
the snapshot metadata must still be there. A third run uses pyvirsh on
``qemu:///embed?root=...`` without a daemon: every command is a new in-process driver that
reattaches to the running QEMU. One guest boot per run.
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.thread import DaemonThread

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seedguide.disk import (
    WriterState,
    check_intact,
    qemu_img_chain,
    read_writer,
    wait_console,
    xml_chain,
)
from seedguide.steps import (
    BEYOND_STEPS,
    LIVE_STEPS,
    OFFLINE_STEPS,
    QEMU_IMG_STEPS,
    SECTIONS,
    Kind,
    Step,
    When,
    markdown_table,
    seed_command_lines,
    subst,
)

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / ".." / "shared" / "seeds" / "000_e08e7d9b556ccee6.txt"
VIRSH = shutil.which("virsh")


def test_every_guide_line_is_in_the_table() -> None:
    """Fast (no guest): each command line of the guide has a step, and the doc shows the table."""
    if not SEED.is_file():
        pytest.skip(f"the seed is not checked out beside the repo ({SEED})")
    cmds = seed_command_lines(SEED.read_text())
    assert len(cmds) >= 25, cmds  # the guide has 28 virsh / qemu-img lines
    ours = {" ".join(s.seed.split()) for _, steps in SECTIONS for s in steps}
    assert [c for c in cmds if c not in ours] == []
    assert markdown_table() in (REPO / "docs" / "seed-guide.md").read_text(), \
        "docs/seed-guide.md's table differs from tests/e2e/seedguide/steps.py: regenerate it"

DOMXML = """<domain type='qemu'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{guest}/vmlinuz</kernel>
    <initrd>{guest}/initramfs.cpio.gz</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 testguest.net=none testguest.writer=1</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{img}/f17-base.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='pty'>
      <log file='{img}/console.log' append='off'/>
      <target port='0'/>
    </serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <memballoon model='none'/>
  </devices>
</domain>
"""


@dataclass
class Guide:
    """Runs steps with one client against one pyvirtd and checks the disk after each."""

    client: str  # "pyvirsh" | "virsh"
    uri: str
    dom: str
    img: Path
    base: Path
    transcript: list[str] = field(default_factory=list)
    last: WriterState | None = None
    marks: dict[str, WriterState] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    # Every failed check, in order: the run goes on so one report shows all of them.
    failures: list[str] = field(default_factory=list)

    def s(self, text: str) -> str:
        return subst(text, self.dom, str(self.img), str(self.base))

    def argv(self, step: Step) -> list[str]:
        words = shlex.split(self.s(step.ours))
        if step.kind is Kind.VIRSH:
            head = [sys.executable, "-m", "pyvirt.cli"] if self.client == "pyvirsh" else [str(VIRSH)]
            return [*head, "-c", self.uri, *words]
        return words

    def virsh(self, line: str, record: bool = True) -> str:
        return self.run(Step("", line, Kind.VIRSH, When.LIVE), record)

    def run(self, step: Step, record: bool = True) -> str:
        if step.kind is Kind.SHELL and step.ours.startswith("ls "):
            # the guide's globs: expand them here (no shell)
            words = shlex.split(self.s(step.ours))
            argv = words[:2] + sorted({str(p) for w in words[2:] for p in (Path(w).parent.glob(Path(w).name)
                                        if "*" in w else [Path(w)])})
        else:
            argv = self.argv(step)
        shown = f"{self.client} {self.s(step.ours)}" if step.kind is Kind.VIRSH else self.s(step.ours)
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        except subprocess.TimeoutExpired as e:
            self.transcript.append(f"# {step.seed or '(setup)'}\n$ {shown}\n{e.stdout!r} {e.stderr!r}")
            raise AssertionError(f"{shown}: no answer after 30 s") from None
        out = p.stdout + p.stderr
        if record:
            self.transcript.append(f"# {step.seed or '(setup)'}\n$ {shown}\n{out}")
        assert p.returncode == 0, f"{shown}\nexit {p.returncode}\n{out}"
        for want in step.expect:
            assert self.s(want) in out, f"{shown}: {self.s(want)!r} not in\n{out}"
        return out

    def expected_chain(self, step: Step) -> list[str] | None:
        if step.chain is None:
            return None
        return [str(self.base) if n == "BASE" else str(self.img / n) for n in step.chain]

    def check(self, step: Step, live: bool) -> None:
        xml = self.virsh(f"dumpxml {self.dom}" + ("" if live else " --inactive"), record=False)
        if live:
            chain = xml_chain(xml)
            assert chain == qemu_img_chain(chain[0]), "live XML chain != qemu-img's view"
        else:
            chain = qemu_img_chain(xml_chain(xml)[0])
        want = self.expected_chain(step)
        if want is not None:
            assert chain == want, f"after {step.ours}: chain {chain} != {want}"
        st = self.read_intact(chain[0], live)
        floor = self.last
        if step.reverts_to is not None:
            floor = self.marks[step.reverts_to]  # the disk went back to the checkpoint
        if floor is not None:
            assert st.boot == floor.boot, "the writer's boot id changed: the disk is not the guest's"
            assert st.seq >= floor.seq, f"counter went back: {st.seq} < {floor.seq}"
        self.last = st

    @staticmethod
    def read_intact(top: str, live: bool) -> WriterState:
        """The writer's state under ``top``, checked intact. Reading a running guest's qcow2
        from outside (-U) can catch QEMU between writing a cluster and its metadata; such a
        torn view is retried after the guest's next write (100 ms: nothing host-side to wait
        on), a shut-off chain never is."""
        err: AssertionError | None = None
        for _ in range(10 if live else 1):
            st = read_writer(top)
            try:
                assert st is not None, f"no writer record under {top}"
                check_intact(st)
                return st
            except AssertionError as e:
                err = e
                time.sleep(0.15)
        assert err is not None
        raise err

    def step(self, step: Step) -> None:
        try:
            self._step(step)
        except AssertionError as e:
            self.failures.append(f"{self.s(step.ours)}: {str(e).splitlines()[0]}"[:600])
            self.transcript.append(f"!!! FAILED: {e}")

    def _step(self, step: Step) -> None:
        if step.mark is not None and self.last is not None:
            self.marks[step.mark] = self.last
        out = self.run(step)
        if "size-before" in step.tags or "size-after" in step.tags:
            self.sizes[next(iter(step.tags))] = (self.img / "Active.qcow2").stat().st_blocks
        if "no-backing" in step.tags:
            assert "backing file" not in out, out
        if step.kind is not Kind.QEMU_IMG or step.chain is not None:
            self.check(step, step.when is When.LIVE)

    def wait_writer(self) -> None:
        """The writer starts right after READY; its first record has nothing to wait on
        host-side but the guest's own progress (100 ms per write)."""
        for _ in range(100):
            xml = self.virsh(f"dumpxml {self.dom}", record=False)
            if read_writer(xml_chain(xml)[0]) is not None:
                self.check(Step("", "", Kind.VIRSH, When.LIVE, chain=("f17-base.qcow2", "BASE")), live=True)
                return
            time.sleep(0.1)
        raise AssertionError("the writer never wrote")


@pytest.fixture
def guide_root(embed_root: Path, guest_dir: Path) -> Iterator[Path]:
    (embed_root / "images").mkdir()
    yield embed_root


def daemon(root: Path, embed: bool) -> contextlib.AbstractContextManager[object]:
    # embed: every pyvirsh process is its own in-process driver (each one a "restart")
    return contextlib.nullcontext() if embed else DaemonThread(DaemonConfig(root=root))


@pytest.mark.e2e
@pytest.mark.parametrize("client", ["pyvirsh", "virsh", "pyvirsh-embed"])
def test_seed_guide(client: str, guide_root: Path, guest_dir: Path) -> None:
    if client == "virsh" and VIRSH is None:
        pytest.skip("Debian's virsh (libvirt-clients) is not installed")
    img = guide_root / "images"
    embed = client == "pyvirsh-embed"
    cfg = DaemonConfig(root=guide_root)
    uri = f"qemu:///embed?root={guide_root}" if embed else f"qemu+unix:///system?socket={cfg.rw_socket}"
    g = Guide("virsh" if client == "virsh" else "pyvirsh", uri, f"sg-{client}", img, guest_dir / "disk.qcow2")
    try:
        # QCOW2 backing files & overlays: the guide's qemu-img lines make the guest's disk
        for st in QEMU_IMG_STEPS:
            g.step(st)
        (guide_root / "dom.xml").write_text(
            DOMXML.format(name=g.dom, uuid=uuid.uuid4(), guest=guest_dir, img=img))
        with daemon(guide_root, embed):
            g.virsh(f"define {guide_root / 'dom.xml'}")
            g.virsh(f"start {g.dom}")
            wait_console(img / "console.log", b"TESTGUEST READY")
            g.wait_writer()
            for st in LIVE_STEPS:
                g.step(st)
        if g.sizes.get("size-after", 0) <= g.sizes.get("size-before", 0):
            g.failures.append(f"blockpull did not fill Active.qcow2: {g.sizes}")
        # A new daemon reattaches the running guest and still knows its snapshots.
        with daemon(guide_root, embed):
            out = g.virsh(f"snapshot-list {g.dom} --name")
            if out.split() != ["snap5", "snap6", "snap7"]:
                g.failures.append(f"snapshot metadata after a daemon restart: {out.split()}")
            g.virsh(f"domstate {g.dom}")
            g.virsh(f"destroy {g.dom}")
            g.step(Step("", "dominfo {DOM}", Kind.VIRSH, When.OFFLINE, expect=("shut off",),
                        chain=("Active.qcow2",)))
            # Deleting External snapshots (offline), with qemu-img as the guide does
            for st in OFFLINE_STEPS + BEYOND_STEPS:
                g.step(st)
    finally:
        print(f"\n===== seed guide through {client} -> pyvirtd =====")
        print("\n".join(g.transcript))
    assert not g.failures, "\n".join(g.failures)
