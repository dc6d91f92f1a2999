#!/usr/bin/env node
/**
 * The Dockerfile's instructions run as a script, on a machine without a Docker engine (CI here):
 * each stage gets a directory of its own standing for its filesystem, COPY copies from the build
 * context (the repository less .dockerignore) or from an earlier stage's directory, RUN runs its
 * shell command there, and the last stage's CMD is started and probed with the HEALTHCHECK's
 * own command, then stopped with the STOPSIGNAL (it must exit 0: the relay drains).
 *
 * What it cannot do as a script, and says so: the base images are the machine itself (its node
 * must have the major version NODE_VERSION names), USER is not switched, and `chown` to a user
 * the machine does not have is skipped. An absolute path whose top directory the machine lacks
 * (/app, /data, /pnpm) is the stage's own, mapped into the stage's directory; a cache mount
 * (--mount=type=cache) is the machine's pnpm store, as a build cache would be.
 *
 * usage: node .ci/dockerfile-as-script.mjs [--keep]   (--keep leaves the stage directories)
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, matchesGlob, relative } from 'node:path';

process.removeAllListeners('warning'); // path.matchesGlob is "experimental" on Node 20
const CONTEXT = join(dirname(new URL(import.meta.url).pathname), '..');
const work = mkdtempSync(join(tmpdir(), 'dockerfile-as-script-'));
const keep = process.argv.includes('--keep');
const say = (m) => console.log(`dockerfile-as-script: ${m}`);

function fail(message) {
  console.error(`dockerfile-as-script: ${message}`);
  if (!keep) rmSync(work, { recursive: true, force: true });
  process.exit(1);
}

// ---- parsing ---------------------------------------------------------------------------------

/** Instructions with continuation lines joined and comments dropped. */
function instructions(text) {
  const out = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue; // a comment inside a continued instruction
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = pending + line;
    pending = '';
    const m = /^(\w+)\s+(.*)$/s.exec(full);
    if (m) out.push({ op: m[1].toUpperCase(), arg: m[2].trim() });
  }
  return out;
}

/** --flag=value options in front of an instruction's argument. */
function flags(arg) {
  const found = {};
  let rest = arg;
  for (let m; (m = /^--([\w-]+)=(\S+)\s+/.exec(rest)); rest = rest.slice(m[0].length)) found[m[1]] = m[2];
  return { flags: found, rest };
}

/** KEY=value pairs (ENV), values possibly quoted. */
function pairs(arg) {
  const out = [];
  const re = /(\w+)=("([^"]*)"|(\S*))/g;
  for (let m; (m = re.exec(arg)); ) out.push([m[1], m[3] ?? m[4]]);
  return out;
}

/** $VAR and ${VAR} from `env`. */
const expand = (text, env) => text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => env[a ?? b] ?? '');

// ---- the stages' filesystems ----------------------------------------------------------------

const hostTop = new Set(readdirSync('/'));
/** A path of the image: mapped into the stage's directory unless the machine has its top directory. */
const mapPath = (root, p) => (p.startsWith('/') && !hostTop.has(p.split('/')[1]) ? join(root, p) : p);
/** Every image path inside a shell command or a value. */
const mapPaths = (root, text) => text.replace(/(^|[\s=:'"])(\/[^\s:'"]+)/g, (_, pre, p) => pre + mapPath(root, p));

const ignorePatterns = readFileSync(join(CONTEXT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
/** .dockerignore's verdict on a context path: the last matching pattern wins, `!` re-includes. */
function ignored(rel) {
  let out = false;
  for (const pattern of ignorePatterns) {
    const negate = pattern.startsWith('!');
    const p = negate ? pattern.slice(1) : pattern;
    if (matchesGlob(rel, p) || rel.startsWith(`${p}/`)) out = !negate;
  }
  return out;
}

function copyFromContext(sources, dest) {
  for (const src of sources) {
    if (ignored(src)) fail(`COPY ${src}: .dockerignore excludes it from the build context`);
    if (!existsSync(join(CONTEXT, src))) fail(`COPY ${src}: not in the build context`);
    const target = dest.endsWith('/') ? join(dest, src.split('/').pop()) : dest;
    cpSync(join(CONTEXT, src), target, { recursive: true, filter: (from) => !ignored(relative(CONTEXT, from)) });
  }
}

// ---- running ---------------------------------------------------------------------------------

const storeDir = dirname(spawnSync('pnpm', ['store', 'path'], { encoding: 'utf8' }).stdout.trim());
const shims = join(work, 'shims');
mkdirSync(shims);
writeFileSync(
  join(shims, 'chown'),
  '#!/bin/sh\n# chown to a user this machine lacks (the image\'s `node`) is skipped, said so.\nowner="$1"; [ "${owner#-}" != "$owner" ] && owner="$2"\nif id -u "${owner%%:*}" >/dev/null 2>&1; then exec /bin/chown "$@"; fi\necho "chown skipped: no user ${owner%%:*} on this machine" >&2\n',
);
chmodSync(join(shims, 'chown'), 0o755);

/** A stage's ENV with its image paths mapped into the stage's directory. */
const mappedEnv = (st) => Object.fromEntries(Object.entries(st.env).map(([k, v]) => [k, mapPaths(st.root, v)]));

const text = readFileSync(join(CONTEXT, 'Dockerfile'), 'utf8');
const args = {};
const stages = new Map();
let stage;
for (const { op, arg } of instructions(text)) {
  if (op === 'ARG') {
    const [k, v] = arg.split('=');
    args[k] = v;
    continue;
  }
  if (op === 'FROM') {
    const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(arg);
    const image = expand(m[1], args);
    const name = m[2] ?? `stage${stages.size}`;
    const root = join(work, name);
    const parent = stages.get(image);
    if (parent) cpSync(parent.root, root, { recursive: true, verbatimSymlinks: true });
    else {
      mkdirSync(root);
      const major = /^node:(\d+)/.exec(image)?.[1];
      if (major && process.versions.node.split('.')[0] !== major) fail(`FROM ${image}: this machine's node is ${process.version}`);
    }
    // env and workdir are kept as the image sees them and mapped where used, so a stage built
    // on another maps them into its own directory.
    stage = { name, root, env: { ...(parent?.env ?? {}) }, workdir: parent?.workdir ?? '/', cmd: undefined, health: undefined, stopsignal: 'SIGTERM' };
    stages.set(name, stage);
    say(`FROM ${image} AS ${name}`);
    continue;
  }
  if (!stage) fail(`${op} before FROM`);
  const { flags: f, rest } = flags(arg);
  switch (op) {
    case 'ENV':
      for (const [k, v] of pairs(rest)) stage.env[k] = expand(v, { ...process.env, ...stage.env });
      break;
    case 'WORKDIR':
      stage.workdir = rest;
      mkdirSync(mapPath(stage.root, rest), { recursive: true });
      break;
    case 'COPY': {
      const parts = rest.split(/\s+/);
      const dest = parts.pop();
      const target = mapPath(stage.root, dest.startsWith('/') ? dest : join(stage.workdir, dest)) + (dest.endsWith('/') ? '/' : '');
      if (f.from) {
        const from = stages.get(f.from) ?? fail(`COPY --from=${f.from}: no such stage`);
        for (const src of parts) cpSync(mapPath(from.root, src), target, { recursive: true, verbatimSymlinks: true });
      } else copyFromContext(parts, target);
      say(`COPY ${arg}`);
      break;
    }
    case 'RUN': {
      if (f.mount) {
        const target = /target=([^,\s]+)/.exec(f.mount)?.[1];
        if (/type=cache/.test(f.mount) && target && !existsSync(mapPath(stage.root, target))) {
          mkdirSync(dirname(mapPath(stage.root, target)), { recursive: true });
          symlinkSync(storeDir, mapPath(stage.root, target));
        }
      }
      say(`RUN ${rest}`);
      const env = { ...process.env, ...mappedEnv(stage) };
      env.PATH = `${shims}:${env.PATH}`;
      const run = spawnSync('/bin/sh', ['-c', mapPaths(stage.root, rest)], { cwd: mapPath(stage.root, stage.workdir), env, stdio: ['ignore', 'inherit', 'inherit'] });
      if (run.status !== 0) fail(`RUN ${rest}: exit ${run.status ?? run.signal}`);
      break;
    }
    case 'HEALTHCHECK':
      stage.health = JSON.parse(/CMD\s+(\[.*\])\s*$/.exec(rest)?.[1] ?? 'null');
      break;
    case 'STOPSIGNAL':
      stage.stopsignal = rest;
      break;
    case 'CMD':
      stage.cmd = JSON.parse(rest); // exec form only: the signal must reach the process itself
      break;
    case 'USER':
    case 'EXPOSE':
      say(`${op} ${rest} (not applied by a script)`);
      break;
    default:
      fail(`unsupported instruction ${op}`);
  }
}

// ---- the image's command ----------------------------------------------------------------------

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const final = stage;
if (!final.cmd) fail('the last stage has no CMD');
const finalDir = mapPath(final.root, final.workdir);
for (const pkg of ['autocannon', 'hdr-histogram-js', 'esbuild']) {
  if (existsSync(join(finalDir, 'node_modules', pkg))) fail(`the image holds ${pkg}, which only development needs`);
}
// Loopback only, free ports, the example config, and a data dir of its own.
const env = {
  ...process.env,
  ...mappedEnv(final),
  RELAY_HOST: '127.0.0.1',
  RELAY_PORT: String(await freePort()),
  RELAY_ADMIN_HOST: '127.0.0.1',
  RELAY_ADMIN_PORT: String(await freePort()),
  RELAY_CONFIG: join(finalDir, 'deploy', 'relay.yaml'),
  RELAY_ADMIN_TOKEN: `adm-${randomBytes(12).toString('hex')}`,
  RELAY_SECRET_KEY: randomBytes(32).toString('hex'),
  RELAY_LOG_LEVEL: 'warn',
};
delete env.REDIS_URL;
delete env.MYSQL_URL;
const mocksHelp = spawnSync(process.execPath, ['dist/mocks/cli.js', '--help'], { cwd: finalDir, env, encoding: 'utf8' });
if (mocksHelp.status !== 0) fail(`the mocks' bundle does not start: ${mocksHelp.stderr}`);

say(`CMD ${final.cmd.join(' ')}`);
const [bin, ...cmdArgs] = final.cmd;
const child = spawn(bin, cmdArgs.map((a) => mapPaths(final.root, a)), { cwd: finalDir, env, stdio: ['ignore', 'inherit', 'inherit'] });
const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
let healthy = false;
for (const end = Date.now() + 60_000; Date.now() < end && child.exitCode === null; ) {
  const [hbin, ...hargs] = final.health;
  if (spawnSync(hbin, hargs, { cwd: finalDir, env }).status === 0) {
    healthy = true;
    break;
  }
  await new Promise((r) => setTimeout(r, 500));
}
if (!healthy) {
  child.kill('SIGKILL');
  fail('the HEALTHCHECK never passed');
}
say('HEALTHCHECK passed');
child.kill(final.stopsignal);
const code = await exited;
if (code !== 0) fail(`after ${final.stopsignal} the command exited ${code}, not 0`);
say(`${final.stopsignal}: exit 0. ok (stages in ${keep ? work : 'a temporary directory, removed'})`);
if (!keep) rmSync(work, { recursive: true, force: true });
