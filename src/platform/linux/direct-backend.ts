/**
 * Linux without systemd-resolved: /etc/resolv.conf rewritten in place (rename fails on a bind
 * mount), the original kept in the state; polled with the injected clock so that another program
 * overwriting it (a DHCP client, a VPN) is taken over again, at a bounded rate, with a warning.
 */
import type { Clock } from '../../lib/index.js';
import type { OsDnsConfig } from '../platform.js';
import type { ResolverState } from '../platform-state.js';
import type { PlatformFs } from '../root-fs.js';
import type { ResolverBackend } from '../takeover-resolver.js';
import { parseResolvConf } from './resolv-conf.js';
import { renderTakeover, stripTakeover } from './resolv-conf-takeover.js';

export const RESOLV_CONF = '/etc/resolv.conf';

export interface DirectBackendOptions {
  readonly fs: PlatformFs;
  readonly clock: Clock;
  /** How often the file is checked (default 2 s). */
  readonly watchIntervalMs?: number;
  /** At most this many re-assertions per window (default 5 per 60 s); beyond, a warning only. */
  readonly reassertLimit?: number;
  readonly reassertWindowMs?: number;
}

type FileState = Extract<ResolverState, { kind: 'resolv-conf' }>;

export class DirectResolvConfBackend implements ResolverBackend {
  readonly kind = 'resolv-conf' as const;
  readonly #o: DirectBackendOptions;

  constructor(options: DirectBackendOptions) {
    this.#o = options;
  }

  async snapshot(_config: OsDnsConfig): Promise<ResolverState> {
    const text = (await this.#o.fs.readIfExists(RESOLV_CONF)) ?? '';
    // A marker here means a dead run's take-over that recovery did not see: keep its original.
    const original = stripTakeover(text);
    return {
      kind: 'resolv-conf',
      path: RESOLV_CONF,
      original,
      encoding: 'latin1',
      upstreams: parseResolvConf(original).map((s) => s.address),
    };
  }

  async write(config: OsDnsConfig, original: ResolverState): Promise<void> {
    const state = asFile(original);
    await this.#o.fs.writeInPlace(state.path, renderTakeover(state.original, config.servers));
  }

  async restore(original: ResolverState): Promise<void> {
    const state = asFile(original);
    await this.#o.fs.writeInPlace(state.path, state.original);
  }

  async current(): Promise<string[]> {
    const text = (await this.#o.fs.readIfExists(RESOLV_CONF)) ?? '';
    return parseResolvConf(text).map((s) => s.address);
  }

  watch(
    config: OsDnsConfig,
    original: ResolverState,
    replace: (next: ResolverState) => Promise<void>,
    warn: (message: string) => void,
  ): () => void {
    const interval = this.#o.watchIntervalMs ?? 2_000;
    const limit = this.#o.reassertLimit ?? 5;
    const windowMs = this.#o.reassertWindowMs ?? 60_000;
    const clock = this.#o.clock;
    let state = asFile(original);
    let expected = renderTakeover(state.original, config.servers);
    const run = { stopped: false };
    // A function, not the field: the watcher can be stopped while a check awaits.
    const isStopped = (): boolean => run.stopped;
    let recent: number[] = [];
    let gaveUp = false;
    let timer = clock.setTimeout(tick, interval);

    const check = async (): Promise<void> => {
      const text = await this.#o.fs.readIfExists(state.path);
      // Missing: another program is between unlink and rename; look again next time.
      if (isStopped() || text === undefined || text === expected) return;
      const now = clock.monotonic();
      recent = recent.filter((t) => now - t < windowMs);
      if (recent.length >= limit) {
        if (!gaveUp) {
          warn(
            `${state.path} keeps being rewritten by another program; the agent stops taking it back for now (${limit} times in ${windowMs / 1000}s)`,
          );
        }
        gaveUp = true;
        return;
      }
      gaveUp = false;
      recent.push(now);
      // What the other program wrote is the new original: restore gives it back.
      const next: FileState = {
        ...state,
        original: stripTakeover(text),
        upstreams: parseResolvConf(stripTakeover(text)).map((s) => s.address),
      };
      await replace(next);
      if (isStopped()) return;
      state = next;
      expected = renderTakeover(state.original, config.servers);
      await this.#o.fs.writeInPlace(state.path, expected);
      warn(`another program rewrote ${state.path}; the agent took it over again`);
    };

    function tick(): void {
      if (isStopped()) return;
      void check()
        .catch((error: unknown) => {
          warn(`could not check ${state.path}: ${String(error)}`);
        })
        .finally(() => {
          if (!isStopped()) timer = clock.setTimeout(tick, interval);
        });
    }

    return () => {
      run.stopped = true;
      timer.cancel();
    };
  }
}

function asFile(state: ResolverState): FileState {
  if (state.kind !== 'resolv-conf') throw new Error(`not a resolv.conf state: ${state.kind}`);
  if (state.encoding === 'latin1') return state;
  // An older version's record: its text was decoded as UTF-8, so encode it back to those bytes.
  return {
    ...state,
    original: Buffer.from(state.original, 'utf8').toString('latin1'),
    encoding: 'latin1',
  };
}
