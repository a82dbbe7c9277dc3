/**
 * A network namespace a test creates for the agent's machine-level work: a veth interface `ca0`
 * with 192.0.2.10/24 and a default route, loopback up, and its own resolv.conf
 * (`/etc/netns/NS/resolv.conf`, which `ip netns exec` mounts over /etc/resolv.conf). The host's
 * interfaces and resolv.conf are never touched; `destroy()` deletes everything it made.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Why namespace tests cannot run here, or undefined when they can. */
export function netnsSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'needs root to create a network namespace';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'the ip command (iproute2) is not installed';
  }
  return undefined;
}

export interface TestNamespace {
  readonly name: string;
  /** The namespace's resolv.conf as seen from the host. */
  readonly resolvConf: string;
  /** Runs a command inside the namespace and returns its stdout. */
  run(...args: string[]): string;
  /**
   * Another machine on the same link: a second namespace that gets the veth's other end (`ca1`,
   * 192.0.2.20/24) and routes the agent's prefixes (100.64.0.0/10) via 192.0.2.10. Deleted with
   * this namespace.
   */
  addPeer(): PeerNamespace;
  destroy(): void;
}

export interface PeerNamespace {
  readonly name: string;
  readonly address: string;
  run(...args: string[]): string;
}

export const PEER_ADDRESS = '192.0.2.20';

export function createNamespace(prefix: string, resolvConf: string): TestNamespace {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  const dir = `/etc/netns/${name}`;
  const run = (...args: string[]): string =>
    execFileSync('ip', ['netns', 'exec', name, ...args], { encoding: 'utf8' });
  execFileSync('ip', ['netns', 'add', name]);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(`${dir}/resolv.conf`, resolvConf);
  run('ip', 'link', 'set', 'lo', 'up');
  run('ip', 'link', 'add', 'ca0', 'type', 'veth', 'peer', 'name', 'ca1');
  run('ip', 'link', 'set', 'ca1', 'up');
  run('ip', 'link', 'set', 'ca0', 'up');
  run('ip', 'addr', 'add', '192.0.2.10/24', 'dev', 'ca0');
  run('ip', 'route', 'add', 'default', 'via', '192.0.2.1', 'dev', 'ca0');
  const peers: string[] = [];
  return {
    name,
    resolvConf: `${dir}/resolv.conf`,
    run,
    addPeer() {
      const peer = `${name}-p${peers.length}`;
      const runPeer = (...args: string[]): string =>
        execFileSync('ip', ['netns', 'exec', peer, ...args], { encoding: 'utf8' });
      execFileSync('ip', ['netns', 'add', peer]);
      peers.push(peer);
      run('ip', 'link', 'set', 'ca1', 'netns', peer);
      runPeer('ip', 'link', 'set', 'lo', 'up');
      runPeer('ip', 'link', 'set', 'ca1', 'up');
      runPeer('ip', 'addr', 'add', `${PEER_ADDRESS}/24`, 'dev', 'ca1');
      runPeer('ip', 'route', 'add', '100.64.0.0/10', 'via', '192.0.2.10', 'dev', 'ca1');
      return { name: peer, address: PEER_ADDRESS, run: runPeer };
    },
    destroy() {
      try {
        for (const peer of peers.splice(0)) execFileSync('ip', ['netns', 'del', peer]);
        execFileSync('ip', ['netns', 'del', name]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** A daemon configuration whose state and log files live in `dir`; returns its path. */
export function writeDaemonConfig(dir: string): string {
  const file = path.join(dir, 'agent.hcl');
  fs.writeFileSync(
    file,
    [
      `state_file = "${dir}/state.json"`,
      `operational_state_file = "${dir}/operational.json"`,
      `log_file = "${dir}/agent.log"`,
      'dns_request_timeout = "3s"',
      '',
    ].join('\n'),
  );
  return file;
}

/**
 * Runs `node ARGS` inside namespace `ns` until its stderr shows `ready` (20 s at most); the child
 * is added to `children` so that the test can kill what it started.
 */
export function startInNamespace(
  ns: string,
  children: ChildProcess[],
  args: string[],
  ready: string,
): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  const what = args[1] ?? '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`client-agent ${what} did not start: ${stderr}`));
    }, 20_000);
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (stderr.includes(ready)) {
        clearTimeout(timer);
        resolve({ child, output: () => stderr });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`client-agent ${what} exited (${String(code)}): ${stderr}`));
    });
  });
}

/**
 * `client-agent dev --system` (the full agent against the stand-in) inside `ns` until it is
 * ready; `extra` adds options (`--upstream IP:PORT` sends other names there instead of to the
 * namespace's resolvers).
 */
export function startDevSystem(
  ns: string,
  children: ChildProcess[],
  bin: string,
  stateDir: string,
  extra: readonly string[] = [],
): Promise<{ child: ChildProcess; output: () => string }> {
  return startInNamespace(
    ns,
    children,
    [
      bin,
      'dev',
      '--system',
      '--state-dir',
      stateDir,
      '--controller-port',
      '0',
      '--worker-port',
      '0',
      ...extra,
    ],
    'Stop with Ctrl-C.',
  );
}

/** Kills what the test started (by PID, still running only), deletes the namespace and `dir`. */
export function tearDown(
  children: readonly ChildProcess[],
  namespace: TestNamespace,
  dir: string,
): void {
  for (const child of children) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null)
      child.kill('SIGKILL');
  }
  try {
    namespace.destroy();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
