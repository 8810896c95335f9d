#!/usr/bin/env bash
# What `cargo xtask sam-local` (and so `cargo xtask test` as root, and CI) needs from the machine,
# kept out of the Rust build tool: Debian's packages, and arm64 emulation for the deployed arm64
# bootstrap. Root only; it changes nothing that is already in place. README: "With sam local invoke,
# against moto".
#
#   .ci/provision-sam-local.sh packages   docker.io, iproute2, openssl, busybox-static, qemu-user-static
#                                         and arm64 glibc, from Debian (apt-get update once if needed)
#   .ci/provision-sam-local.sh arm64      the aarch64 standard library (rustup) and qemu-aarch64 registered
#                                         with binfmt_misc's F flag, then proves an arm64 program runs;
#                                         exits 3 with the reason when this machine cannot
set -euo pipefail

packages=(docker.io iproute2 openssl busybox-static qemu-user-static libc6-arm64-cross libgcc-s1-arm64-cross)

install_packages() {
  local missing=()
  for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "apt-get install ${missing[*]}"
  install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -o Dpkg::Use-Pty=0 -q "${missing[@]}"
  }
  # A fresh machine may have no package lists yet: update once, then try again.
  install || { apt-get update -q && install; }
}

cannot() {
  echo "arm64 cannot run here: $*" >&2
  exit 3
}

arm64_emulation() {
  if ! rustup target list --installed | grep -q '^aarch64-unknown-linux-gnu$'; then
    rustup target add aarch64-unknown-linux-gnu ||
      cannot "the aarch64 standard library is not installed and could not be added"
  fi
  local binfmt=/proc/sys/fs/binfmt_misc
  if [ ! -e "$binfmt/register" ]; then
    mount -t binfmt_misc binfmt_misc "$binfmt" || cannot "the kernel's binfmt_misc cannot be mounted"
  fi
  if [ ! -e "$binfmt/qemu-aarch64" ]; then
    local rule=/usr/lib/binfmt.d/qemu-aarch64.conf
    [ -r "$rule" ] || cannot "qemu-user-static's binfmt rule $rule is missing"
    # The F flag opens the interpreter now, so it works inside containers that do not have it.
    tr -d '\n' <"$rule" >"$binfmt/register" || cannot "qemu-aarch64 could not be registered with binfmt_misc"
  fi
  grep -q '^flags:.*F' "$binfmt/qemu-aarch64" ||
    cannot "qemu-aarch64 is registered without binfmt_misc's F flag, so containers cannot use it"
  # The arm64 dynamic loader, run directly, proves the kernel hands arm64 programs to qemu.
  /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 --version >/dev/null ||
    cannot "an arm64 program does not run under qemu"
  echo "arm64 programs run here (qemu-aarch64 with binfmt_misc's F flag)"
}

[ "$(id -u)" -eq 0 ] || { echo "$0: run as root" >&2; exit 2; }
case "${1:-}" in
  packages) install_packages ;;
  arm64) arm64_emulation ;;
  *) echo "usage: $0 packages|arm64" >&2; exit 2 ;;
esac
