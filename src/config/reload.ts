/** What a SIGHUP can change in a running daemon, and what needs a restart. */
import { CONFIG_FIELDS, FIELDS, type AgentConfig, type ConfigField } from './fields.js';

export const RELOADABLE_FIELDS: readonly ConfigField[] = CONFIG_FIELDS.filter(
  (f) => FIELDS[f].reloadable,
);

export interface ReloadPlan {
  /** Changed fields the daemon applies now, without dropping sessions. */
  readonly apply: readonly ConfigField[];
  /** Changed fields that take effect only after a restart (reported as a warning). */
  readonly needsRestart: readonly ConfigField[];
  /** The config to run with: the new value of every reloadable field, the current one of the rest. */
  readonly config: AgentConfig;
}

export function planReload(current: AgentConfig, next: AgentConfig): ReloadPlan {
  const apply: ConfigField[] = [];
  const needsRestart: ConfigField[] = [];
  const merged: Record<string, unknown> = { ...current };
  for (const field of CONFIG_FIELDS) {
    if (sameValue(field, current, next)) continue;
    if (FIELDS[field].reloadable) {
      apply.push(field);
      merged[field] = next[field];
    } else {
      needsRestart.push(field);
    }
  }
  return { apply, needsRestart, config: Object.freeze(merged as unknown as AgentConfig) };
}

function sameValue(field: ConfigField, a: AgentConfig, b: AgentConfig): boolean {
  const show = FIELDS[field].show as (v: AgentConfig[ConfigField]) => string;
  return show(a[field]) === show(b[field]);
}
