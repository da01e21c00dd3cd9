/**
 * The public queue API (issue #4): a FIFO of byte values under one name, replicated by the
 * same per-key Paxos as KV and linearizable per queue.
 */
import {
  QueueStatus,
  decodeQueueResult,
  encodeQueueOp,
  encodeQueueQuery,
} from '../../models/queue/queue';
import type { QueueQuery } from '../../models/queue/queue';
import { ModelTag } from '../../models/model-tags';
import { invalid } from './errors';
import type { ReadOptions } from './model-client';
import {
  ModelChannel,
  objectKey,
  tooLarge,
  validateConsistency,
  validateCount,
  validateKey,
  validateValues,
  validateWriteOptions,
  splitWriteOptions,
} from './model-client';
import type { RequestBackend, WriteOptions } from './model-client';

export class Queue {
  private readonly channel: ModelChannel;
  private readonly key: string;

  constructor(
    readonly name: string,
    backend: RequestBackend,
    replica: number | undefined,
  ) {
    this.key = objectKey(validateKey(name, 'queue name'));
    this.channel = new ModelChannel(backend, replica, ModelTag.queue);
  }

  /** Appends values at the tail. Resolves with the new length and the queue's version. */
  async push(
    ...values: Array<string | Uint8Array | WriteOptions>
  ): Promise<{ length: number; version: number }> {
    const args = splitWriteOptions(values);
    const bytes = validateValues(args.values, this.channel.valueBytesMax, 'value');
    const { body, version } = await this.channel.write(
      this.key,
      encodeQueueOp({ type: 'push', values: bytes }),
      this.name,
      args.requestId,
    );
    const r = decodeQueueResult('push', body);
    if (r.status === QueueStatus.tooLarge) throw tooLarge(this.name, 'queue');
    return { length: r.length, version };
  }

  /** Removes and returns the head, or undefined when the queue is empty. */
  async pop(options?: WriteOptions): Promise<Buffer | undefined> {
    const requestId = validateWriteOptions(options);
    const { body } = await this.channel.write(
      this.key,
      encodeQueueOp({ type: 'pop' }),
      this.name,
      requestId,
    );
    const r = decodeQueueResult('pop', body);
    return r.status === QueueStatus.ok ? Buffer.from(r.value) : undefined;
  }

  async peek(options?: ReadOptions): Promise<Buffer | undefined> {
    const r = decodeQueueResult('peek', await this.read({ type: 'peek' }, options));
    return r.status === QueueStatus.ok ? Buffer.from(r.value) : undefined;
  }

  async length(options?: ReadOptions): Promise<number> {
    return decodeQueueResult('length', await this.read({ type: 'length' }, options)).length;
  }

  /** Values at positions [start, end) from the head (clamped; at most 10,000 per call). */
  async range(start: number, end: number, options?: ReadOptions): Promise<Buffer[]> {
    const s = validateCount('start', start);
    const e = validateCount('end', end);
    if (s < 0 || e < s) throw invalid('range needs 0 <= start <= end');
    const r = decodeQueueResult(
      'range',
      await this.read({ type: 'range', start: s, end: e }, options),
    );
    return r.values.map((v) => Buffer.from(v));
  }

  private read(query: QueueQuery, options: ReadOptions | undefined): Promise<Uint8Array> {
    const consistency = validateConsistency(options);
    return this.channel.read(this.key, encodeQueueQuery(query), consistency, this.name);
  }
}
