#!/usr/bin/env bash
# Make sure a kubectl with its built-in `kustomize` command is installed; print its path.
#
# The packaging tests (tests/packaging/test_deploy.py) render deploy/ with
# `kubectl kustomize`. Where kubectl comes from, in order:
#   1. $KUBECTL, or a kubectl already on PATH (python-svc machines ship one, 1.32);
#   2. Debian's kubernetes-client package: kubectl 1.20 with kustomize v2.0.3, which is
#      why deploy/ sticks to kustomization fields that version reads.
# Safe to run again: it installs nothing when a usable kubectl is found.
# Only the path goes to stdout; apt-get's output goes to stderr.
set -euo pipefail

can_kustomize() {
    [ -n "$1" ] && [ -x "$1" ] && "$1" kustomize --help >/dev/null 2>&1
}

candidate="${KUBECTL:-$(command -v kubectl || true)}"
if can_kustomize "$candidate"; then
    echo "$candidate"
    exit 0
fi

if [ -n "$candidate" ]; then
    # Installing over it could clash with the package that owns it: leave that to a person.
    echo "ensure_kubectl: $candidate cannot run 'kubectl kustomize'; fix it or set KUBECTL" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_kubectl: no kubectl and no apt-get; install kubectl >= 1.20 by hand" >&2
    exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi

install_client() {
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
        kubernetes-client >&2
}

# A fresh machine's package lists may be stale or empty: update once, only if needed.
if ! install_client; then
    $sudo apt-get update -q >&2
    install_client
fi

candidate="$(command -v kubectl || true)"
if ! can_kustomize "$candidate"; then
    echo "ensure_kubectl: kubernetes-client installed, but 'kubectl kustomize' does not run" >&2
    exit 1
fi
echo "$candidate"
