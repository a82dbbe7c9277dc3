/**
 * The service definitions, generated here (the package ships dist/, not the repository's
 * systemd/ and launchd/ folders); a test checks that those checked-in files are what this makes.
 */
import { DEFAULT_PATHS } from '../../config/index.js';

export const SERVICE_NAME = 'client-agent';
export const SYSTEMD_UNIT = `${SERVICE_NAME}.service`;
export const LAUNCHD_LABEL = 'org.clientagent.client-agent';
export const DEFAULT_BINARY = '/usr/local/bin/client-agent';
export const MACOS_LOG_DIR = '/Library/Logs/client-agent';

export interface ServiceFileOptions {
  /** The installed `client-agent` executable. */
  readonly binary: string;
  readonly configFile: string;
}

export function systemdUnit(o: ServiceFileOptions = linuxDefaults()): string {
  const run = `${o.binary} daemon --config ${o.configFile}`;
  return `# client-agent: Boundary targets by their alias hostnames (local DNS + transparent proxy).
# Installed by "client-agent install"; removed by "client-agent uninstall".
[Unit]
Description=client-agent (Boundary aliases: DNS and transparent proxy)
Wants=network-online.target
After=network-online.target
Before=nss-lookup.target

[Service]
Type=simple
ExecStart=${run}
# Gives the resolver back and removes the addresses whatever way the daemon ended.
ExecStopPost=${run} --cleanup
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=2s
TimeoutStopSec=30s
# Root, limited to what it needs: interface addresses (ip addr) and port 53.
CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE
AmbientCapabilities=CAP_NET_ADMIN CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
PrivateTmp=yes

[Install]
WantedBy=multi-user.target
`;
}

export function launchdPlist(o: ServiceFileOptions = macosDefaults()): string {
  const args = [o.binary, 'daemon', '--config', o.configFile]
    .map((a) => `    <string>${xml(a)}</string>`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>5</integer>
  <key>StandardOutPath</key>
  <string>${MACOS_LOG_DIR}/client-agent.out.log</string>
  <key>StandardErrorPath</key>
  <string>${MACOS_LOG_DIR}/client-agent.err.log</string>
</dict>
</plist>
`;
}

export function linuxDefaults(): ServiceFileOptions {
  return { binary: DEFAULT_BINARY, configFile: DEFAULT_PATHS.linux.configFile };
}

export function macosDefaults(): ServiceFileOptions {
  return { binary: DEFAULT_BINARY, configFile: DEFAULT_PATHS.darwin.configFile };
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
