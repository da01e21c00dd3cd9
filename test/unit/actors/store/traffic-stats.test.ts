/** The store's traffic summary (issue 10, "messages per write"): sums over replicas and threads. */
import test from 'ava';
import type { ClientStats } from '../../../../runtime/actor-system';
import { trafficOf } from '../../../../actors/store/traffic-stats';

const client = {
  messagesIn: 5,
  messagesOut: 7,
  wakes: 2,
  remoteOut: 11,
} as unknown as ClientStats;

test('sums the replicas that are up and every worker, and counts the client requests as records', (t) => {
  const replicas: (Record<string, number> | null)[] = [
    { writesAcknowledged: 10, messagesSent: 40, peerPayloadsSent: 6, resultPayloadsSent: 3 },
    null,
    { messagesSent: 20, peerPayloadsSent: 4 },
  ];
  const workers = [
    { messagesOut: 9, localMessages: 4, localObjects: 3, wakes: 1 },
    { messagesOut: 3 },
    {},
  ];
  const traffic = trafficOf(replicas, workers, client);
  t.deepEqual(traffic, {
    writesAcknowledged: 10,
    paxosMessages: 60,
    peerPayloads: 10,
    resultPayloads: 3,
    interThreadRecords: 7 + 9 + 3,
    localDeliveries: 4,
    localObjects: 3,
    wireRecords: 11,
    workerWakes: 1,
    clientWakes: 2,
  });
});
