/**
 * Which OS user each session the agent authorized belongs to, kept after the session ends so
 * that its owner can still read it (and nobody else can). Only the live session holds
 * credentials; an ended one is just an id and the alias or target it was for. At most `perUid`
 * sessions are remembered per user, the oldest forgotten first.
 */
import type { HeldSession } from './session-manager.js';

export interface LedgerEntry {
  /** The alias value or target id the session was authorized for. */
  readonly alias: string;
  /** The session while the agent holds it; undefined once it ended. */
  live: HeldSession | undefined;
}

export class SessionLedger {
  readonly #perUid: number;
  readonly #byUid = new Map<number, Map<string, LedgerEntry>>();

  constructor(perUid = 100) {
    this.#perUid = perUid;
  }

  add(session: HeldSession): void {
    let sessions = this.#byUid.get(session.uid);
    if (sessions === undefined) {
      sessions = new Map();
      this.#byUid.set(session.uid, sessions);
    }
    sessions.set(session.data.sessionId, { alias: session.alias, live: session });
    for (const id of sessions.keys()) {
      if (sessions.size <= this.#perUid) break;
      sessions.delete(id);
    }
  }

  /** The entry when `sessionId` is one of `uid`'s sessions. */
  get(uid: number, sessionId: string): LedgerEntry | undefined {
    return this.#byUid.get(uid)?.get(sessionId);
  }

  /** The session ended: its credentials are let go, its id stays readable by its owner. */
  ended(session: HeldSession): void {
    const entry = this.get(session.uid, session.data.sessionId);
    if (entry?.live === session) entry.live = undefined;
  }
}
