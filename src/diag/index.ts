/** `client-agent diag`: the machine checks, the session checklist of an alias, and their report. */
export {
  ALIAS_STEP_TITLES,
  checkAlias,
  type AliasCheckOptions,
  type AliasCheckSource,
} from './alias-checks.js';
export { withResolverStep } from './alias-report.js';
export {
  nodeDnsProbe,
  type AskResult,
  type DnsProbe,
  type DnsServerAddress,
  type LookupResult,
} from './dns-probe.js';
export {
  MACHINE_STEPS,
  probeVerdict,
  runMachineChecks,
  type MachineCheckContext,
  type ProbeVerdict,
} from './machine-checks.js';
export { factsFromConfig, factsFromDetails, type MachineFacts } from './machine-facts.js';
export {
  buildReport,
  formatReport,
  type DiagReport,
  type DiagStep,
  type StepStatus,
} from './report.js';
