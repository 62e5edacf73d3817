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

# Redis for the shared delivery-id dedup tests (REDIS_URL): Debian's redis-tools holds the
# server binary (redis-server is redis-check-rdb under another name), unpacked with the two
# libraries it links into .cache/redis; tests start it per session on 127.0.0.1 (or use
# $REDIS_SERVER_BIN) and skip without it.
if [ ! -x .cache/redis/usr/bin/redis-server ]; then
  apt_update
  mkdir -p .cache/debs/redis .cache/redis
  (cd .cache/debs/redis && { apt-get download -qq redis-tools libjemalloc2 liblzf1 2>/dev/null \
    || apt-get download redis-tools libjemalloc2 liblzf1; })
  for deb in .cache/debs/redis/*.deb; do dpkg-deb -x "$deb" .cache/redis; done
  ln -sf redis-check-rdb .cache/redis/usr/bin/redis-server
fi
LD_LIBRARY_PATH="$PWD/.cache/redis/usr/lib/x86_64-linux-gnu" .cache/redis/usr/bin/redis-server --version
