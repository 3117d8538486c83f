"""Every command line of the seed's snapshot guide, with the command we run for it.

The guide's own machine had domains f17vm1, f17-base, f17, RootBase, ptest2-base and f17vm
and images under /export/vmimages and /var/lib/libvirt/images; we run the whole guide on one
domain ({DOM}) with its images in one directory ({IMG}). {BASE} is the test guest's disk
(the guide's RootBase), {IMG}/f17-base.qcow2 the domain's own overlay on it (the guide's
Fedora-guest-1 / f17vm1.qcow2 / f17-base.qcow2). Lines marked ``setup`` are not in the guide:
they build the state the next guide line assumes (the guide says "assuming 4 external
snapshots were created ...").

``chain`` is the disk chain expected after the step, top first, as file names relative to
{IMG} (``BASE`` for the guest disk); ``None`` means the chain does not change or is not
live. The test checks it against both the live XML's <backingStore> and ``qemu-img info
--backing-chain``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Kind(enum.StrEnum):
    VIRSH = "virsh"  # run with the client under test (pyvirsh or the real virsh)
    QEMU_IMG = "qemu-img"
    SHELL = "sh"  # ls / rm, run by the test itself


class When(enum.StrEnum):
    LIVE = "live"  # the guest runs its disk writer
    OFFLINE = "offline"  # the domain is shut off


@dataclass(frozen=True)
class Step:
    seed: str  # the guide's line ("" for a setup step)
    ours: str  # what we run, with {DOM} {IMG} {BASE}
    kind: Kind
    when: When
    expect: tuple[str, ...] = ()  # substrings of the output
    chain: tuple[str, ...] | None = None
    # the guest's disk goes back in time here (internal snapshot revert)
    reverts_to: str | None = None
    # this step takes an internal checkpoint a later step reverts to: remember the writer
    mark: str | None = None
    notes: str = ""
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def setup(self) -> bool:
        return not self.seed


L, O = When.LIVE, When.OFFLINE
V, Q, S = Kind.VIRSH, Kind.QEMU_IMG, Kind.SHELL

EXT = "--disk-only --diskspec vda,snapshot=external,file={IMG}/%s --atomic"
BASE_CHAIN = ("f17-base.qcow2", "BASE")

# QEMU >= 6.1 refuses -b without the backing format, hence the added ``-F qcow2``.
QEMU_IMG_STEPS: tuple[Step, ...] = (
    Step("qemu-img create -b /export/vmimages/RootBase.img -f qcow2 /export/vmimages/Fedora-guest-1.qcow2",
         "qemu-img create -b {BASE} -F qcow2 -f qcow2 {IMG}/f17-base.qcow2", Q, O,
         expect=("Formatting '{IMG}/f17-base.qcow2'", "backing_file={BASE}")),
    Step("qemu-img create -b /export/vmimages/RootBase.img -f qcow2 /export/vmimages/Fedora-guest-2.qcow2",
         "qemu-img create -b {BASE} -F qcow2 -f qcow2 {IMG}/Fedora-guest-2.qcow2", Q, O,
         expect=("Formatting '{IMG}/Fedora-guest-2.qcow2'",)),
    Step("qemu-img create -b /export/vmimages/Fed-w-updates.qcow2 -f qcow2 "
         "/export/vmimages/Fedora-guest-with-updates-1A.qcow2",
         "qemu-img create -b {IMG}/Fedora-guest-2.qcow2 -F qcow2 -f qcow2 "
         "{IMG}/Fedora-guest-with-updates-1A.qcow2", Q, O,
         notes="Fed-w-updates is played by Fedora-guest-2 (an overlay with its own overlay)"),
    Step("qemu-img info /export/vmimages/Fedora-guest-with-updates-1A.qcow2",
         "qemu-img info {IMG}/Fedora-guest-with-updates-1A.qcow2", Q, O,
         expect=("file format: qcow2", "backing file: {IMG}/Fedora-guest-2.qcow2")),
    Step("qemu-img info --backing-chain /export/vmimages/Fedora-guest-with-updates-1A.qcow2",
         "qemu-img info --backing-chain {IMG}/Fedora-guest-with-updates-1A.qcow2", Q, O,
         expect=("image: {IMG}/Fedora-guest-with-updates-1A.qcow2", "image: {IMG}/Fedora-guest-2.qcow2",
                 "image: {BASE}")),
)

LIVE_STEPS: tuple[Step, ...] = (
    # --- Creating snapshots: internal (a live system checkpoint: memory + disk) ---
    Step("virsh snapshot-create-as f17vm1 snap1 snap1-desc",
         "snapshot-create-as {DOM} snap1 snap1-desc", V, L,
         expect=("Domain snapshot snap1 created",), chain=BASE_CHAIN, mark="snap1"),
    Step("virsh snapshot-list f17vm1", "snapshot-list {DOM}", V, L, expect=(" snap1 ", "running")),
    Step("qemu-img info /home/kashyap/vmimages/f17vm1.qcow2", "qemu-img info -U {IMG}/f17-base.qcow2", Q, L,
         expect=("Snapshot list:", "snap1"),
         notes="-U (--force-share): QEMU holds the image's write lock while the guest runs"),
    # --- Reverting to snapshots (internal) ---
    Step("virsh snapshot-revert --domain f17vm1 snap1", "snapshot-revert --domain {DOM} snap1", V, L,
         chain=BASE_CHAIN, reverts_to="snap1"),
    # --- Deleting snapshots (internal, live) ---
    Step("", "snapshot-create-as {DOM} snap6", V, L, expect=("Domain snapshot snap6 created",)),
    Step("virsh snapshot-delete --domain f17vm --snapshotname snap6",
         "snapshot-delete --domain {DOM} --snapshotname snap6", V, L,
         expect=("Domain snapshot snap6 deleted",), chain=BASE_CHAIN),
    Step("virsh snapshot-delete f17vm snap6", "snapshot-delete {DOM} snap1", V, L,
         expect=("Domain snapshot snap1 deleted",), chain=BASE_CHAIN,
         notes="snap1 (the internal checkpoint above) plays snap6"),
    # --- Creating snapshots: external disk-only, while the guest runs ---
    Step("virsh domblklist f17-base", "domblklist {DOM}", V, L, expect=("vda      {IMG}/f17-base.qcow2",)),
    Step("virsh snapshot-create-as --domain f17-base snap1 snap1-desc --disk-only "
         "--diskspec vda,snapshot=external,file=/export/vmimages/sn1-of-f17-base.qcow2 --atomic",
         "snapshot-create-as --domain {DOM} snap1 snap1-desc " + EXT % "sn1-of-f17-base.qcow2", V, L,
         expect=("Domain snapshot snap1 created",), chain=("sn1-of-f17-base.qcow2", *BASE_CHAIN)),
    Step("virsh domblklist f17-base", "domblklist {DOM}", V, L,
         expect=("vda      {IMG}/sn1-of-f17-base.qcow2",)),
    # --- blockcommit: [base] <- sn1 <- sn2 <- sn3 <- sn4(active) ---
    Step("", "snapshot-create-as {DOM} snap2 " + EXT % "sn2.qcow2", V, L,
         chain=("sn2.qcow2", "sn1-of-f17-base.qcow2", *BASE_CHAIN)),
    Step("", "snapshot-create-as {DOM} snap3 " + EXT % "sn3.qcow2", V, L,
         chain=("sn3.qcow2", "sn2.qcow2", "sn1-of-f17-base.qcow2", *BASE_CHAIN)),
    Step("", "snapshot-create-as {DOM} snap4 " + EXT % "sn4.qcow2", V, L,
         chain=("sn4.qcow2", "sn3.qcow2", "sn2.qcow2", "sn1-of-f17-base.qcow2", *BASE_CHAIN)),
    Step("virsh blockcommit --domain f17 vda --base /export/vmimages/sn1.qcow2 "
         "--top /export/vmimages/sn3.qcow2 --wait --verbose",
         "blockcommit --domain {DOM} vda --base {IMG}/sn1-of-f17-base.qcow2 --top {IMG}/sn3.qcow2 "
         "--wait --verbose", V, L,
         expect=("Block commit: [100 %]", "Commit complete"),
         chain=("sn4.qcow2", "sn1-of-f17-base.qcow2", *BASE_CHAIN), notes="method-a"),
    # method-b on a fresh [base] <- sn1 <- sn2 <- sn3 <- active: sn4 plays sn2, sn5 plays sn3
    Step("", "snapshot-create-as {DOM} snap5 " + EXT % "sn5.qcow2", V, L,
         chain=("sn5.qcow2", "sn4.qcow2", "sn1-of-f17-base.qcow2", *BASE_CHAIN)),
    Step("", "snapshot-create-as {DOM} snap6 " + EXT % "sn6.qcow2", V, L,
         chain=("sn6.qcow2", "sn5.qcow2", "sn4.qcow2", "sn1-of-f17-base.qcow2", *BASE_CHAIN)),
    Step("virsh blockcommit --domain f17 vda --base /export/vmimages/sn2.qcow2 "
         "--top /export/vmimages/sn3.qcow2 --wait --verbose",
         "blockcommit --domain {DOM} vda --base {IMG}/sn4.qcow2 --top {IMG}/sn5.qcow2 --wait --verbose", V, L,
         expect=("Commit complete",),
         chain=("sn6.qcow2", "sn4.qcow2", "sn1-of-f17-base.qcow2", *BASE_CHAIN), notes="method-b, 1/2"),
    Step("virsh blockcommit --domain f17 vda --base /export/vmimages/sn1.qcow2 "
         "--top /export/vmimages/sn2.qcow2 --wait --verbose",
         "blockcommit --domain {DOM} vda --base {IMG}/sn1-of-f17-base.qcow2 --top {IMG}/sn4.qcow2 "
         "--wait --verbose", V, L,
         expect=("Commit complete",),
         chain=("sn6.qcow2", "sn1-of-f17-base.qcow2", *BASE_CHAIN), notes="method-b, 2/2"),
# The guide's NOTE: "eventually ... merge down the 'Active' layer" (issue 4 asks for it)
    # --base: without it the commit would go into the guest disk every test guest shares
    # (QEMU refuses: other guests hold its lock) - as libvirt, the default base is the bottom.
    Step("", "blockcommit {DOM} vda --active --base {IMG}/sn1-of-f17-base.qcow2 --pivot --verbose --wait", V, L,
         expect=("Block commit: [100 %]", "Successfully pivoted"),
         chain=("sn1-of-f17-base.qcow2", *BASE_CHAIN)),
    # --- blockpull ---
    Step("", "snapshot-create-as {DOM} snap7 " + EXT % "Active.qcow2", V, L,
         chain=("Active.qcow2", "sn1-of-f17-base.qcow2", *BASE_CHAIN)),
    Step("ls -lash /var/lib/libvirt/images/RootBase.img", "ls -lash {BASE}", S, L),
    Step("ls -lash /var/lib/libvirt/images/*Snap*", "ls -lash {IMG}/sn*.qcow2 {IMG}/Active.qcow2", S, L,
         tags=frozenset({"size-before"})),
    Step("qemu-img info /var/lib/libvirt/images/Active.qcow2", "qemu-img info -U {IMG}/Active.qcow2", Q, L,
         expect=("backing file: {IMG}/sn1-of-f17-base.qcow2",)),
    Step("virsh blockpull --domain RootBase --path var/lib/libvirt/images/active.qcow2 "
         "--base /var/lib/libvirt/images/RootBase.qcow2 --wait --verbose",
         "blockpull --domain {DOM} --path {IMG}/Active.qcow2 --base {BASE} --wait --verbose", V, L,
         expect=("Block Pull: [100 %]", "Pull complete"), chain=("Active.qcow2", "BASE"),
         notes="the guide's path lacks its leading '/'"),
    Step("virsh snapshot-delete --domain RootBase Snap-3 --metadata",
         "snapshot-delete --domain {DOM} snap3 --metadata", V, L, expect=("Domain snapshot snap3 deleted",)),
    Step("virsh snapshot-delete --domain RootBase Snap-2 --metadata",
         "snapshot-delete --domain {DOM} snap2 --metadata", V, L, expect=("Domain snapshot snap2 deleted",)),
    Step("virsh snapshot-delete --domain RootBase Snap-1 --metadata",
         "snapshot-delete --domain {DOM} snap1 --metadata", V, L, expect=("Domain snapshot snap1 deleted",)),
    Step("virsh blockpull --domain ptest2-base --path /var/lib/libvirt/images/Active.qcow2 --wait --verbose",
         "blockpull --domain {DOM} --path {IMG}/Active.qcow2 --wait --verbose", V, L,
         expect=("Block Pull: [100 %]", "Pull complete"), chain=("Active.qcow2",)),
    Step("ls -lash /var/lib/libvirt/images/*Snap*", "ls -lash {IMG}/sn*.qcow2 {IMG}/Active.qcow2", S, L,
         tags=frozenset({"size-after"})),
    Step("qemu-img info /var/lib/libvirt/images/Active.qcow2", "qemu-img info -U {IMG}/Active.qcow2", Q, L,
         expect=("file format: qcow2", "cluster_size: 65536"), tags=frozenset({"no-backing"})),
    Step("virsh snapshot-delete --domain RootBase Snap-3 --metadata",
         "snapshot-delete --domain {DOM} snap4 --metadata", V, L, expect=("Domain snapshot snap4 deleted",),
         notes="the guide's step (6) repeats Snap-3; snap4 is the one left to forget"),
)

# "Deleting External snapshots (offline)": the guest is shut off; base <- sn1 <- sn2 <- sn3
# is built with offline external snapshots (qemu-img under pyvirt, as the guide says libvirt
# would), on top of Active.qcow2 which plays base.
OFF = "snapshot-create-as {DOM} %s --disk-only --diskspec vda,snapshot=external,file={IMG}/%s"
OFFLINE_STEPS: tuple[Step, ...] = (
    Step("", OFF % ("off1", "off1.qcow2"), V, O),
    Step("", OFF % ("off2", "off2.qcow2"), V, O),
    Step("", OFF % ("off3", "off3.qcow2"), V, O,
         chain=("off3.qcow2", "off2.qcow2", "off1.qcow2", "Active.qcow2")),
    # Method (1): sn1 = off1, sn2 = off2, sn3 = off3
    Step("qemu-img commit sn2.qcow2", "qemu-img commit {IMG}/off2.qcow2", Q, O, expect=("Image committed.",)),
    Step("qemu-img rebase -u -b sn1.qcow2 sn3.qcow2", "qemu-img rebase -u -b {IMG}/off1.qcow2 -F qcow2 {IMG}/off3.qcow2",
         Q, O),
    Step("rm sn2.qcow2", "rm {IMG}/off2.qcow2", S, O, chain=("off3.qcow2", "off1.qcow2", "Active.qcow2")),
    # Method (2) on base <- sn1 <- sn2 <- sn3 again: sn1 = off3, sn2 = off4, sn3 = off5
    Step("", OFF % ("off4", "off4.qcow2"), V, O),
    Step("", OFF % ("off5", "off5.qcow2"), V, O,
         chain=("off5.qcow2", "off4.qcow2", "off3.qcow2", "off1.qcow2", "Active.qcow2")),
    Step("qemu-img rebase -b sn1.qcow2 sn3.qcow2", "qemu-img rebase -b {IMG}/off3.qcow2 -F qcow2 {IMG}/off5.qcow2",
         Q, O),
    Step("rm sn2.qcow2", "rm {IMG}/off4.qcow2", S, O,
         chain=("off5.qcow2", "off3.qcow2", "off1.qcow2", "Active.qcow2")),
)


def subst(text: str, dom: str, img: str, base: str) -> str:
    return text.replace("{DOM}", dom).replace("{IMG}", img).replace("{BASE}", base)


# Beyond the guide (and beyond libvirt 9.0, which answers "domain is not running"): the
# guide's offline qemu-img recipes as block jobs on the shut-off domain. Chain before:
# Active <- off1 <- off3 <- off5. The jobs are synchronous offline (qemu-img), so no --wait:
# virsh's --wait queries the job, which libvirt (and pyvirtd) refuse for a shut-off domain.
NOT_RUNNING = "libvirt 9.0: 'Requested operation is not valid: domain is not running'"
BEYOND_STEPS: tuple[Step, ...] = (
    Step("", "blockcommit {DOM} vda --base {IMG}/off1.qcow2 --top {IMG}/off3.qcow2", V, O,
         expect=("Block Commit started",), chain=("off5.qcow2", "off1.qcow2", "Active.qcow2"),
         notes="method (1) in one command; " + NOT_RUNNING),
    Step("", "blockpull {DOM} vda --base {IMG}/Active.qcow2", V, O,
         expect=("Block Pull started",), chain=("off5.qcow2", "Active.qcow2"),
         notes="method (2): safe rebase; " + NOT_RUNNING),
    Step("", "blockcommit {DOM} vda --active", V, O, chain=("Active.qcow2",),
         notes="the active layer into its base, the definition's source follows; " + NOT_RUNNING),
)


SECTIONS: tuple[tuple[str, tuple[Step, ...]], ...] = (
    ("QCOW2 backing files & overlays (before the guest starts)", QEMU_IMG_STEPS),
    ("Live: the guest runs its disk writer", LIVE_STEPS),
    ("Offline: the guide's 'Deleting External snapshots (offline)'", OFFLINE_STEPS),
    ("Beyond the guide and libvirt 9.0: offline block jobs", BEYOND_STEPS),
)


def markdown_table() -> str:
    """The step table as docs/seed-guide.md prints it (a test keeps the two equal)."""
    out: list[str] = []
    n = 0
    for title, steps in SECTIONS:
        out += ["", f"### {title}", "", "| # | guide line | what we run | chain after (base ← top) | notes |",
                "|---|---|---|---|---|"]
        for s in steps:
            n += 1
            seed = f"`# {s.seed}`" if s.seed else "*(beyond the guide)*" if steps is BEYOND_STEPS else "*(setup)*"
            ours = ("virsh " if s.kind is Kind.VIRSH else "") + s.ours.replace("|", "\\|")
            chain = " ← ".join(reversed(s.chain)) if s.chain else ""
            out.append(f"| {n} | {seed} | `{ours}` | {chain} | {s.notes} |")
    return "\n".join(out) + "\n"


def seed_command_lines(seed_text: str) -> list[str]:
    """Every ``# virsh ...`` / ``# qemu-img ...`` line of the guide in the seed post, with
    its ``\\`` continuations joined, as the guide prints it."""
    start = seed_text.index("docs: Add detailed notes snapshots, blockcommit, blockpull")
    lines = [ln[1:].strip() if ln.startswith("+") else ln.strip() for ln in seed_text[start:].splitlines()]
    out: list[str] = []
    i = 0
    while i < len(lines):
        ln = lines[i]
        if ln.startswith(("# virsh ", "# qemu-img ")):
            cmd = ln[2:]
            while cmd.endswith("\\") and i + 1 < len(lines):
                i += 1
                cmd = cmd[:-1].rstrip() + " " + lines[i]
            out.append(" ".join(cmd.split()))
        i += 1
    return out
