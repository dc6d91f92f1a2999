#!/usr/bin/env bash
# The path of a relay maintainer who gates their CI on relaylab, end to end: pack this
# repository, install the tarball into an empty directory, write an adapter there for "their"
# relay (the reference relay started from the tarball stands in for it), and check that
# `relaylab conformance --target ... --adapter ./their-adapter.ts` gates with its exit codes:
# 0 when every check that ran held, 1 when the relay sends upstreams a wrong token, 2 when the
# adapter is not one. Needs the npm registry for the tarball's dependencies (npm's cache after
# the first run).
set -euo pipefail
cd "$(dirname "$0")/.."

work="$(mktemp -d)"
relay_pid=""
# The relay runs in a process group of its own (setsid below): `npx relaylab relay` is npx, a
# shell and then node, and a signal to npx alone leaves the relay running, an orphan holding its
# port. The whole group gets SIGTERM (the relay drains), then SIGKILL if it is still there.
cleanup() {
  if [ -n "$relay_pid" ]; then
    kill -TERM -- "-$relay_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 -- "-$relay_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$relay_pid" 2>/dev/null || true
    wait "$relay_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

pnpm pack --pack-destination "$work" >/dev/null
tarball="$(ls "$work"/relaylab-*.tgz)"
mkdir "$work/their-relay"
cd "$work/their-relay"
echo '{ "name": "their-relay", "private": true, "type": "module" }' > package.json
npm install --no-audit --no-fund --loglevel=error "$tarball" >/dev/null

# "Their" relay: the reference relay from the tarball, configured over its admin API.
cat > relay.yaml <<'YAML'
channels:
  - name: main
    endpoints: [{ name: placeholder, type: claude, base_url: "http://127.0.0.1:9", token: sk-ant-placeholder-0000 }]
keys: [{ key: rk-placeholder-0000000001, name: placeholder }]
YAML
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
port="$(free_port)"
admin_port="$(free_port)"
export RELAY_ADMIN_TOKEN="adm-maintainer-path-$RANDOM$RANDOM"
# The reference relay serves its admin API on a listener of its own, apart from the client port.
setsid npx relaylab relay --config relay.yaml --host 127.0.0.1 --port "$port" --admin-port "$admin_port" --log-level warn > relay.log 2>&1 &
relay_pid=$!
for _ in $(seq 1 60); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.5; done

# The adapter a maintainer writes, importing relaylab's published interface.
cat > their-adapter.ts <<'TS'
import { defineAdapter, type Layout } from 'relaylab/adapter';

export default defineAdapter(({ target, adminToken, adminUrl }) => {
  const push = async (layout: Layout) => {
    const config = structuredClone(layout.reference) as { channels?: Array<{ endpoints?: Array<{ token: string }> }> };
    // BREAK_TOKENS=1 plays a relay with a bug: it sends upstreams a token of its own.
    if (process.env.BREAK_TOKENS) for (const c of config.channels ?? []) for (const e of c.endpoints ?? []) e.token = `${e.token}-broken`;
    const res = await fetch(new URL('/admin/config', adminUrl ?? target), {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(config),
    });
    if (!res.ok) throw new Error(`PUT /admin/config: ${res.status} ${await res.text()}`);
  };
  return {
    name: 'their-relay',
    capabilities: { inbound: ['anthropic', 'openai-chat', 'openai-responses'], keys: 'layout', clock: 'none', restart: false, records: false, features: ['admin_tokens', 'pause', 'cross_channel'] },
    configure: (layout) => push(layout),
    apply: (change) => push(change.layout),
  };
});
TS
echo 'export default { name: 42 };' > not-an-adapter.ts

expect_exit() {
  local want="$1"; shift
  set +e
  "$@" > run.log 2>&1
  local got=$?
  set -e
  if [ "$got" != "$want" ]; then
    echo "maintainer path: expected exit $want, got $got from: $*" >&2
    tail -40 run.log >&2
    exit 1
  fi
  echo "maintainer path: exit $got as expected: $*"
}

target="http://127.0.0.1:$port"
expect_exit 0 npx relaylab conformance forwarding --target "$target" --adapter ./their-adapter.ts --admin-url "http://127.0.0.1:$admin_port" --admin-token "$RELAY_ADMIN_TOKEN"
test -s reports/out/junit.xml
BREAK_TOKENS=1 expect_exit 1 npx relaylab conformance forwarding --target "$target" --adapter ./their-adapter.ts --admin-url "http://127.0.0.1:$admin_port" --admin-token "$RELAY_ADMIN_TOKEN"
expect_exit 2 npx relaylab conformance forwarding --target "$target" --adapter ./not-an-adapter.ts
# Stopping the relay leaves nothing behind: no process of its group, nobody on its port.
cleanup_pid="$relay_pid"
cleanup
relay_pid=""
trap - EXIT
if kill -0 -- "-$cleanup_pid" 2>/dev/null || curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
  echo "maintainer path: the relay outlived its stop (an orphan)" >&2
  exit 1
fi
echo "maintainer path: ok (exit codes 0, 1 and 2 where expected; the relay stopped with no orphan)"
