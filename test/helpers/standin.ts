/** A stand-in controller on loopback with a small data set, for integration tests. */
import { pino, type Logger } from 'pino';
import { ControllerClient } from '../../src/boundary/index.js';
import {
  StandInController,
  buildDirectory,
  type Directory,
  SessionStore,
} from '../../src/devserver/index.js';
import { ManualClock } from '../../src/lib/index.js';

export const ALICE = { id: 'u_alice00001', login: 'alice', password: 'alice-pass' } as const;
export const BOB = { id: 'u_bob0000001', login: 'bob', password: 'bob-pass' } as const;
export const DB = 'ttcp_db00000001';
export const WEB = 'ttcp_web0000001';

export interface StandIn {
  readonly clock: ManualClock;
  readonly directory: Directory;
  readonly sessions: SessionStore;
  readonly controller: StandInController;
  readonly client: ControllerClient;
  close(): Promise<void>;
}

export const silentLog: Logger = pino({ level: 'silent' });

export async function startStandIn(
  options: { log?: Logger; timeoutMs?: number } = {},
): Promise<StandIn> {
  const clock = new ManualClock(Date.UTC(2026, 10, 21, 9, 0, 0));
  const directory = buildDirectory(
    {
      users: [
        {
          id: ALICE.id,
          login_name: ALICE.login,
          password: ALICE.password,
          manage_aliases: true,
          grants: [{ target: DB }, { target: WEB }],
        },
        { id: BOB.id, login_name: BOB.login, password: BOB.password, grants: [{ target: WEB }] },
      ],
      targets: [
        {
          id: DB,
          name: 'db',
          address: '127.0.0.1',
          port: 5432,
          default_client_port: 15432,
          connection_limit: 2,
          session_max_seconds: 3600,
          credentials: { username: 'app', password: 's3cr3t' },
        },
        { id: WEB, name: 'web', address: '127.0.0.1', port: 8080 },
      ],
      aliases: [
        { id: 'alt_db00000001', value: 'db.corp', destination_id: DB },
        { id: 'alt_web0000001', value: 'web.corp', destination_id: WEB },
      ],
    },
    clock,
  );
  const sessions = new SessionStore(clock);
  const controller = new StandInController({
    directory,
    sessions,
    workerAddress: () => '127.0.0.1:9202',
    log: options.log ?? silentLog,
  });
  await controller.start();
  const client = new ControllerClient({
    address: controller.address,
    timeoutMs: options.timeoutMs ?? 5_000,
  });
  return {
    clock,
    directory,
    sessions,
    controller,
    client,
    async close() {
      await client.close();
      await controller.close();
      sessions.close();
    },
  };
}

/** Logs in through the real API and returns the token. */
export async function login(
  standIn: StandIn,
  user: { login: string; password: string },
): Promise<string> {
  const authMethod = standIn.directory.authMethodId;
  return (await standIn.client.authenticate(authMethod, user.login, user.password)).token;
}
