/**
 * Operating errors of the cluster's pure modules. Callers and tests match on the stable `code`,
 * never on the message text. The message is one line that names what is wrong (a field path,
 * an option) so an operator can fix it without reading the code.
 */
export const ClusterErrorCodes = {
  /** The cluster file, a secret file or the `serve` command line is wrong. */
  INVALID_CONFIG: 'INVALID_CONFIG',
  /** A route table received from a node does not decode or does not validate. */
  INVALID_ROUTE_TABLE: 'INVALID_ROUTE_TABLE',
} as const;
export type ClusterErrorCode = (typeof ClusterErrorCodes)[keyof typeof ClusterErrorCodes];

export class ClusterConfigError extends Error {
  readonly code = ClusterErrorCodes.INVALID_CONFIG;
  constructor(message: string) {
    super(message);
    this.name = 'ClusterConfigError';
  }
}

export class RouteTableError extends Error {
  readonly code = ClusterErrorCodes.INVALID_ROUTE_TABLE;
  constructor(message: string) {
    super(message);
    this.name = 'RouteTableError';
  }
}

/** A short, bounded rendering of a bad value for an error message. */
export function describeValue(value: unknown): string {
  let text: string;
  if (value === undefined) text = 'undefined';
  else if (typeof value === 'string') text = JSON.stringify(value);
  else if (Array.isArray(value)) text = 'an array';
  else if (value === null) text = 'null';
  else if (typeof value === 'object') text = 'an object';
  else text = String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
