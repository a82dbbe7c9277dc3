/**
 * The end-to-end test bed: a small corporate network in network namespaces, joined by a bridge
 * that lives in a namespace of its own, so the host sees no new interface.
 *
 *   cae2e-sw        the bridge br0, 10.77.0.1 (the laptop's default gateway)
 *   cae2e-laptop    10.77.0.10: the agent as root (`client-agent daemon`), two OS users
 *   cae2e-dns       10.77.0.53: the corporate resolver (dnsmasq: a few names, forwards nothing)
 *   cae2e-boundary  10.77.0.20: the stand-in controller (:9200) and worker (:9202)
 *   cae2e-target    10.77.0.30: sshd (:22) and PostgreSQL (:5432), both accepting only the worker
 *
 * Names are fixed so that a run first sweeps whatever a crashed run left (its namespaces, the
 * processes inside them, its OS users). The two OS users are the only change outside the
 * namespaces and the run's own folder, and they are deleted at the end.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { which } from '../helpers/dns-dnsmasq.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const BIN = path.join(ROOT, 'dist/cli/bin.js');
export const NODE = process.execPath;

export const NS = {
  sw: 'cae2e-sw',
  laptop: 'cae2e-laptop',
  dns: 'cae2e-dns',
  boundary: 'cae2e-boundary',
  target: 'cae2e-target',
} as const;
export type NsName = (typeof NS)[keyof typeof NS];

export const IP = {
  gateway: '10.77.0.1',
  laptop: '10.77.0.10',
  boundary: '10.77.0.20',
  target: '10.77.0.30',
  dns: '10.77.0.53',
  intranet: '10.77.0.80',
} as const;

export const OWNER = 'cae2e-owner';
export const OTHER = 'cae2e-other';
export const BOUNDARY_LOGIN = {
  authMethodId: 'ampw_e2e0000001',
  login: 'alice',
  password: 'alice-e2e',
};
export const CONTROLLER = `http://${IP.boundary}:9200`;

/** The laptop's resolv.conf before the agent starts (the DHCP-given corporate resolver). */
export const ORIGINAL_RESOLV_CONF = `# corporate resolver (e2e)\nsearch corp.test\nnameserver ${IP.dns}\noptions timeout:2 attempts:2\n`;

export interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Run as this OS user, else root. */
  readonly user?: string;
  readonly input?: string;
  readonly timeoutMs?: number;
}

/**
 * The argv that runs `argv` inside a namespace, as a user. `ip netns exec` and `setpriv` both
 * exec, so the process started is the program itself: a signal to its pid reaches it.
 */
export function inNs(ns: NsName, argv: readonly string[], user?: string): string[] {
  const asUser =
    user === undefined
      ? []
      : ['setpriv', `--reuid=${user}`, `--regid=${user}`, '--init-groups', '--'];
  return ['ip', 'netns', 'exec', ns, ...asUser, ...argv];
}

/** Runs a command to its end (bounded), never throwing for a non-zero exit. */
export function run(
  ns: NsName,
  argv: readonly string[],
  options: RunOptions = {},
): Promise<Result> {
  const [cmd, ...args] = inNs(ns, argv, options.user);
  return new Promise((resolve) => {
    const child = spawn(cmd ?? 'ip', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      stderr += `\n(killed after ${String(options.timeoutMs ?? 30_000)} ms)`;
    }, options.timeoutMs ?? 30_000);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal === null ? -1 : 128), stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** A long-running process of the bed, its output in a log file. */
export class BedProcess {
  readonly exited: Promise<number | null>;
  #exitCode: number | null | undefined;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logFile: string,
    /** What asks it to stop (PostgreSQL: SIGINT, a fast shutdown that does not wait for clients). */
    readonly stopSignal: NodeJS.Signals = 'SIGTERM',
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        this.#exitCode = code;
        resolve(code);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.#exitCode === undefined;
  }

  log(): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : '';
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) process.kill(this.pid, signal);
  }

  /** The stop signal, then SIGKILL after `graceMs`; resolves with the exit code. */
  async stop(graceMs = 10_000): Promise<number | null> {
    if (!this.running) return this.#exitCode ?? null;
    this.signal(this.stopSignal);
    const timer = setTimeout(() => {
      this.signal('SIGKILL');
    }, graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function until<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 15_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${String(timeoutMs)} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const sh = (cmd: string, args: readonly string[]): string =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const quiet = (cmd: string, args: readonly string[]): void => {
  try {
    sh(cmd, args);
  } catch {
    // already gone
  }
};
const nsSh = (ns: NsName, ...args: string[]): string => sh('ip', ['netns', 'exec', ns, ...args]);

/** Why the suite cannot run here, or undefined. */
export function bedSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, users, sshd)';
  for (const program of [
    'ip',
    'dnsmasq',
    'sshd',
    'ssh',
    'ssh-keygen',
    'psql',
    'dig',
    'nslookup',
    'runuser',
    'setpriv',
    'useradd',
  ]) {
    if (which(program) === undefined) return `${program} is not installed`;
  }
  if (postgresBin() === undefined) return 'the PostgreSQL server is not installed';
  if (!fs.existsSync(BIN)) return 'dist/ is not built (npm run build)';
  return undefined;
}

function postgresBin(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!fs.existsSync(base)) return undefined;
  const versions = fs
    .readdirSync(base)
    .filter((v) => fs.existsSync(path.join(base, v, 'bin/postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : path.join(base, versions[0], 'bin');
}

/** Kills what still runs inside `ns`, deletes it and its resolv.conf folder; quiet when gone. */
function removeNamespace(ns: NsName): void {
  let pids: string[] = [];
  try {
    pids = sh('ip', ['netns', 'pids', ns]).split('\n').filter(Boolean);
  } catch {
    // the namespace is gone already
  }
  for (const pid of pids) quiet('kill', ['-KILL', pid]);
  quiet('ip', ['netns', 'del', ns]);
  fs.rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
}

/** Removes what a previous (maybe crashed) run left: processes in our namespaces, the namespaces, the users. */
export function sweepPreviousRun(): string[] {
  const swept: string[] = [];
  const existing = new Set(
    sh('ip', ['netns', 'list'])
      .split('\n')
      .map((l) => l.split(' ')[0] ?? ''),
  );
  for (const ns of Object.values(NS)) {
    if (existing.has(ns)) swept.push(`namespace ${ns}`);
    removeNamespace(ns);
  }
  for (const user of [OWNER, OTHER]) {
    if (userId(user) !== undefined) {
      quiet('userdel', [user]);
      swept.push(`user ${user}`);
    }
  }
  return swept;
}

export function userId(user: string): number | undefined {
  try {
    return Number(sh('id', ['-u', user]).trim());
  } catch {
    return undefined;
  }
}

/** What must be the same on the host before and after the run. */
export function hostSnapshot(): { resolvConf: string; links: string } {
  return {
    resolvConf: fs.readFileSync('/etc/resolv.conf', 'utf8'),
    links: sh('ip', ['-o', 'link', 'show'])
      .split('\n')
      .map((l) => l.replace(/^\d+:\s*/, '').split(/[:@]/)[0] ?? '')
      .sort()
      .join(' '),
  };
}

export interface Bed {
  readonly dir: string;
  readonly logs: string;
  readonly agentConfig: string;
  readonly agentStateFile: string;
  readonly processes: BedProcess[];
  readonly devserver: BedProcess;
  readonly dnsmasqLog: string;
  readonly sshdLog: string;
  readonly postgresLog: string;
  /** Starts `client-agent daemon` in the laptop namespace, resolves when it is ready. */
  startAgent(): Promise<BedProcess>;
  /** Runs a process in the background for the rest of the run (or until stopped). */
  spawn(
    name: string,
    ns: NsName,
    argv: readonly string[],
    user?: string,
    stopSignal?: NodeJS.Signals,
  ): BedProcess;
  /** Stops every process, deletes the namespaces and the users; the folder stays when `keep`. */
  destroy(keep: boolean): Promise<void>;
}

/** Builds the network, the users and the servers, and starts them. Undoes everything on failure. */
export async function createBed(): Promise<Bed> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'client-agent-e2e-'));
  fs.chmodSync(dir, 0o755);
  const logs = path.join(dir, 'logs');
  fs.mkdirSync(logs);
  const processes: BedProcess[] = [];
  const namespaces: NsName[] = [];
  const users: string[] = [];

  const spawnIn = (
    name: string,
    ns: NsName,
    argv: readonly string[],
    user?: string,
    stopSignal?: NodeJS.Signals,
  ): BedProcess => {
    const runs = processes.filter((p) => p.name === name).length;
    const logFile = path.join(logs, runs === 0 ? `${name}.log` : `${name}-${String(runs + 1)}.log`);
    const fd = fs.openSync(logFile, 'w');
    const [cmd, ...args] = inNs(ns, argv, user);
    const child = spawn(cmd ?? 'ip', args, { stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    const p = new BedProcess(name, child, logFile, stopSignal);
    processes.push(p);
    return p;
  };

  /** Idempotent: what it has undone is forgotten. */
  const destroy = async (keep: boolean): Promise<void> => {
    for (const p of processes.reverse().splice(0)) await p.stop(5_000);
    for (const ns of namespaces.reverse().splice(0)) removeNamespace(ns);
    for (const user of users.splice(0)) quiet('userdel', [user]);
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    // The network.
    sh('ip', ['netns', 'add', NS.sw]);
    namespaces.push(NS.sw);
    nsSh(NS.sw, 'ip', 'link', 'set', 'lo', 'up');
    nsSh(NS.sw, 'ip', 'link', 'add', 'br0', 'type', 'bridge');
    nsSh(NS.sw, 'ip', 'addr', 'add', `${IP.gateway}/24`, 'dev', 'br0');
    nsSh(NS.sw, 'ip', 'link', 'set', 'br0', 'up');
    const hosts: [NsName, string, string][] = [
      [NS.laptop, IP.laptop, 'vlap'],
      [NS.dns, IP.dns, 'vdns'],
      [NS.boundary, IP.boundary, 'vbnd'],
      [NS.target, IP.target, 'vtgt'],
    ];
    for (const [ns, ip, port] of hosts) {
      sh('ip', ['netns', 'add', ns]);
      namespaces.push(ns);
      nsSh(NS.sw, 'ip', 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      nsSh(NS.sw, 'ip', 'link', 'set', port, 'master', 'br0', 'up');
      nsSh(ns, 'ip', 'link', 'set', 'lo', 'up');
      nsSh(ns, 'ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
      nsSh(ns, 'ip', 'link', 'set', 'eth0', 'up');
      nsSh(ns, 'ip', 'route', 'add', 'default', 'via', IP.gateway);
    }
    fs.mkdirSync(`/etc/netns/${NS.laptop}`, { recursive: true });
    fs.writeFileSync(`/etc/netns/${NS.laptop}/resolv.conf`, ORIGINAL_RESOLV_CONF);

    // Two OS users on the laptop ('*': no password, not locked, so sshd accepts their keys).
    for (const user of [OWNER, OTHER]) {
      const home = path.join(dir, `home-${user}`);
      sh('useradd', ['-M', '-d', home, '-s', '/bin/sh', '-p', '*', user]);
      users.push(user);
      fs.mkdirSync(home);
      sh('ssh-keygen', [
        '-q',
        '-t',
        'ed25519',
        '-N',
        '',
        '-C',
        user,
        '-f',
        path.join(home, 'id_ed25519'),
      ]);
      sh('chown', ['-R', `${user}:`, home]);
    }

    // The corporate resolver: a few names, NXDOMAIN for the rest of corp.test, forwards nothing.
    const dnsmasqLog = path.join(logs, 'dnsmasq-queries.log');
    spawnIn('dnsmasq', NS.dns, [
      'dnsmasq',
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      '--pid-file=',
      '--user=root',
      `--listen-address=${IP.dns}`,
      '--bind-interfaces',
      '--local=/corp.test/',
      `--address=/intranet.corp.test/${IP.intranet}`,
      '--log-queries',
      `--log-facility=${dnsmasqLog}`,
    ]);

    // The target: sshd and PostgreSQL, reachable only from the worker.
    const sshDir = path.join(dir, 'sshd');
    fs.mkdirSync(sshDir);
    sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(sshDir, 'host_key')]);
    fs.writeFileSync(
      path.join(sshDir, 'authorized_keys'),
      [OWNER, OTHER]
        .map((u) => fs.readFileSync(path.join(dir, `home-${u}`, 'id_ed25519.pub'), 'utf8'))
        .join(''),
      { mode: 0o644 },
    );
    fs.writeFileSync(
      path.join(sshDir, 'sshd_config'),
      [
        `ListenAddress ${IP.target}:22`,
        `HostKey ${path.join(sshDir, 'host_key')}`,
        'PidFile none',
        'UsePAM no',
        'StrictModes no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PubkeyAuthentication yes',
        `AuthorizedKeysFile ${path.join(sshDir, 'authorized_keys')}`,
        `AllowUsers *@${IP.boundary}`,
        'LogLevel VERBOSE',
        '',
      ].join('\n'),
    );
    fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const sshd = spawnIn('sshd', NS.target, [
      '/usr/sbin/sshd',
      '-D',
      '-e',
      '-f',
      path.join(sshDir, 'sshd_config'),
    ]);

    const pgBin = postgresBin() ?? '';
    const pgData = path.join(dir, 'pgdata');
    const pgSock = path.join(dir, 'pgsock');
    for (const d of [pgData, pgSock]) {
      fs.mkdirSync(d, { mode: 0o700 });
      sh('chown', ['postgres:', d]);
    }
    sh('runuser', [
      '-u',
      'postgres',
      '--',
      path.join(pgBin, 'initdb'),
      '-D',
      pgData,
      '-A',
      'trust',
      '-U',
      'postgres',
      '--no-sync',
    ]);
    fs.writeFileSync(path.join(pgData, 'pg_hba.conf'), `host all all ${IP.boundary}/32 trust\n`);
    const postgres = spawnIn(
      'postgres',
      NS.target,
      [
        path.join(pgBin, 'postgres'),
        '-D',
        pgData,
        '-c',
        `listen_addresses=${IP.target}`,
        '-c',
        'port=5432',
        '-c',
        `unix_socket_directories=${pgSock}`,
        '-c',
        'log_connections=on',
        '-c',
        'fsync=off',
      ],
      'postgres',
      'SIGINT',
    );

    // The stand-in Boundary controller and worker.
    const data = path.join(dir, 'boundary.json');
    fs.writeFileSync(data, JSON.stringify(boundaryData(), null, 2));
    const devserver = spawnIn('boundary', NS.boundary, [
      NODE,
      BIN,
      'devserver',
      '--data',
      data,
      '--host',
      IP.boundary,
      '--port',
      '9200',
      '--worker-port',
      '9202',
    ]);

    await until('the stand-in Boundary', () =>
      devserver.log().includes('Stop with Ctrl-C') ? true : undefined,
    );
    await until('sshd', () => (sshd.log().includes('Server listening on') ? true : undefined));
    await until('PostgreSQL', () =>
      postgres.log().includes('ready to accept connections') ? true : undefined,
    );
    await until('dnsmasq', async () => {
      const r = await run(NS.laptop, [
        'dig',
        `@${IP.dns}`,
        'intranet.corp.test',
        '+short',
        '+time=1',
        '+tries=1',
      ]);
      return r.stdout.trim() === IP.intranet ? true : undefined;
    });

    // The agent's configuration (root's, in the run's folder).
    const agentDir = path.join(dir, 'agent');
    fs.mkdirSync(agentDir);
    const agentConfig = path.join(agentDir, 'agent.hcl');
    const agentStateFile = path.join(agentDir, 'state.json');
    fs.writeFileSync(
      agentConfig,
      [
        `state_file = "${agentStateFile}"`,
        `operational_state_file = "${path.join(agentDir, 'operational.json')}"`,
        `log_file = "${path.join(logs, 'agent.log')}"`,
        'log_level = "info"',
        'alias_refresh_interval = "2s"',
        'dns_request_timeout = "5s"',
        '',
      ].join('\n'),
    );

    return {
      dir,
      logs,
      agentConfig,
      agentStateFile,
      processes,
      devserver,
      dnsmasqLog,
      sshdLog: sshd.logFile,
      postgresLog: postgres.logFile,
      spawn: spawnIn,
      async startAgent() {
        const agent = spawnIn('agent-daemon', NS.laptop, [
          NODE,
          BIN,
          'daemon',
          '--config',
          agentConfig,
        ]);
        await until(
          'the agent',
          () => {
            if (!agent.running) throw new Error(`client-agent daemon exited: ${agent.log()}`);
            return agent.log().includes('client-agent daemon running') ? true : undefined;
          },
          20_000,
        );
        return agent;
      },
      destroy,
    };
  } catch (err) {
    await destroy(true);
    throw err;
  }
}

/** The stand-in's data: alice (the owner's Boundary user) may use ssh and PostgreSQL. */
function boundaryData(): unknown {
  return {
    auth_method_id: BOUNDARY_LOGIN.authMethodId,
    users: [
      {
        id: 'u_alicee2e001',
        login_name: BOUNDARY_LOGIN.login,
        password: BOUNDARY_LOGIN.password,
        manage_aliases: true,
        // As Boundary Desktop's users: `list` on targets besides `authorize-session`. A query from
        // root, who holds no token, answers the alias only when a holder can read or list the
        // target for its port (docs/security.md).
        list_targets: true,
        grants: [{ target: 'ttcp_ssh0000e2e' }, { target: 'ttcp_pg00000e2e' }],
      },
    ],
    targets: [
      { id: 'ttcp_ssh0000e2e', name: 'ssh', address: IP.target, port: 22, default_client_port: 22 },
      {
        id: 'ttcp_pg00000e2e',
        name: 'postgres',
        address: IP.target,
        port: 5432,
        default_client_port: 5432,
      },
    ],
    aliases: [
      { id: 'alt_sshe2e0001', value: 'ssh.corp.test', destination_id: 'ttcp_ssh0000e2e' },
      { id: 'alt_pge2e00001', value: 'pg.corp.test', destination_id: 'ttcp_pg00000e2e' },
      { id: 'alt_spare00001', value: 'spare.corp.test', destination_id: 'ttcp_ssh0000e2e' },
    ],
  };
}
