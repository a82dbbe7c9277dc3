/**
 * What `client-agent diag` reports: a list of steps, each passed, failed, passed with a warning,
 * or skipped because a step it needs did not pass; what was seen; and the fix when it did not
 * pass. The same shape goes to the terminal, to `--json` (for support tickets) and over the
 * control API.
 */
import type { DiagStep, StepDetails, StepStatus } from '../control/index.js';

// The step's shape is the control API's, which carries the daemon's steps to the CLI.
export type { DiagStep, StepDetails, StepStatus };

export interface DiagReport {
  readonly kind: 'machine' | 'alias';
  /** The alias checked (kind `alias`). */
  readonly alias?: string;
  /** True when no step failed or was skipped (warnings allowed). */
  readonly ok: boolean;
  readonly version: string;
  /** RFC 3339. */
  readonly checked_at: string;
  readonly steps: readonly DiagStep[];
}

/** A step's result before its id and title are attached. */
export interface StepOutcome {
  readonly status: StepStatus;
  readonly seen: string;
  readonly fix?: string | undefined;
  readonly details?: StepDetails | undefined;
}

export const passed = (seen: string, details?: StepDetails): StepOutcome => ({
  status: 'pass',
  seen,
  details,
});
export const warned = (seen: string, fix: string, details?: StepDetails): StepOutcome => ({
  status: 'warn',
  seen,
  fix,
  details,
});
export const failed = (seen: string, fix: string, details?: StepDetails): StepOutcome => ({
  status: 'fail',
  seen,
  fix,
  details,
});

/** A step that does not apply now (`seen` says why). */
export const notChecked = (seen: string): StepOutcome => ({ status: 'skip', seen });

/** One step of a checklist: the steps it needs (by id) and how to check it. */
export interface StepSpec<C> {
  readonly id: string;
  readonly title: string;
  readonly needs?: readonly string[];
  readonly check: (context: C) => Promise<StepOutcome> | StepOutcome;
}

/**
 * Runs the steps in order. A step whose needs did not all pass (or warn) is skipped, naming the
 * first one; a check that throws is a failure with the error's message and hint.
 */
export async function runSteps<C>(specs: readonly StepSpec<C>[], context: C): Promise<DiagStep[]> {
  const steps: DiagStep[] = [];
  for (const spec of specs) {
    const blocker = (spec.needs ?? [])
      .map((id) => steps.find((s) => s.id === id))
      .find((s) => s !== undefined && !isGood(s));
    if (blocker !== undefined) {
      steps.push(skipped(spec, blocker));
      continue;
    }
    let outcome: StepOutcome;
    try {
      outcome = await spec.check(context);
    } catch (err) {
      outcome = failed(
        errorText(err),
        hintOf(err) ?? 'Run the check again; if it keeps failing, see the agent log.',
      );
    }
    steps.push(toStep(spec, outcome));
  }
  return steps;
}

/** A step that did not run because `blocker` did not pass. */
export function skipped(spec: { id: string; title: string }, blocker: DiagStep): DiagStep {
  return {
    id: spec.id,
    title: spec.title,
    status: 'skip',
    seen: `not checked: needs "${blocker.title}"`,
  };
}

export function toStep(spec: { id: string; title: string }, outcome: StepOutcome): DiagStep {
  return {
    id: spec.id,
    title: spec.title,
    status: outcome.status,
    seen: outcome.seen,
    ...(outcome.status === 'pass' || outcome.fix === undefined ? {} : { fix: outcome.fix }),
    ...(outcome.details === undefined ? {} : { details: outcome.details }),
  };
}

export function isGood(step: DiagStep): boolean {
  return step.status === 'pass' || step.status === 'warn';
}

export function buildReport(
  kind: DiagReport['kind'],
  steps: readonly DiagStep[],
  meta: { version: string; now: number; alias?: string | undefined },
): DiagReport {
  return {
    kind,
    ...(meta.alias === undefined ? {} : { alias: meta.alias }),
    ok: steps.every(isGood),
    version: meta.version,
    checked_at: new Date(meta.now).toISOString(),
    steps,
  };
}

const MARKS: Readonly<Record<StepStatus, string>> = { pass: '✓', warn: '!', fail: '✗', skip: '-' };

/** The report for a terminal: one line per step, the fix indented below it, a summary last. */
export function formatReport(report: DiagReport): string {
  const lines = [
    report.kind === 'alias'
      ? `client-agent diag ${report.alias ?? ''}: the session checklist`
      : 'client-agent diag: the machine checks',
    '',
  ];
  for (const step of report.steps) {
    lines.push(`${MARKS[step.status]} ${step.title}: ${step.seen}`);
    if (step.fix !== undefined) lines.push(`    fix: ${step.fix}`);
  }
  const count = (status: StepStatus) => report.steps.filter((s) => s.status === status).length;
  const failedSteps = count('fail');
  lines.push(
    '',
    report.ok
      ? `All ${report.steps.length} checks passed${count('warn') > 0 ? ` (${count('warn')} with a warning)` : ''}.`
      : `${failedSteps} failed, ${count('skip')} skipped, ${count('pass') + count('warn')} passed: fix the first ✗ first.`,
  );
  return `${lines.join('\n')}\n`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function hintOf(err: unknown): string | undefined {
  const hint = (err as { hint?: unknown } | undefined)?.hint;
  return typeof hint === 'string' ? hint : undefined;
}
