#!/usr/bin/env bash
# Runs one command inside a network namespace of its own with a Docker engine in it, then stops the
# engine and deletes the namespace, whatever the command's outcome: the sandbox `cargo xtask
# sam-local` runs `sam local invoke` in (root only). Nothing in the namespace can reach beyond its
# loopback and Docker's bridge; the engine needs no NAT and touches no host firewall rule.
#
#   .ci/sam-local-sandbox.sh WORK_DIR BRIDGE_IP -- COMMAND [ARG...]
#
# The engine keeps its images under WORK_DIR/docker and logs to WORK_DIR/dockerd.log; COMMAND runs
# in the namespace with DOCKER_HOST set to the engine.
set -euo pipefail

if [ $# -lt 4 ] || [ "$3" != "--" ]; then
  echo "usage: $0 WORK_DIR BRIDGE_IP -- COMMAND [ARG...]" >&2
  exit 2
fi
[ "$(id -u)" -eq 0 ] || { echo "$0: run as root" >&2; exit 2; }
work=$1 bridge=$2
shift 3

namespace="remote-exports-sam-$$"
# Socket paths must stay short, so the engine's runtime state lives under /run.
exec_root="/run/$namespace"
dockerd_pid=

stop() {
  if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
    # SIGTERM lets dockerd stop its containers and containerd before it exits.
    kill -TERM "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$dockerd_pid" 2>/dev/null || true
  fi
  rm -rf "$exec_root"
  ip netns delete "$namespace" 2>/dev/null || true
}
trap stop EXIT
trap 'exit 143' TERM INT

ip netns add "$namespace"
ip netns exec "$namespace" ip link set lo up
echo "sandbox: network namespace $namespace: loopback only; dockerd, moto and the TLS front live in it"

mkdir -p "$exec_root" "$work"
nsenter --net="/run/netns/$namespace" dockerd \
  --data-root "$work/docker" --exec-root "$exec_root" --pidfile "$exec_root/dockerd.pid" \
  --host "unix://$exec_root/docker.sock" --bip="$bridge/16" \
  --iptables=false --ip6tables=false --ip-masq=false \
  >/dev/null 2>"$work/dockerd.log" &
dockerd_pid=$!
export DOCKER_HOST="unix://$exec_root/docker.sock"

started=$SECONDS
until docker version >/dev/null 2>&1; do
  if ! kill -0 "$dockerd_pid" 2>/dev/null; then
    echo "sandbox: dockerd exited; see $work/dockerd.log" >&2
    exit 1
  fi
  if [ $((SECONDS - started)) -ge 60 ]; then
    echo "sandbox: dockerd did not answer within 60 s; see $work/dockerd.log" >&2
    exit 1
  fi
  sleep 0.2
done
echo "sandbox: dockerd ready in $((SECONDS - started)) s (log: $work/dockerd.log)"

ip netns exec "$namespace" "$@"
