/**
 * End to end with the real programs: the agent runs as root in the laptop namespace exactly as in
 * production (`client-agent daemon` with a config file, port 53 on its CGNAT and ULA addresses,
 * the namespace's resolver taken over), and getent, dig, nslookup, ssh and psql go through the
 * C library's resolver, the agent's proxy and the stand-in worker to real sshd and PostgreSQL.
 * The checks run in order: each builds on the state the one before left.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BIN,
  bedSkipReason,
  BOUNDARY_LOGIN,
  CONTROLLER,
  createBed,
  hostSnapshot,
  inNs,
  IP,
  NODE,
  NS,
  ORIGINAL_RESOLV_CONF,
  OTHER,
  OWNER,
  run,
  sweepPreviousRun,
  until,
  userId,
  type Bed,
  type BedProcess,
  type RunOptions,
} from './bed.js';

const reason = bedSkipReason();
if (reason !== undefined) console.log(`skipping the end-to-end suite: ${reason}`);

const RESOLV_CONF = `/etc/netns/${NS.laptop}/resolv.conf`;
const V4 = /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.\d+\.\d+$/;
const V6 = /^fd62:6f75:6e64:/;
const SSH_OPTIONS = [
  '-o',
  'BatchMode=yes',
  '-o',
  'StrictHostKeyChecking=no',
  '-o',
  'UserKnownHostsFile=/dev/null',
  '-o',
  'LogLevel=ERROR',
  '-o',
  'ConnectTimeout=15',
];

describe.skipIf(reason !== undefined)('client-agent end to end', () => {
  let bed: Bed;
  let agent: BedProcess;
  let failed = false;
  const host = reason === undefined ? hostSnapshot() : undefined;

  const laptop = (argv: readonly string[], options: RunOptions = {}) =>
    run(NS.laptop, argv, options);
  const cli = (user: string, ...args: string[]) =>
    laptop([NODE, BIN, ...args], { user, input: `${BOUNDARY_LOGIN.password}\n` });
  const dig = (...args: string[]) => laptop(['dig', '+time=3', '+tries=1', ...args]);
  const short = async (...args: string[]) => (await dig('+short', ...args)).stdout.trim();
  const ssh = (user: string, alias: string, command: string) =>
    laptop(
      [
        'ssh',
        ...SSH_OPTIONS,
        '-i',
        `${bed.dir}/home-${user}/id_ed25519`,
        `${user}@${alias}`,
        command,
      ],
      {
        user,
        timeoutMs: 30_000,
      },
    );
  const psql = (user: string, alias: string) =>
    laptop(['psql', '-h', alias, '-U', 'postgres', '-d', 'postgres', '-tAc', 'select 1'], {
      user,
      timeoutMs: 30_000,
    });
  const statusOf = async (user: string) =>
    (
      JSON.parse((await cli(user, 'status', '-format=json')).stdout) as {
        item: Record<string, unknown>;
      }
    ).item;
  const agentLog = () => fs.readFileSync(`${bed.logs}/agent.log`, 'utf8');
  /** Every address of the laptop: the agent's are on its own link (`client-agent`). */
  const addresses = async () => (await laptop(['ip', '-o', 'addr', 'show'])).stdout;

  /** `client-agent login` as the owner, the password on stdin. */
  async function login(): Promise<void> {
    const r = await cli(
      OWNER,
      'login',
      '-addr',
      CONTROLLER,
      '-auth-method-id',
      BOUNDARY_LOGIN.authMethodId,
      '-login-name',
      BOUNDARY_LOGIN.login,
      // The stand-in speaks plain HTTP on another machine of the test network.
      '-allow-plain-http',
    );
    expect(r.code, r.stderr).toBe(0);
  }

  /** An ssh session kept open (`cat` on the target) to show that something does not drop it. */
  function openSsh(alias: string) {
    const [cmd, ...args] = inNs(
      NS.laptop,
      [
        'ssh',
        ...SSH_OPTIONS,
        '-T',
        '-i',
        `${bed.dir}/home-${OWNER}/id_ed25519`,
        `${OWNER}@${alias}`,
        'cat',
      ],
      OWNER,
    );
    const child = spawn(cmd ?? 'ip', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    return {
      async echo(line: string): Promise<void> {
        const before = out.length;
        child.stdin.write(`${line}\n`);
        await until(`"${line}" back through the open ssh session (output: ${out})`, () =>
          out.slice(before).includes(line) ? true : undefined,
        );
      },
      async close(): Promise<number | null> {
        child.stdin.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      },
    };
  }

  beforeAll(async () => {
    const swept = sweepPreviousRun();
    if (swept.length > 0) console.log(`e2e: removed what a previous run left: ${swept.join(', ')}`);
    bed = await createBed();
  }, 120_000);

  afterEach((context) => {
    if (context.task.result?.state === 'fail') failed = true;
  });

  afterAll(async () => {
    const made = bed as Bed | undefined; // undefined when the bed could not be built
    if (made === undefined) return;
    if (failed && fs.existsSync(made.logs)) {
      console.log(`e2e: logs of every component are kept in ${made.logs}`);
      for (const file of fs.readdirSync(made.logs)) {
        const lines = fs.readFileSync(`${made.logs}/${file}`, 'utf8').trimEnd().split('\n');
        console.log(`--- ${file} (last 15 lines)\n${lines.slice(-15).join('\n')}`);
      }
    }
    await made.destroy(failed);
  }, 60_000);

  it('starts as root, takes the resolver over and the owner logs in', async () => {
    agent = await bed.startAgent();
    const taken = fs.readFileSync(RESOLV_CONF, 'utf8');
    expect(taken).toMatch(/^# client-agent: managed/);
    expect(taken).toMatch(/nameserver 100\.64\.0\.1/);
    expect(taken).toContain('search corp.test');
    expect(await addresses()).toMatch(/client-agent\s+inet 100\.64\.0\.1\/32/);
    await login();
    expect((await statusOf(OWNER)).auth_token_id).toMatch(/^at_/);
  });

  it('getent, dig (no @) and nslookup answer an alias with a proxy address', async () => {
    const v4 = await until('the alias in the cache', async () => {
      const answer = await short('ssh.corp.test');
      return V4.test(answer) ? answer : undefined;
    });
    const getent = await laptop(['getent', 'ahostsv4', 'ssh.corp.test']);
    expect(getent.stdout.split(/\s+/)[0]).toBe(v4);
    const hosts = await laptop(['getent', 'hosts', 'ssh.corp.test']);
    expect(hosts.code).toBe(0);
    expect(hosts.stdout.split(/\s+/)[0]).toMatch(
      new RegExp(`${v4.replaceAll('.', '\\.')}|${V6.source.slice(1)}`),
    );
    const nslookup = await laptop(['nslookup', 'ssh.corp.test']);
    expect(nslookup.stdout).toContain(v4);
  });

  it('AAAA gives the ULA address, and dig +tcp works', async () => {
    expect(await short('AAAA', 'ssh.corp.test')).toMatch(V6);
    expect(await short('+tcp', 'ssh.corp.test')).toMatch(V4);
  });

  it('an alias unknown to the controller is forwarded: NXDOMAIN from the upstream', async () => {
    const answer = await dig('nope.corp.test');
    expect(answer.stdout).toContain('status: NXDOMAIN');
    expect(fs.readFileSync(bed.dnsmasqLog, 'utf8')).toMatch(
      /query\[A\] nope\.corp\.test from 10\.77\.0\.10/,
    );
    expect(fs.readFileSync(bed.dnsmasqLog, 'utf8')).not.toContain('ssh.corp.test');
  });

  it('a corporate name gets the upstream answer', async () => {
    expect(await short('intranet.corp.test')).toBe(IP.intranet);
    expect((await laptop(['getent', 'ahostsv4', 'intranet.corp.test'])).stdout).toContain(
      IP.intranet,
    );
  });

  it('ssh as the token owner runs a command on the target, which sees the worker as the peer', async () => {
    const r = await ssh(OWNER, 'ssh.corp.test', 'echo ok');
    expect(r.stdout.trim(), r.stderr).toBe('ok');
    expect(fs.readFileSync(bed.sshdLog, 'utf8')).toMatch(
      new RegExp(`Accepted publickey for ${OWNER} from ${IP.boundary.replaceAll('.', '\\.')}`),
    );
  });

  it('psql as the owner runs select 1, and PostgreSQL sees the worker as the peer', async () => {
    const r = await psql(OWNER, 'pg.corp.test');
    expect(r.stdout.trim(), r.stderr).toBe('1');
    expect(fs.readFileSync(bed.postgresLog, 'utf8')).toContain(
      `connection received: host=${IP.boundary}`,
    );
  });

  it('another OS user is refused (connection reset) and the agent logs the refusal', async () => {
    const r = await ssh(OTHER, 'ssh.corp.test', 'echo ok');
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain('ok');
    expect(r.stderr).toMatch(/reset|closed/i);
    const p = await psql(OTHER, 'pg.corp.test');
    expect(p.code).not.toBe(0);
    const uid = userId(OTHER);
    expect(agentLog()).toMatch(
      new RegExp(`"uid":${String(uid)}[^\\n]*(refus|reset|no token|not entitled)`, 'i'),
    );
  });

  it('status and sessions show the owner its sessions, and nothing to the other user', async () => {
    const status = await statusOf(OWNER);
    expect(status.status).toBe('running');
    const owner = JSON.parse((await cli(OWNER, 'sessions', '-format=json')).stdout) as {
      items: { alias: string }[];
    };
    expect(owner.items.map((s) => s.alias).sort()).toEqual(['pg.corp.test', 'ssh.corp.test']);
    const other = await cli(OTHER, 'sessions', '-format=json');
    expect(JSON.parse(other.stdout)).toMatchObject({ items: [] });
    expect((await statusOf(OTHER)).auth_token_id).toBe('');
  });

  it('diag passes for the owner: the machine checks and the whole checklist of an alias', async () => {
    const machine = await cli(OWNER, 'diag');
    expect(machine.code, machine.stdout + machine.stderr).toBe(0);
    const alias = await cli(OWNER, 'diag', 'pg.corp.test');
    expect(alias.code, alias.stdout + alias.stderr).toBe(0);
    const other = await cli(OTHER, 'diag', 'pg.corp.test');
    expect(other.code).toBe(1);
    expect(other.stdout).toMatch(/token/i);
  });

  it('an alias added at the controller resolves within the refresh interval; a removed one stops', async () => {
    const api = async (method: string, path: string, body?: unknown) => {
      const script = `const t = (await (await fetch('${CONTROLLER}/v1/auth-methods/${BOUNDARY_LOGIN.authMethodId}:authenticate', {method: 'POST', body: JSON.stringify({command: 'login', attributes: {login_name: '${BOUNDARY_LOGIN.login}', password: '${BOUNDARY_LOGIN.password}'}})})).json()).attributes.token;
        const r = await fetch('${CONTROLLER}${path}', {method: '${method}', headers: {authorization: 'Bearer ' + t}, ${body === undefined ? '' : `body: ${JSON.stringify(JSON.stringify(body))}`}});
        console.log(JSON.stringify({status: r.status, body: r.status === 204 ? null : await r.json()}));`;
      const r = await laptop([NODE, '--input-type=module', '-e', script]);
      return JSON.parse(r.stdout) as { status: number; body: { id?: string } | null };
    };
    const created = await api('POST', '/v1/aliases', {
      scope_id: 'global',
      type: 'target',
      value: 'added.corp.test',
      destination_id: 'ttcp_ssh0000e2e',
    });
    expect(created.status).toBe(200);
    const started = Date.now();
    await until('the added alias to resolve', async () =>
      V4.test(await short('added.corp.test')) ? true : undefined,
    );
    expect(Date.now() - started).toBeLessThan(3 * 2_000 + 5_000);
    expect((await ssh(OWNER, 'added.corp.test', 'echo added')).stdout.trim()).toBe('added');

    expect((await api('DELETE', `/v1/aliases/${created.body?.id ?? ''}`)).status).toBe(204);
    await until('the removed alias to stop resolving', async () =>
      (await dig('added.corp.test')).stdout.includes('status: NXDOMAIN') ? true : undefined,
    );
  });

  it('SIGHUP applies a new log_level and upstream list without dropping an open ssh session', async () => {
    const session = openSsh('ssh.corp.test');
    await session.echo('before reload');
    const original = fs.readFileSync(bed.agentConfig, 'utf8');
    fs.writeFileSync(
      bed.agentConfig,
      original
        .replace('log_level = "info"', 'log_level = "debug"')
        .concat(`override_upstream_dns_servers = ["${IP.dns}:53"]\n`),
    );
    agent.signal('SIGHUP');
    const reloaded = await until('the reload', () =>
      agentLog()
        .split('\n')
        .find((l) => l.includes('Configuration reloaded.')),
    );
    expect(JSON.parse(reloaded)).toMatchObject({
      applied: expect.arrayContaining(['logLevel', 'overrideUpstreamDnsServers']) as unknown,
    });
    await session.echo('after reload');
    await until('a debug line in the log', () =>
      agentLog().includes('"level":"debug"') ? true : undefined,
    );
    expect(await short('intranet.corp.test')).toBe(IP.intranet);
    expect(await session.close()).toBe(0);
  });

  it('pause gives resolv.conf back byte for byte; corporate names still resolve; resume brings aliases back', async () => {
    expect((await cli(OWNER, 'pause')).code).toBe(0);
    expect(fs.readFileSync(RESOLV_CONF, 'utf8')).toBe(ORIGINAL_RESOLV_CONF);
    expect((await dig('ssh.corp.test')).stdout).toContain('status: NXDOMAIN');
    expect(await short('intranet.corp.test')).toBe(IP.intranet);
    expect((await cli(OWNER, 'resume')).code).toBe(0);
    expect(fs.readFileSync(RESOLV_CONF, 'utf8')).toMatch(/^# client-agent: managed/);
    expect(await short('ssh.corp.test')).toMatch(V4);
    expect((await ssh(OWNER, 'ssh.corp.test', 'echo resumed')).stdout.trim()).toBe('resumed');
  });

  it('controller down: cached aliases, corporate names and open sessions work, new sessions fail cleanly, a burst self-pauses; back + resume: all works', async () => {
    const session = openSsh('ssh.corp.test');
    await session.echo('before the outage');
    bed.devserver.signal('SIGUSR1');
    await until('the controller to go down', () =>
      bed.devserver.log().includes('Stand-in controller down.') ? true : undefined,
    );
    expect(await short('ssh.corp.test')).toMatch(V4);
    expect(await short('intranet.corp.test')).toBe(IP.intranet);
    await session.echo('during the outage');
    // A new session cannot be authorized: the alias answer falls back to the upstream's NXDOMAIN.
    const fresh = await dig('spare.corp.test');
    expect(fresh.stdout).toContain('status: NXDOMAIN');
    const paused = await until(
      'the self-pause',
      async () => {
        await dig('spare.corp.test');
        const status = await statusOf(OWNER);
        return status.status === 'paused' ? status : undefined;
      },
      60_000,
      500,
    );
    expect((paused.warnings as string[]).join(' ')).toContain('paused itself');
    expect(fs.readFileSync(RESOLV_CONF, 'utf8')).toBe(ORIGINAL_RESOLV_CONF);
    await session.close();

    bed.devserver.signal('SIGUSR2');
    await until('the controller to come back', () =>
      bed.devserver.log().includes('Stand-in controller back.') ? true : undefined,
    );
    expect((await cli(OWNER, 'resume')).code).toBe(0);
    const spare = await until('the spare alias', async () => {
      const a = await short('spare.corp.test');
      return V4.test(a) ? a : undefined;
    });
    expect(spare).toMatch(V4);
    expect((await ssh(OWNER, 'spare.corp.test', 'echo back')).stdout.trim()).toBe('back');
  });

  it('kill -9: a new start restores, then takes the resolver over again with the right upstreams', async () => {
    agent.signal('SIGKILL');
    await agent.exited;
    expect(fs.readFileSync(RESOLV_CONF, 'utf8')).toMatch(/^# client-agent: managed/);
    agent = await bed.startAgent();
    expect(agentLog()).toContain('Undid what a previous run left on this machine.');
    expect(fs.readFileSync(RESOLV_CONF, 'utf8')).toMatch(/^# client-agent: managed/);
    expect(await short('intranet.corp.test')).toBe(IP.intranet);
    // Tokens live only in the agent's memory, never on disk: the owner logs in again.
    await login();
    expect(
      await until('the aliases', async () =>
        V4.test(await short('ssh.corp.test')) ? true : undefined,
      ),
    ).toBe(true);
  });

  it('SIGTERM: resolv.conf original, addresses gone, no state file', async () => {
    expect(await agent.stop()).toBe(0);
    expect(fs.readFileSync(RESOLV_CONF, 'utf8')).toBe(ORIGINAL_RESOLV_CONF);
    const left = await addresses();
    expect(left).not.toContain('100.64.');
    expect(left).not.toMatch(/fd62:/);
    expect(fs.existsSync(bed.agentStateFile)).toBe(false);
  });

  it('leaves the host as it found it', async () => {
    await bed.destroy(failed);
    expect(hostSnapshot()).toEqual(host);
    expect(userId(OWNER)).toBeUndefined();
  });
});
