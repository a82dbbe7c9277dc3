/**
 * The floor for any Node.js UDP server on this machine, for the benchmark's reference row: one
 * dgram socket that sends every datagram back with the QR bit set (no DNS work at all). Prints
 * `READY <port>`; exits on SIGTERM.
 */
import dgram from 'node:dgram';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { address: { type: 'string', default: '127.0.0.1' } } });
const socket = dgram.createSocket('udp4');
socket.on('message', (msg, rinfo) => {
  if (msg.length < 12) return;
  const out = Buffer.from(msg);
  out.writeUInt16BE(out.readUInt16BE(2) | 0x8000, 2);
  socket.send(out, rinfo.port, rinfo.address);
});
socket.bind(0, values.address, () => {
  process.stdout.write(`READY ${socket.address().port}\n`);
});
process.on('SIGTERM', () => {
  socket.close(() => process.exit(0));
});
