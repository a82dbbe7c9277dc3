/**
 * The ways the DNS server reads and writes UDP that this machine can test: always Node's dgram,
 * and the batched addon (native/udp-batch) on Linux. In CI the addon must be built: a missing one
 * fails there instead of skipping.
 */
import { resolveUdpIo, type UdpBatchAddon, type UdpIo } from '../../src/dns/index.js';
import { loadUdpBatch } from '../../src/platform/index.js';

export function udpModes(file: string): UdpIo[] {
  const loaded = loadUdpBatch();
  if ('unavailable' in loaded && process.env.CI !== 'true') {
    console.log(`${file}: batched UDP not tested: ${loaded.unavailable}`);
    return ['dgram'];
  }
  return ['batched', 'dgram'];
}

/** The batched-UDP addon for `mode`, as the agent gives it to its DNS service; undefined: dgram. */
export function udpBatchFor(mode: UdpIo): UdpBatchAddon | undefined {
  return resolveUdpIo(mode, loadUdpBatch).addon;
}
