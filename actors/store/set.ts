/**
 * The public set API (issue #4): a set of byte-string members under one name, replicated by
 * the same per-key Paxos as KV and linearizable per set. Members come back in byte order.
 */
import { SetStatus, decodeSetResult, encodeSetOp, encodeSetQuery } from '../../models/set/set';
import type { SetQuery } from '../../models/set/set';
import { ModelTag } from '../../models/model-tags';
import type { ReadOptions } from './model-client';
import {
  ModelChannel,
  objectKey,
  tooLarge,
  validateConsistency,
  validateKey,
  validateValue,
  validateValues,
  validateWriteOptions,
  splitWriteOptions,
} from './model-client';
import type { RequestBackend, WriteOptions } from './model-client';

export class StoreSet {
  private readonly channel: ModelChannel;
  private readonly key: string;

  constructor(
    readonly name: string,
    backend: RequestBackend,
    replica: number | undefined,
  ) {
    this.key = objectKey(validateKey(name, 'set name'));
    this.channel = new ModelChannel(backend, replica, ModelTag.set);
  }

  /** Adds members; resolves with how many were not already present. */
  async add(...members: Array<string | Uint8Array | WriteOptions>): Promise<number> {
    const args = splitWriteOptions(members);
    const bytes = validateValues(args.values, this.channel.valueBytesMax, 'member');
    const { body } = await this.channel.write(
      this.key,
      encodeSetOp({ type: 'add', members: bytes }),
      this.name,
      args.requestId,
    );
    const r = decodeSetResult('add', body);
    if (r.status === SetStatus.tooLarge) throw tooLarge(this.name, 'set');
    return r.added;
  }

  /** Removes members; resolves with how many were present. */
  async remove(...members: Array<string | Uint8Array | WriteOptions>): Promise<number> {
    const args = splitWriteOptions(members);
    const bytes = validateValues(args.values, this.channel.valueBytesMax, 'member');
    const { body } = await this.channel.write(
      this.key,
      encodeSetOp({ type: 'remove', members: bytes }),
      this.name,
      args.requestId,
    );
    return decodeSetResult('remove', body).removed;
  }

  async has(member: string | Uint8Array, options?: ReadOptions): Promise<boolean> {
    const m = validateValue(member, this.channel.valueBytesMax, 'member');
    return decodeSetResult('has', await this.read({ type: 'has', member: m }, options)).present;
  }

  /** Every member in byte order (at most 10,000; use size() to see if there are more). */
  async members(options?: ReadOptions): Promise<Buffer[]> {
    const r = decodeSetResult('members', await this.read({ type: 'members' }, options));
    return r.members.map((m) => Buffer.from(m));
  }

  async size(options?: ReadOptions): Promise<number> {
    return decodeSetResult('size', await this.read({ type: 'size' }, options)).size;
  }

  private read(query: SetQuery, options: ReadOptions | undefined): Promise<Uint8Array> {
    return this.channel.read(
      this.key,
      encodeSetQuery(query),
      validateConsistency(options),
      this.name,
    );
  }
}
