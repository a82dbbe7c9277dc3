/** What a SIGHUP can change in a running daemon, and what needs a restart. */
import {
  CONFIG_FIELDS,
  FIELDS,
  type AgentConfig,
  type ConfigField,
  type ReloadTarget,
} from './fields.js';

export const RELOADABLE_FIELDS: readonly ConfigField[] = CONFIG_FIELDS.filter(
  (f) => FIELDS[f].reload !== 'restart',
);

export interface ReloadPlan {
  /** Changed fields the daemon applies now, without dropping sessions. */
  readonly apply: readonly ConfigField[];
  /** The parts of the agent that apply them (each once). */
  readonly targets: ReadonlySet<ReloadTarget>;
  /** Changed fields that take effect only after a restart (reported as a warning). */
  readonly needsRestart: readonly ConfigField[];
  /** The config to run with: the new value of every reloadable field, the current one of the rest. */
  readonly config: AgentConfig;
}

export function planReload(current: AgentConfig, next: AgentConfig): ReloadPlan {
  const apply: ConfigField[] = [];
  const targets = new Set<ReloadTarget>();
  const needsRestart: ConfigField[] = [];
  const merged: Record<string, unknown> = { ...current };
  for (const field of CONFIG_FIELDS) {
    if (sameValue(field, current, next)) continue;
    const target = FIELDS[field].reload;
    if (target === 'restart') {
      needsRestart.push(field);
    } else {
      apply.push(field);
      targets.add(target);
      merged[field] = next[field];
    }
  }
  return {
    apply,
    targets,
    needsRestart,
    config: Object.freeze(merged as unknown as AgentConfig),
  };
}

function sameValue(field: ConfigField, a: AgentConfig, b: AgentConfig): boolean {
  const show = FIELDS[field].show as (v: AgentConfig[ConfigField]) => string;
  return show(a[field]) === show(b[field]);
}
