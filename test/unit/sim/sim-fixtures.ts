/** A probe actor for simulator tests: logs what it sees and runs a scripted reaction. */
import type { Actor, ActorHost, ActorId } from '../../../runtime/actor';

export interface ProbeLogEntry {
  actor: ActorId;
  what: 'receive' | 'flush' | 'tick' | 'create' | 'close';
  from?: ActorId;
  bytes?: number[];
  at: number;
}

export interface ProbeConfig {
  log: ProbeLogEntry[];
  /** Called on each receive, with the host, so a test can script replies. */
  react?: (host: ActorHost, from: ActorId, payload: Uint8Array) => void;
  logTicks?: boolean;
}

export function probeFactory(id: ActorId, host: ActorHost, config: ProbeConfig): Actor {
  config.log.push({ actor: id, what: 'create', at: host.now() });
  return {
    receive(from, payload) {
      config.log.push({ actor: id, what: 'receive', from, bytes: [...payload], at: host.now() });
      config.react?.(host, from, payload);
    },
    flush() {
      config.log.push({ actor: id, what: 'flush', at: host.now() });
    },
    tick() {
      if (config.logTicks === true) config.log.push({ actor: id, what: 'tick', at: host.now() });
    },
    close() {
      config.log.push({ actor: id, what: 'close', at: host.now() });
      return Promise.resolve();
    },
  };
}

export function receives(log: ProbeLogEntry[], actor?: ActorId): ProbeLogEntry[] {
  return log.filter((e) => e.what === 'receive' && (actor === undefined || e.actor === actor));
}
