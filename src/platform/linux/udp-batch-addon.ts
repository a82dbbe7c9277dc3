/**
 * Linux: the batched-UDP addon of native/udp-batch (recvmmsg/sendmmsg), for the DNS server's
 * client and upstream sockets. Loaded only on Linux and only when `npm ci` could build it (a C
 * compiler and Node's headers); the DNS server otherwise uses Node's dgram.
 */
import { createRequire } from 'node:module';

/** The addon's exports (see native/udp-batch/src/udp_batch.c for the shared areas' layout). */
export interface UdpBatchNative {
  open(
    family: 4 | 6,
    address: string,
    port: number,
    bufferBytes: number,
    onBatch: (count: number) => void,
  ): [
    handle: unknown,
    port: number,
    inData: Buffer,
    inMeta: Buffer,
    outData: Buffer,
    outMeta: Buffer,
  ];
  flush(handle: unknown, count: number): number;
  close(handle: unknown): void;
  readonly SLOTS: number;
  readonly SLOT_BYTES: number;
  readonly META_BYTES: number;
}

const ADDON_PATH = '../../../native/udp-batch/build/Release/udp_batch.node';

/** The addon, or why it cannot be used. */
export function loadUdpBatch(
  platform: NodeJS.Platform = process.platform,
): UdpBatchNative | { readonly unavailable: string; readonly expected: boolean } {
  if (platform !== 'linux') return { unavailable: `not built on ${platform}`, expected: false };
  try {
    return createRequire(import.meta.url)(ADDON_PATH) as UdpBatchNative;
  } catch (error) {
    return {
      unavailable: `native/udp-batch is not built (${(error as Error).message.split('\n')[0] ?? ''}); run npm run build:native`,
      expected: true,
    };
  }
}
