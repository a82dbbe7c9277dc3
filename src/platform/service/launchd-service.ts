/** macOS: the launchd daemon, loaded with launchctl bootstrap and removed with bootout. */
import type { ServiceManager } from '../platform.js';
import {
  LAUNCHD_LABEL,
  launchdPlist,
  MACOS_LOG_DIR,
  macosDefaults,
  type ServiceFileOptions,
} from './service-files.js';
import type { ServiceOptions } from './systemd-service.js';

export class LaunchdService implements ServiceManager {
  readonly definitionPath = `/Library/LaunchDaemons/${LAUNCHD_LABEL}.plist`;
  readonly #o: ServiceOptions;

  constructor(
    options: Omit<ServiceOptions, keyof ServiceFileOptions> & Partial<ServiceFileOptions>,
  ) {
    this.#o = { ...macosDefaults(), ...options };
  }

  installCommands(): string[][] {
    return [
      ['launchctl', 'enable', `system/${LAUNCHD_LABEL}`],
      ['launchctl', 'bootstrap', 'system', this.definitionPath],
    ];
  }

  uninstallCommands(): string[][] {
    return [
      ['launchctl', 'bootout', `system/${LAUNCHD_LABEL}`],
      // launchd has no ExecStopPost: give the resolver back and remove the addresses here.
      [this.#o.binary, 'daemon', '--config', this.#o.configFile, '--cleanup'],
    ];
  }

  async install(signal?: AbortSignal): Promise<void> {
    await this.#o.fs.mkdir(MACOS_LOG_DIR);
    await this.#o.fs.writeFile(this.definitionPath, launchdPlist(this.#o));
    // A loaded older definition makes bootstrap fail: unload it first (absent is fine).
    await this.#o.runner
      .run('launchctl', ['bootout', `system/${LAUNCHD_LABEL}`], { signal })
      .catch(() => undefined);
    for (const [cmd, ...args] of this.installCommands()) {
      await this.#o.runner.run(cmd ?? '', args, { signal });
    }
  }

  async uninstall(signal?: AbortSignal): Promise<void> {
    for (const [cmd, ...args] of this.uninstallCommands()) {
      await this.#o.runner.run(cmd ?? '', args, { signal }).catch(() => undefined);
    }
    await this.#o.fs.remove(this.definitionPath);
  }
}
