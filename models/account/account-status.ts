/**
 * The account's result codes: a write's status and a transaction's recorded outcome (in
 * their own module so the deciding code and the model share them without an import cycle;
 * account.ts re-exports both).
 */
import { RESULT_BAD_REQUEST } from '../model-tags';

export const AccountStatus = {
  ok: 0,
  insufficientFunds: 1,
  limitExceeded: 2,
  unknownTx: 3,
  txFinished: 4,
  boundsMismatch: 5,
  journalTrimmed: 6,
  idConflict: 7,
  tooManyPending: 8,
  /** An opId not remembered whose op may have applied before the remembered window. */
  opIdTooOld: 9,
  badRequest: RESULT_BAD_REQUEST,
} as const;
export type AccountStatus = (typeof AccountStatus)[keyof typeof AccountStatus];

/** A transaction's recorded fate, in write results of prepare / commit / rollback. */
export const TxOutcome = { none: 0, committed: 1, rolledBack: 2 } as const;
export type TxOutcome = (typeof TxOutcome)[keyof typeof TxOutcome];
