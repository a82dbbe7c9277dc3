/**
 * The real systemd-resolved inside a network namespace the test creates, never installed on the
 * machine: the Debian packages are downloaded (`apt-get download`) and unpacked with `dpkg-deb -x`
 * into a cache directory; a private mount namespace gets tmpfs on /run/dbus and /run/systemd, its
 * own `dbus-daemon --system` with the package's D-Bus policy, a `systemd-resolve` user in copies
 * of /etc/passwd and /etc/group, and /etc/resolv.conf a symlink to resolved's stub file (an
 * overlay on /etc) as on Ubuntu. The host's /etc, /run and resolver are never touched.
 *
 * The network namespace is test/helpers/netns.ts's: `ca0` (a veth with carrier, 192.0.2.10/24,
 * default route) stands in for the laptop's primary link. Commands run inside through `nsenter`
 * on the holder process, with a `resolvectl` from the package first on PATH.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createNamespace, netnsSkipReason, type TestNamespace } from './netns.js';

/** Where the packages are downloaded and unpacked; .ci/run may fill it beforehand. */
export const RESOLVED_CACHE = process.env.CA_RESOLVED_CACHE ?? '/tmp/ca-systemd-resolved';
const PACKAGES = ['systemd-resolved', 'libsystemd-shared'];
const LIB_DIR = 'usr/lib/x86_64-linux-gnu/systemd';

/** Why the real systemd-resolved cannot run here, or undefined when it can. */
export function resolvedSkipReason(): string | undefined {
  const netns = netnsSkipReason();
  if (netns !== undefined) return netns;
  for (const tool of ['dbus-daemon', 'nsenter', 'unshare', 'dpkg-deb']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0)
      return `${tool} is not installed`;
  }
  try {
    resolvedRoot();
  } catch (error) {
    return `the systemd-resolved package could not be fetched: ${(error as Error).message}`;
  }
  return undefined;
}

/** The unpacked packages' root, downloading and unpacking them the first time. */
export function resolvedRoot(): string {
  const root = path.join(RESOLVED_CACHE, 'root');
  if (fs.existsSync(path.join(root, 'lib/systemd/systemd-resolved'))) return root;
  fs.mkdirSync(RESOLVED_CACHE, { recursive: true });
  const debs = () => fs.readdirSync(RESOLVED_CACHE).filter((f) => f.endsWith('.deb'));
  const missing = PACKAGES.filter((p) => !debs().some((f) => f.startsWith(`${p}_`)));
  if (missing.length > 0) {
    const got = spawnSync('apt-get', ['download', '-q', ...missing], {
      cwd: RESOLVED_CACHE,
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (got.status !== 0) throw new Error((got.stderr || String(got.error)).trim().slice(-300));
  }
  const staging = fs.mkdtempSync(path.join(RESOLVED_CACHE, 'unpack-'));
  for (const deb of debs())
    execFileSync('dpkg-deb', ['-x', path.join(RESOLVED_CACHE, deb), staging]);
  fs.renameSync(staging, root);
  return root;
}

/**
 * Runs as the holder (pid 1 of nothing, just the process whose mount and network namespaces
 * `nsenter` joins): sets the mounts up, starts dbus-daemon and systemd-resolved, prints `ready`
 * and sleeps. $1 the packages' root, $2 a work directory.
 */
const HOLDER = String.raw`set -eu
R=$1; W=$2
mount -t tmpfs tmpfs /run/dbus
mount -t tmpfs tmpfs /run/systemd
mount --bind "$R/usr/share/dbus-1/system.d" /usr/share/dbus-1/system.d
mkdir -p "$W/upper" "$W/overlay-work"
cp /etc/passwd /etc/group "$W/upper/"
grep -q '^systemd-resolve:' "$W/upper/passwd" ||
  echo 'systemd-resolve:x:991:991:systemd Resolver:/:/usr/sbin/nologin' >>"$W/upper/passwd"
grep -q '^systemd-resolve:' "$W/upper/group" || echo 'systemd-resolve:x:991:' >>"$W/upper/group"
ln -s /run/systemd/resolve/stub-resolv.conf "$W/upper/resolv.conf"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$W/upper,workdir=$W/overlay-work" /etc
dbus-daemon --system --fork --print-pid >"$W/dbus.pid"
LD_LIBRARY_PATH="$R/${LIB_DIR}" "$R/lib/systemd/systemd-resolved" >"$W/resolved.log" 2>&1 &
echo $! >"$W/resolved.pid"
echo ready
exec sleep infinity
`;

export interface ResolvedNamespace {
  /** The network namespace (with `ca0`, its peer `ca1` and a default route). */
  readonly namespace: TestNamespace;
  /** The holder's PID: `nsenter -t PID -m -n` enters both namespaces. */
  readonly pid: number;
  /** PATH for processes inside: the package's `resolvectl` first. */
  readonly path: string;
  /** The command prefix that runs a command inside (for a CommandRunner: prefixedRunner). */
  readonly prefix: readonly string[];
  /** Runs a command inside and returns its stdout (throws on a non-zero exit). */
  run(cmd: string, ...args: string[]): string;
  /** Runs a command inside: exit status, stdout and stderr, never throws. */
  try(cmd: string, ...args: string[]): { status: number; stdout: string; stderr: string };
  resolvectl(...args: string[]): string;
  /** Starts a long-running process inside; stop() kills it (by PID) if still running. */
  spawn(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): ChildProcess;
  /** systemd-resolved's log so far. */
  log(): string;
  /** Kills what it started, by PID, deletes the namespaces and the work directory. */
  stop(): void;
}

export async function startResolvedNamespace(prefix: string): Promise<ResolvedNamespace> {
  const root = resolvedRoot();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-resolved-`));
  const bin = path.join(work, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(
    path.join(bin, 'resolvectl'),
    `#!/bin/sh\nLD_LIBRARY_PATH='${root}/${LIB_DIR}' exec '${root}/usr/bin/resolvectl' "$@"\n`,
    { mode: 0o755 },
  );
  const namespace = createNamespace(prefix, '');
  const children: ChildProcess[] = [];
  const holder = spawn(
    'ip',
    ['netns', 'exec', namespace.name, 'unshare', '-m', '--propagation', 'private'].concat([
      'sh',
      '-c',
      HOLDER,
      'holder',
      root,
      work,
    ]),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(holder);
  const pidOf = (name: string): number | undefined => {
    const text = fs.readFileSync(path.join(work, `${name}.pid`), { encoding: 'utf8', flag: 'a+' });
    const pid = Number.parseInt(text.trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  };
  const envPath = `${bin}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`;
  const enter = (cmd: string, args: readonly string[]) => [
    '-t',
    String(holder.pid),
    '-m',
    '-n',
    'env',
    `PATH=${envPath}`,
    cmd,
    ...args,
  ];
  const tryRun = (cmd: string, ...args: string[]) => {
    const r = spawnSync('nsenter', enter(cmd, args), { encoding: 'utf8', timeout: 30_000 });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const run = (cmd: string, ...args: string[]): string => {
    const r = tryRun(cmd, ...args);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (exit ${r.status}): ${r.stderr}`);
    return r.stdout;
  };
  const stop = (): void => {
    const pids = [pidOf('resolved'), pidOf('dbus')];
    for (const child of children.slice(1)) pids.push(live(child));
    pids.push(live(holder));
    for (const pid of pids) {
      if (pid === undefined) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    try {
      namespace.destroy();
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => {
        reject(new Error(`the resolved holder did not start: ${err}`));
      }, 15_000);
      holder.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      holder.stderr.on('data', (c: Buffer) => (err += c.toString()));
      holder.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the resolved holder exited (${String(code)}): ${err}`));
      });
    });
    // resolved is up once it answers on the bus.
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (tryRun('resolvectl', 'status').status === 0) break;
      if (Date.now() > deadline) {
        throw new Error(`systemd-resolved did not start: ${readLog(work)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (error) {
    stop();
    throw error;
  }
  return {
    namespace,
    pid: holder.pid ?? 0,
    path: envPath,
    prefix: ['nsenter', ...enter('', []).slice(0, -1)],
    run,
    try: tryRun,
    resolvectl: (...args) => run('resolvectl', ...args),
    spawn(cmd, args, env) {
      const child = spawn('nsenter', enter(cmd, args), {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...env },
      });
      children.push(child);
      return child;
    },
    log: () => readLog(work),
    stop,
  };
}

function live(child: ChildProcess): number | undefined {
  return child.exitCode === null && child.signalCode === null ? child.pid : undefined;
}

function readLog(work: string): string {
  try {
    return fs.readFileSync(path.join(work, 'resolved.log'), 'utf8');
  } catch {
    return '';
  }
}
