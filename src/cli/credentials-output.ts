/**
 * Brokered credentials as the commands show them: a one-line summary (type and username), the
 * secrets masked unless the owner asks for them, or every field in full.
 */
import type { SessionCredentialJson } from '../boundary/index.js';

export const MASK = '********';

/** Every credential's fields in full, under `label (type):`; '' when there are none. */
export function secretLines(
  groups: readonly (readonly [string, readonly SessionCredentialJson[]])[],
): string {
  const lines: string[] = [];
  for (const [label, credentials] of groups) {
    for (const cred of credentials) {
      const fields = credentialFields(cred);
      if (fields === undefined) continue;
      lines.push('', `${label} (${credentialType(cred)}):`);
      for (const [key, value] of Object.entries(fields)) {
        lines.push(`  ${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
      }
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

export function credentialType(cred: SessionCredentialJson): string {
  return cred.credential_source?.credential_type ?? cred.credential_source?.type ?? 'credential';
}

export function credentialFields(cred: SessionCredentialJson): Record<string, unknown> | undefined {
  const value = cred.credential ?? cred.secret?.decoded;
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)
    : undefined;
}

/** `username_password (app)`: the type and, when there is one, the username. */
export function credentialSummary(cred: SessionCredentialJson): string {
  const username = credentialFields(cred)?.username;
  return typeof username === 'string'
    ? `${credentialType(cred)} (${username})`
    : credentialType(cred);
}

/** Every value but the username masked, the raw secret left out. */
export function maskCredential(cred: SessionCredentialJson): SessionCredentialJson {
  const fields = credentialFields(cred);
  return {
    ...(cred.credential_source === undefined ? {} : { credential_source: cred.credential_source }),
    ...(fields === undefined
      ? {}
      : {
          credential: Object.fromEntries(
            Object.entries(fields).map(([k, v]) => [k, k === 'username' ? v : MASK]),
          ),
        }),
  };
}
