#!/usr/bin/env bash
# Debian packages the tests need, installed from nothing on a fresh machine.
# Prometheus is unpacked (not installed as a daemon) into .cache/prometheus; tests find
# it there (or through $PROMETHEUS_BIN / $PROMTOOL_BIN).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

need_update=1
apt_update() { if [ "$need_update" = 1 ]; then apt-get update -qq; need_update=0; fi; }

command -v git >/dev/null || { apt_update; apt-get install -y -qq git; }

if [ ! -x .cache/prometheus/usr/bin/prometheus ]; then
  apt_update
  mkdir -p .cache/debs .cache/prometheus
  (cd .cache/debs && apt-get download -qq prometheus 2>/dev/null || apt-get download prometheus)
  dpkg-deb -x .cache/debs/prometheus_*.deb .cache/prometheus
fi
.cache/prometheus/usr/bin/prometheus --version | head -1

# CNCF Distribution (Debian's docker-registry), unpacked the same way: tests/registry starts
# it per session on a free port (or finds it through $DOCKER_REGISTRY_BIN).
if [ ! -x .cache/docker-registry/usr/bin/docker-registry ]; then
  apt_update
  mkdir -p .cache/debs .cache/docker-registry
  (cd .cache/debs && apt-get download -qq docker-registry 2>/dev/null || apt-get download docker-registry)
  dpkg-deb -x .cache/debs/docker-registry_*.deb .cache/docker-registry
fi
.cache/docker-registry/usr/bin/docker-registry --version | head -1

# Headless Chromium for the dashboard page test.
if ! command -v chromium >/dev/null; then
  apt_update
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
chromium --version
