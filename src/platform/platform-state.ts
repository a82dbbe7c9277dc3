/**
 * What the agent has changed on the machine, as plain JSON the daemon persists: every change is
 * recorded (and `onChange` awaited) before it is made, so that a run killed at any point leaves
 * enough for the next start to undo it (Platform.recover).
 */

/**
 * The original resolver configuration, one shape per way the OS is configured, with the
 * nameservers the machine used before (`upstreams`: where the DNS server forwards).
 */
export type ResolverState = (
  | {
      /** /etc/resolv.conf rewritten in place; `original` is its exact content before. */
      readonly kind: 'resolv-conf';
      readonly path: string;
      readonly original: string;
      /**
       * `latin1`: `original` holds the file's bytes, one character per byte, so that a file that
       * is not UTF-8 comes back byte for byte. Absent in older versions' state files, whose
       * `original` is the file decoded as UTF-8.
       */
      readonly encoding?: 'latin1';
    }
  | {
      /** Per-link DNS on `link` through systemd-resolved; the link's DNS and domains before. */
      readonly kind: 'systemd-resolved';
      readonly link: string;
      readonly servers: readonly string[];
      readonly domains: readonly string[];
    }
  | {
      /** macOS network service `service`: its DNS servers before (empty: none set, DHCP's). */
      readonly kind: 'networksetup';
      readonly service: string;
      readonly servers: readonly string[];
    }
) & { readonly upstreams: readonly string[] };

export interface AddedAddress {
  readonly interface: string;
  readonly address: string;
}

export interface PlatformState {
  readonly version: 1;
  readonly addresses: readonly AddedAddress[];
  readonly resolver: ResolverState | null;
  /** The agent's own link (absent in the state files of older versions). */
  readonly link?: string | null;
}

export const NO_CHANGES: PlatformState = { version: 1, addresses: [], resolver: null };

/** Nothing left to undo: the state file can go. */
export function nothingToUndo(state: PlatformState): boolean {
  return state.addresses.length === 0 && state.resolver === null && (state.link ?? null) === null;
}

/** Is `value` (read back from a state file) a PlatformState? */
export function isPlatformState(value: unknown): value is PlatformState {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.version === 1 && Array.isArray(v.addresses) && 'resolver' in v;
}

export type StateListener = (state: PlatformState) => Promise<void> | void;

/** The live record of this run's changes, shared by the address and resolver code. */
export class ChangeRecord {
  #state: PlatformState = NO_CHANGES;
  readonly #onChange: StateListener | undefined;

  constructor(options: { readonly onChange?: StateListener | undefined } = {}) {
    this.#onChange = options.onChange;
  }

  get state(): PlatformState {
    return this.#state;
  }

  /** Sets the state and waits until the listener has persisted it. */
  async update(change: (state: PlatformState) => PlatformState): Promise<void> {
    this.#state = change(this.#state);
    await this.#onChange?.(this.#state);
  }

  addAddress(entry: AddedAddress): Promise<void> {
    return this.update((s) =>
      s.addresses.some((a) => a.interface === entry.interface && a.address === entry.address)
        ? s
        : { ...s, addresses: [...s.addresses, entry] },
    );
  }

  removeAddress(entry: AddedAddress): Promise<void> {
    return this.update((s) => ({
      ...s,
      addresses: s.addresses.filter(
        (a) => a.interface !== entry.interface || a.address !== entry.address,
      ),
    }));
  }

  setLink(link: string | null): Promise<void> {
    return this.update((s) => ({ ...s, link }));
  }

  setResolver(resolver: ResolverState | null): Promise<void> {
    return this.update((s) => ({ ...s, resolver }));
  }
}
