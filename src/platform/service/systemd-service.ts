/** Linux: the systemd unit, installed and enabled with systemctl. */
import type { CommandRunner } from '../command-runner.js';
import type { ServiceManager } from '../platform.js';
import type { PlatformFs } from '../root-fs.js';
import {
  linuxDefaults,
  systemdUnit,
  SYSTEMD_UNIT,
  type ServiceFileOptions,
} from './service-files.js';

export interface ServiceOptions extends ServiceFileOptions {
  readonly runner: CommandRunner;
  readonly fs: PlatformFs;
}

export class SystemdService implements ServiceManager {
  readonly definitionPath = `/etc/systemd/system/${SYSTEMD_UNIT}`;
  readonly #o: ServiceOptions;

  constructor(
    options: Omit<ServiceOptions, keyof ServiceFileOptions> & Partial<ServiceFileOptions>,
  ) {
    this.#o = { ...linuxDefaults(), ...options };
  }

  installCommands(): string[][] {
    return [
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', SYSTEMD_UNIT],
    ];
  }

  uninstallCommands(): string[][] {
    return [
      ['systemctl', 'disable', '--now', SYSTEMD_UNIT],
      ['systemctl', 'daemon-reload'],
    ];
  }

  async install(signal?: AbortSignal): Promise<void> {
    await this.#o.fs.writeFile(this.definitionPath, systemdUnit(this.#o));
    for (const [cmd, ...args] of this.installCommands()) {
      await this.#o.runner.run(cmd ?? '', args, { signal });
    }
  }

  async uninstall(signal?: AbortSignal): Promise<void> {
    const [disable, reload] = this.uninstallCommands();
    // Not installed (or already stopped) is fine: uninstall removes whatever is left.
    if (disable !== undefined) {
      const [cmd, ...args] = disable;
      await this.#o.runner.run(cmd ?? '', args, { signal }).catch(() => undefined);
    }
    await this.#o.fs.remove(this.definitionPath);
    if (reload !== undefined) {
      const [cmd, ...args] = reload;
      await this.#o.runner.run(cmd ?? '', args, { signal });
    }
  }
}
