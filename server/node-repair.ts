/**
 * The background repair scan in a node process (actors/store/background-repair.ts, unchanged):
 * the node compares its replica with its Set's other replicas over the network (client/
 * set-context.ts), repairs what differs at the configured rate, logs every round (pino JSON
 * lines) and keeps the "groups behind" of its status (groups-behind.ts).
 *
 * Every node of a Set runs its own scan: any one of them can repair the Set, so one down node
 * stops nothing; the cost is up to one comparison per node per interval (default 10 min).
 * A repair read goes through the replica it must catch up (the peer node proposes it); an
 * install write goes through this node's own replica (install ops are refused from clients,
 * and any replica may propose one once the group is settled, verify-install.ts).
 */
import { BackgroundRepair } from '../actors/store/background-repair';
import type { RepairStats } from '../actors/store/background-repair';
import type { RepairRoundReport, ResolvedRepair } from '../actors/store/repair-options';
import type { GroupScan } from '../actors/store/verify';
import type { NetLog } from '../net/errors';
import { verifyContextOf } from '../client/set-context';
import type { SetAccess } from '../client/set-context';
import { GroupsBehind, isGroupBehind } from './groups-behind';

export interface NodeRepairStatus extends RepairStats {
  /**
   * Groups of this replica whose digests differed from a majority's when the scan last compared
   * them; null before the first comparison. `groupsScanned` of `groups` say what it covers.
   */
  readonly groupsBehind: number | null;
  /** Groups scanned at least once, of `groups`. */
  readonly groupsScanned: number;
  readonly groups: number;
  /** Age in ms of the oldest group verdict (the scan's lag); null until every group is scanned. */
  readonly lagMs: number | null;
}

export interface NodeRepairOptions {
  readonly settings: ResolvedRepair;
  readonly access: SetAccess;
  /** This node's replica index in its Set. */
  readonly replica: number;
  readonly inFlight: () => number;
  readonly log: NetLog;
}

export class NodeRepair {
  private readonly repair: BackgroundRepair;
  private readonly behind: GroupsBehind;
  private closed = false;

  constructor(private readonly o: NodeRepairOptions) {
    this.behind = new GroupsBehind(o.access.groups);
    this.repair = new BackgroundRepair(
      { ...o.settings, onRound: (r) => this.onRound(r) },
      {
        context: () => (this.closed ? undefined : verifyContextOf(o.access)),
        inFlight: o.inFlight,
        onGroupScanned: (group, scan) => this.onGroupScanned(group, scan),
      },
    );
    this.repair.start();
  }

  status(): NodeRepairStatus {
    const known = this.behind.known();
    return {
      ...this.repair.stats(),
      groupsBehind: this.behind.behind() ?? null,
      groupsScanned: known.groups,
      groups: this.behind.groups,
      lagMs: known.oldestAt === undefined ? null : Date.now() - known.oldestAt,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.repair.stop();
  }

  private onGroupScanned(group: number, scan: GroupScan): void {
    const digests = scan.round1.map((a) => a?.buckets);
    this.behind.record(group, isGroupBehind(digests, this.o.replica), Date.now());
  }

  private onRound(r: RepairRoundReport): void {
    this.o.settings.onRound?.(r);
    const found = r.behind + r.diverged + r.corrupted;
    this.o.log(found > 0 || r.repairFailed > 0 ? 'warn' : 'info', 'repair round', {
      outcome: r.outcome,
      ms: r.endedAt - r.startedAt,
      groupsScanned: r.groupsScanned,
      groupsFailed: r.groupsFailed,
      keysChecked: r.keysChecked,
      behind: r.behind,
      diverged: r.diverged,
      corrupted: r.corrupted,
      repaired: r.repaired,
      installed: r.installed,
      repairFailed: r.repairFailed,
      truncated: r.truncated,
      amnesiaCleared: r.amnesiaCleared.length,
      groupsBehind: this.behind.behind() ?? null,
    });
  }
}
