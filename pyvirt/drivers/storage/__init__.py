"""Storage driver: dir/fs pools on the local filesystem, volumes through qemu-img."""
