/**
 * Entry point of a worker thread. Loads the actor module, creates this worker's initial actors,
 * and only then starts draining its rings: a message that another worker's actor sends early
 * waits in the ring instead of being dropped for want of its receiver.
 *
 * The control plane (ready, start/stop actors, stats, close) is exposed with comlink on the
 * parentPort; the data path never touches it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/umd/node-adapter';
import { assert } from './assert';
import type { ActorFactory } from './actor';
import { WorkerRuntime } from './worker-runtime';
import type { WorkerApi, WorkerEvent, WorkerInit } from './worker-protocol';

function loadFactory(actorModule: string): ActorFactory<unknown> {
  const loaded = require(actorModule) as { createActor?: unknown };
  if (typeof loaded.createActor !== 'function') {
    throw new TypeError(`${actorModule} does not export a createActor function`);
  }
  return loaded.createActor as ActorFactory<unknown>;
}

function main(): void {
  const port = parentPort;
  assert(port !== null, 'worker-main.js must run in a worker thread');
  const init = workerData as WorkerInit;
  assert(Number.isInteger(init.worker) && init.worker >= 0, `bad worker index ${init.worker}`);
  const runtime = new WorkerRuntime({
    topology: init.topology,
    worker: init.worker,
    factory: loadFactory(init.actorModule),
    actorConfig: init.actorConfig,
    tickMs: init.tickMs,
    respawned: init.respawned,
    linkFaults: init.linkFaults,
    ...(init.remote !== undefined ? { remote: init.remote } : {}),
    onActorFailed: (id, reason) => {
      const event: WorkerEvent = { pxsEvent: { kind: 'actorFailed', id, reason } };
      port.postMessage(event);
    },
  });
  const started = runtime.startActors(init.actors, init.restarted).then((errors) => {
    runtime.start();
    return errors;
  });
  const api: WorkerApi = {
    ready: () => started,
    startActors: (ids, restarted) => runtime.startActors(ids, restarted),
    peerRestarted: (thread) => runtime.peerRestarted(thread),
    stopActors: (ids) => runtime.stopActors(ids),
    stats: () => runtime.stats(),
    inspect: (id, request) => runtime.inspect(id, request),
    quiesce: () => runtime.quiesce(),
    close: (actorCloseTimeoutMs) => runtime.close(actorCloseTimeoutMs),
  };
  Comlink.expose(api, nodeEndpoint(port));
}

main();
