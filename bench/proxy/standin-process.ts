/**
 * The Boundary side of the proxy benchmark in a process of its own: stand-in controller and
 * worker and the echo target, as in production the worker and the target are other machines.
 * Prints one JSON line (controller address, auth method, echo address), then runs until its
 * stdin closes.
 */
import { pino } from 'pino';
import { systemClock } from '../../src/lib/index.js';
import { startStandIn } from '../../test/helpers/proxy-bed.js';

const standIn = await startStandIn({}, systemClock, pino({ level: 'silent' }));
process.stdout.write(
  `${JSON.stringify({
    controller: standIn.controllerAddress,
    authMethodId: standIn.directory.authMethodId,
    echo: standIn.echo.address(),
  })}\n`,
);
process.stdin.resume();
await new Promise((resolve) => process.stdin.once('end', resolve));
await standIn.close();
process.exit(0);
