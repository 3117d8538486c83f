#!/usr/bin/env python3
"""Build pyvirt's test guest from Debian packages (run through tools/build-test-guest.sh).

Outputs in OUTDIR (default ``.guest``):

  vmlinuz            the Debian cloud kernel
  initramfs.cpio.gz  busybox userland + virtio modules + qemu-guest-agent + the scripts in
                     tools/testguest/rootfs (the guest contract: READY marker, ACPI poweroff,
                     optional disk writer; see rootfs/etc/init.d/rcS)
  disk.qcow2         blank data disk whose block 0 starts with "TESTGUEST-DISK"
  manifest.txt       package versions, modules, sizes and sha256 of the outputs
  cache/debs/        downloaded packages, reused on the next run

Only the standard library and Debian's own tools (apt-get, apt-cache, dpkg-deb, qemu-img)
are used, because this runs before the project's virtual environment exists.

Cached and idempotent: a stamp over this builder, its rootfs files, the knobs and the exact
package files decides whether anything is rebuilt. Reproducible: the cpio archive is
written here with sorted names, fixed owners and mtimes, and gzip gets mtime 0.

Knobs (environment): TESTGUEST_KERNEL_FLAVOUR (cloud-amd64), TESTGUEST_KERNEL_PKG (pin),
TESTGUEST_WITH_GA (1), TESTGUEST_WITH_DISK (1), TESTGUEST_DISK_SIZE (64M),
TESTGUEST_FORCE (0), SOURCE_DATE_EPOCH (1700000000).
"""

from __future__ import annotations

import gzip
import hashlib
import lzma
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOTFS = HERE / "rootfs"

# Drivers the guest may need, in the order we want them tried; absent ones are skipped
# (the cloud flavour has no e1000/ahci, which is why a cdrom must sit on virtio-scsi).
WANTED_MODULES = [
    "virtio_pci", "virtio_mmio", "virtio_blk", "virtio_net", "virtio_console", "virtio_scsi",
    "virtio_balloon", "virtio_rng", "virtio_input", "sd_mod", "sr_mod", "button", "evdev",
    "pvpanic_pci", "pvpanic_mmio", "e1000", "e1000e", "ahci", "ata_piix",
]

# qemu-ga and every shared library it links against on Debian 12.
GA_PACKAGES = (
    "qemu-guest-agent", "libc6", "libglib2.0-0", "libpcre2-8-0", "libnuma1", "libudev1",
    "liburing2",
)
MULTIARCH = "lib/x86_64-linux-gnu"

# Files of the rootfs overlay that must be executable (git keeps the bit, but a tarball
# or a careless copy may not, and the guest would then hang silently at boot).
EXEC_DIRS = ("sbin", "etc/init.d", "etc/acpi", "usr/share/udhcpc")


def log(msg: str) -> None:
    print(f"[build-test-guest] {msg}", file=sys.stderr, flush=True)


class BuildError(Exception):
    pass


@dataclass(frozen=True)
class Knobs:
    flavour: str
    kernel_pkg: str | None
    with_ga: bool
    with_disk: bool
    disk_size: str
    force: bool
    epoch: int

    @classmethod
    def from_env(cls) -> Knobs:
        env = os.environ
        return cls(
            flavour=env.get("TESTGUEST_KERNEL_FLAVOUR", "cloud-amd64"),
            kernel_pkg=env.get("TESTGUEST_KERNEL_PKG") or None,
            with_ga=env.get("TESTGUEST_WITH_GA", "1") == "1",
            with_disk=env.get("TESTGUEST_WITH_DISK", "1") == "1",
            disk_size=env.get("TESTGUEST_DISK_SIZE", "64M"),
            force=env.get("TESTGUEST_FORCE", "0") == "1",
            epoch=int(env.get("SOURCE_DATE_EPOCH", "1700000000")),
        )


# ----------------------------------------------------------------------------- packages


def run(argv: list[str], cwd: Path | None = None) -> str:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(argv)} failed: {proc.stderr.strip()}")
    return proc.stdout


def apt_update() -> None:
    log("apt-get update")
    subprocess.run(["apt-get", "update", "-qq"], capture_output=True, check=False)


class PackageCache:
    """A directory of .deb files fetched with ``apt-get download``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)

    def find(self, pkg: str) -> Path | None:
        # Debian file names escape ':' of the epoch as %3a; sort so the newest wins.
        hits = sorted(self.path.glob(f"{pkg}_*.deb"), key=lambda p: _version_key(p.name))
        return hits[-1] if hits else None

    def ensure(self, pkgs: list[str]) -> dict[str, Path]:
        missing = [p for p in pkgs if self.find(p) is None]
        if missing:
            log(f"apt-get download {' '.join(missing)}")
            try:
                run(["apt-get", "download", *missing], cwd=self.path)
            except BuildError:
                apt_update()
                run(["apt-get", "download", *missing], cwd=self.path)
        found = {p: self.find(p) for p in pkgs}
        lost = [p for p, f in found.items() if f is None]
        if lost:
            raise BuildError(f"packages not downloaded: {lost}")
        return {p: f for p, f in found.items() if f is not None}


def _version_key(name: str) -> list[tuple[int, str]]:
    return [(int(t), "") if t.isdigit() else (-1, t) for t in re.split(r"(\d+)", name)]


def resolve_kernel(knobs: Knobs, cache: PackageCache) -> str:
    """The concrete linux-image-X package behind the flavour metapackage."""
    if knobs.kernel_pkg:
        return knobs.kernel_pkg
    meta = f"linux-image-{knobs.flavour}"
    for attempt in range(2):
        proc = subprocess.run(["apt-cache", "depends", meta], capture_output=True, text=True,
                              check=False)
        m = re.search(r"Depends: (linux-image-\d\S*)", proc.stdout)
        if m:
            return m.group(1)
        if attempt == 0:
            apt_update()
    # Offline with a warm cache: keep using the kernel we already have.
    cached = sorted(cache.path.glob(f"linux-image-*-{knobs.flavour}_*.deb"))
    if cached:
        return cached[-1].name.split("_", 1)[0]
    raise BuildError(f"cannot resolve {meta}")


# ----------------------------------------------------------------------------- modules


def modinfo_depends(ko: Path) -> list[str]:
    """The ``depends=`` entry of a module's .modinfo section (what depmod would read)."""
    data = ko.read_bytes()
    if ko.name.endswith(".xz"):
        data = lzma.decompress(data)
    m = re.search(rb"(?:^|\0)depends=([^\0]*)\0", data)
    if not m or not m.group(1):
        return []
    return [d.decode().replace("-", "_") for d in m.group(1).split(b",") if d]


def module_name(ko: Path) -> str:
    name = ko.name
    for suffix in (".xz", ".ko"):
        name = name.removesuffix(suffix)
    return name.replace("-", "_")


def order_modules(modroot: Path, wanted: list[str]) -> list[tuple[str, Path]]:
    """Wanted modules plus their dependencies, each after everything it depends on."""
    files = {module_name(p): p for p in modroot.rglob("*.ko*")}
    order: list[tuple[str, Path]] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        ko = files.get(name)
        if ko is None:
            log(f"module {name} not in this kernel, skipped")
            return
        for dep in modinfo_depends(ko):
            visit(dep)
        order.append((name, ko))

    for name in wanted:
        visit(name)
    return order


# ----------------------------------------------------------------------------- cpio


@dataclass
class CpioWriter:
    """newc ("070701") archive writer with fixed metadata, so equal trees give equal bytes."""

    mtime: int
    chunks: list[bytes] = field(default_factory=list)
    ino: int = 1

    def _entry(self, name: str, mode: int, data: bytes = b"", nlink: int = 1,
               rdev: tuple[int, int] = (0, 0), ino: int | None = None) -> None:
        bname = name.encode() + b"\0"
        fields = (self.ino if ino is None else ino, mode, 0, 0, nlink, self.mtime, len(data),
                  0, 0, rdev[0], rdev[1], len(bname), 0)
        header = b"070701" + b"".join(b"%08X" % v for v in fields)
        self.chunks += [header, bname, b"\0" * (-(len(header) + len(bname)) % 4),
                        data, b"\0" * (-len(data) % 4)]
        self.ino += 1

    def add_tree(self, root: Path) -> None:
        for path in sorted(root.rglob("*"), key=lambda p: str(p.relative_to(root))):
            rel = str(path.relative_to(root))
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                self._entry(rel, stat.S_IFLNK | 0o777, os.readlink(path).encode())
            elif stat.S_ISDIR(st.st_mode):
                self._entry(rel, stat.S_IFDIR | stat.S_IMODE(st.st_mode), nlink=2)
            elif stat.S_ISREG(st.st_mode):
                self._entry(rel, stat.S_IFREG | stat.S_IMODE(st.st_mode), path.read_bytes())

    def add_chardev(self, name: str, perm: int, major: int, minor: int) -> None:
        # Device nodes go straight into the archive: no mknod (and no root) needed.
        self._entry(name, stat.S_IFCHR | perm, rdev=(major, minor))

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0, ino=0)
        return b"".join(self.chunks)


# ----------------------------------------------------------------------------- rootfs


def install_busybox(root: Path, busybox: Path) -> None:
    target = root / "bin" / "busybox"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, target)
    for applet in run([str(busybox), "--list-full"]).split():
        link = root / applet
        if link.exists() or link.is_symlink():
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(target, link.parent))


def install_ga(root: Path, ga_tree: Path) -> None:
    """qemu-ga plus the exact libraries the dynamic loader resolves for it."""
    ldso = ga_tree / MULTIARCH / "ld-linux-x86-64.so.2"
    libpath = f"{ga_tree / MULTIARCH}:{ga_tree / 'usr' / MULTIARCH}"
    binary = ga_tree / "usr/sbin/qemu-ga"
    listing = run([str(ldso), "--library-path", libpath, "--list", str(binary)])
    libdir = root / MULTIARCH
    libdir.mkdir(parents=True, exist_ok=True)
    for m in re.finditer(r"=> (/\S+)", listing):
        lib = Path(m.group(1))
        shutil.copy2(lib, libdir / lib.name)
    # copy2 keeps the modes: the kernel refuses a program interpreter without its x bit
    shutil.copy2(ldso, libdir / ldso.name)
    (root / "lib64").mkdir(exist_ok=True)
    (root / "lib64" / ldso.name).symlink_to(f"../{MULTIARCH}/{ldso.name}")
    (root / "usr/sbin").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(binary, root / "usr/sbin/qemu-ga")
    (root / "usr/sbin/qemu-ga").chmod(0o755)


def install_overlay(root: Path) -> None:
    for src in sorted(ROOTFS.rglob("*")):
        rel = src.relative_to(ROOTFS)
        dst = root / rel
        if src.is_dir():
            dst.mkdir(parents=True, exist_ok=True)
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.is_symlink() or dst.exists():
            dst.unlink()  # our scripts replace busybox applet links (e.g. /sbin/shutdown)
        shutil.copyfile(src, dst)
        executable = str(rel) == "init" or any(str(rel).startswith(d + "/") for d in EXEC_DIRS)
        dst.chmod(0o755 if executable else 0o644)


def make_root(work: Path, debs: dict[str, Path], kernel_pkg: str, knobs: Knobs) -> tuple[
        Path, str, list[str]]:
    """Assemble the initramfs tree; returns (root, kernel release, module names)."""
    x = work / "x"
    for pkg, deb in debs.items():
        group = "kernel" if pkg == kernel_pkg else "busybox" if pkg == "busybox-static" else "ga"
        (x / group).mkdir(parents=True, exist_ok=True)
        run(["dpkg-deb", "-x", str(deb), str(x / group)])
    root = work / "root"
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "run", "tmp",
              "root", "var/log", "mnt", "lib/modules"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)
    (root / "var/run").symlink_to("../run")

    install_busybox(root, x / "busybox/bin/busybox")
    kver = min(p.name for p in (x / "kernel/lib/modules").iterdir())
    shutil.copyfile(x / f"kernel/boot/vmlinuz-{kver}", work / "vmlinuz")
    modules = order_modules(x / f"kernel/lib/modules/{kver}", WANTED_MODULES)
    lines = []
    for name, ko in modules:
        rel = ko.relative_to(x / "kernel")
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        if ko.name.endswith(".xz"):
            # busybox insmod cannot read compressed modules
            rel = rel.with_name(rel.name.removesuffix(".xz"))
            (root / rel).write_bytes(lzma.decompress(ko.read_bytes()))
        else:
            shutil.copyfile(ko, root / rel)
        lines.append(f"{name} /{rel}\n")
    if knobs.with_ga:
        install_ga(root, x / "ga")
    install_overlay(root)
    (root / "etc/modules.order").write_text("".join(lines))
    (root / "etc/testguest-kernel").write_text(kver + "\n")
    (root / "etc/os-release").write_text(
        'NAME="pyvirt testguest"\nID=testguest\nID_LIKE=debian\nVERSION_ID="1"\n'
        f'PRETTY_NAME="pyvirt testguest (busybox, {kver})"\n')
    return root, kver, [n for n, _ in modules]


def make_disk(path: Path, size: str) -> None:
    raw = path.with_suffix(".raw")
    run(["truncate", "-s", size, str(raw)])
    header = b"TESTGUEST-DISK v1 pyvirt blank data disk (writer: block 0 counter, 16.. ring)\n"
    with raw.open("r+b") as f:
        f.write(header.ljust(4096, b"\0"))
    run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", str(raw), str(path)])
    raw.unlink()


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def stamp_of(knobs: Knobs, debs: dict[str, Path]) -> str:
    h = hashlib.sha256()
    for src in [Path(__file__).resolve(), *sorted(p for p in ROOTFS.rglob("*") if p.is_file())]:
        h.update(str(src.relative_to(HERE.parent)).encode() + b"\0" + src.read_bytes())
    h.update(repr((knobs.flavour, knobs.with_ga, knobs.with_disk, knobs.disk_size,
                   knobs.epoch)).encode())
    for pkg in sorted(debs):
        h.update(debs[pkg].name.encode())
    return h.hexdigest()


def build(out: Path, knobs: Knobs) -> None:
    out.mkdir(parents=True, exist_ok=True)
    cache = PackageCache(out / "cache" / "debs")
    kernel_pkg = resolve_kernel(knobs, cache)
    pkgs = [kernel_pkg, "busybox-static", *(GA_PACKAGES if knobs.with_ga else ())]
    debs = cache.ensure(pkgs)
    stamp = stamp_of(knobs, debs)
    outputs = ["vmlinuz", "initramfs.cpio.gz"] + (["disk.qcow2"] if knobs.with_disk else [])
    stamp_file = out / ".stamp"
    if (not knobs.force and stamp_file.is_file() and stamp_file.read_text().strip() == stamp
            and all((out / f).is_file() for f in outputs + ["manifest.txt"])):
        log(f"up to date: {out}")
        return

    with tempfile.TemporaryDirectory(prefix=".work.", dir=out) as tmp:
        work = Path(tmp)
        root, kver, modules = make_root(work, debs, kernel_pkg, knobs)
        log(f"kernel {kernel_pkg} ({kver}), modules: {' '.join(modules)}")
        cpio = CpioWriter(mtime=knobs.epoch)
        cpio.add_tree(root)
        cpio.add_chardev("dev/console", 0o600, 5, 1)
        cpio.add_chardev("dev/null", 0o666, 1, 3)
        (work / "initramfs.cpio.gz").write_bytes(gzip.compress(cpio.finish(), 9, mtime=0))
        if knobs.with_disk:
            make_disk(work / "disk.qcow2", knobs.disk_size)

        manifest = [f"kernel_package: {debs[kernel_pkg].name}", f"kernel_release: {kver}",
                    f"busybox: {debs['busybox-static'].name}"]
        if knobs.with_ga:
            manifest += [f"ga_pkg: {debs[p].name}" for p in GA_PACKAGES]
        manifest.append(f"modules: {' '.join(modules)}")
        manifest += [f"file: {f} {(work / f).stat().st_size} bytes sha256={sha256(work / f)}"
                     for f in outputs]
        (work / "manifest.txt").write_text("\n".join(manifest) + "\n")
        # Outputs move in first and the stamp last: an interrupted build never looks fresh.
        stamp_file.unlink(missing_ok=True)
        for f in [*outputs, "manifest.txt"]:
            os.replace(work / f, out / f)
        if not knobs.with_disk:
            (out / "disk.qcow2").unlink(missing_ok=True)
        (out / ".stamp").write_text(stamp + "\n")
    log(f"built {out}:")
    for line in manifest:
        log(f"  {line}")


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else ".guest").resolve()
    for tool in ("apt-get", "apt-cache", "dpkg-deb"):
        if shutil.which(tool) is None:
            log(f"ERROR: missing host tool {tool} (this builder needs Debian/Ubuntu)")
            return 1
    knobs = Knobs.from_env()
    if knobs.with_disk and shutil.which("qemu-img") is None:
        log("ERROR: qemu-img not found (apt-get install qemu-utils, or TESTGUEST_WITH_DISK=0)")
        return 1
    try:
        build(out, knobs)
    except BuildError as e:
        log(f"ERROR: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
