/**
 * Whether a controller-supplied alias value can be a DNS name we answer for: labels of letters,
 * digits and hyphens (1–63, no hyphen at either end), joined by dots, under 254 characters, the
 * last label not all digits (so it cannot shadow an IP address). Boundary enforces the same:
 * the `wt_target_alias` domain of
 * internal/db/schema/migrations/oss/postgres/85/02_alias_domain.up.sql.
 */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function isValidAliasValue(value: string): boolean {
  const name = value.toLowerCase();
  if (name.length === 0 || name.length >= 254) return false;
  const labels = name.split('.');
  if (!labels.every((l) => LABEL.test(l))) return false;
  return !/^\d+$/.test(labels.at(-1) ?? '');
}
