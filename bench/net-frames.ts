/**
 * net/ frame throughput over loopback: one process, one server, one dialed connection; the
 * sender keeps the bounded queue full (awaiting whenDrained on BACKPRESSURE) and the clock runs
 * until the receiver has every frame. Two shapes:
 *
 *   single: one small message per frame (the worst case: per-frame costs dominate);
 *   packed: `--batch` messages per frame with sendPacked, the way the node sends one flush to
 *           one peer; the receiver unpacks every frame, so messages/s is end to end.
 *
 * Run: `node dist/bench/net-frames.js [--frames 200000] [--bytes 100] [--batch 64]`.
 * Prints frames/s, messages/s and payload MB/s. No assertions on speed anywhere else.
 */
import { dial } from '../net/dialer';
import type { FramedConnection } from '../net/connection';
import { unpackMessages } from '../net/pack';
import { listen } from '../net/server';

const SECRET = 'bench-secret-bench-secret';

interface Options {
  frames: number;
  bytes: number;
  batch: number;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { frames: 200_000, bytes: 100, batch: 64 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, '');
    const value = Number(argv[i + 1]);
    if (
      (key === 'frames' || key === 'bytes' || key === 'batch') &&
      Number.isInteger(value) &&
      value > 0
    )
      options[key] = value;
    else throw new Error(`usage: --frames N --bytes N --batch N (got ${argv[i]} ${argv[i + 1]})`);
  }
  return options;
}

async function sendAll(
  connection: FramedConnection,
  frames: number,
  send: () => string,
): Promise<void> {
  for (let i = 0; i < frames; i++) {
    while (send() === 'BACKPRESSURE') await connection.whenDrained();
  }
  connection.flush();
}

async function run(shape: 'single' | 'packed', o: Options): Promise<void> {
  const frames = shape === 'single' ? o.frames : Math.max(1, Math.floor(o.frames / o.batch) * 4);
  const perFrame = shape === 'single' ? 1 : o.batch;
  let framesIn = 0;
  let messagesIn = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  const countMessage = (): void => {
    messagesIn += 1;
  };
  const server = await listen({
    host: '127.0.0.1',
    port: 0,
    secret: SECRET,
    name: 'bench-server',
    onConnection: (c) =>
      c.onFrame((_type, payload) => {
        framesIn += 1;
        if (shape === 'packed') unpackMessages(payload, countMessage);
        else messagesIn += 1;
        if (framesIn === frames) done();
      }),
  });
  try {
    await measure(
      shape,
      o,
      frames,
      perFrame,
      server.port,
      () => ({ framesIn, messagesIn }),
      finished,
    );
  } finally {
    await server.close();
  }
}

async function measure(
  shape: 'single' | 'packed',
  o: Options,
  frames: number,
  perFrame: number,
  port: number,
  counts: () => { framesIn: number; messagesIn: number },
  finished: Promise<void>,
): Promise<void> {
  const client = await dial({
    host: '127.0.0.1',
    port,
    secret: SECRET,
    role: 'peer',
    name: 'bench-client',
    connection: { frameBytesMax: 1 << 20, sendQueueBytesMax: 8 << 20 },
  });
  client.onFrame(() => {});
  const message = Buffer.alloc(o.bytes, 7);
  const batch = Array.from({ length: o.batch }, () => message);
  const started = process.hrtime.bigint();
  await sendAll(
    client,
    frames,
    shape === 'single' ? () => client.send(16, message) : () => client.sendPacked(16, batch),
  );
  await finished;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const { messagesIn } = counts();
  const payloadMb = (messagesIn * o.bytes) / 1e6;
  console.log(
    `${shape.padEnd(6)} frames ${frames} x ${perFrame} msg x ${o.bytes} B: ${Math.round(frames / seconds)} frames/s, ` +
      `${Math.round(messagesIn / seconds)} msg/s, ${(payloadMb / seconds).toFixed(1)} MB/s payload, ` +
      `${(client.stats.bytesOut / 1e6 / seconds).toFixed(1)} MB/s on the wire (${seconds.toFixed(2)} s)`,
  );
  client.close();
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  await run('single', o);
  await run('packed', o);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
