# Modules stage 1 loads on every boot, before it looks for the root image (names from
# modules.list). Built-in ones are dropped at build time; the rest goes to
# /etc/cairn/modules.boot in the initramfs.
loop squashfs overlay isofs cdrom sr_mod sd_mod
virtio_pci virtio_blk virtio_scsi ahci ata_piix nvme
af_alg algif_hash sha256_generic
evdev button
