/**
 * DynamoDB capacity units from item sizes, by the rules of the DynamoDB Developer Guide
 * ("Item sizes and formats", "Read/write capacity mode"):
 *   - item size: attribute names (UTF-8 bytes) plus values; a string is its UTF-8 bytes, a number
 *     about (significant digits / 2) + 1 bytes, binary its bytes, a boolean or null 1 byte; a list or
 *     map 3 bytes plus 1 byte per element plus the elements (a map's keys count as names); a set the
 *     sum of its elements;
 *   - a write: 1 write unit per started KB of the larger of the item before and after (a put, an
 *     update, a delete, also a write whose condition failed); 2 per KB inside a transaction;
 *   - a strongly consistent read: 1 read unit per started 4 KB, eventually consistent half of it;
 *     a query or batch counts the sum of the items read; a transactional read 2 per 4 KB.
 * Pure code: tested in tests/unit/cost-units.test.ts.
 */

/** A value in DynamoDB's wire JSON (`{ "S": "..." }`, `{ "M": { ... } }`, ...). */
export type WireValue = Readonly<Record<string, unknown>>;
export type WireItem = Readonly<Record<string, WireValue>>;

const utf8 = (s: string): number => Buffer.byteLength(s, "utf8");

function numberSize(n: string): number {
  const digits = n.replace(/^[-+]/, "").replace(/e.*$/i, "").replace(".", "");
  const significant = digits.replace(/^0+/, "").replace(/0+$/, "");
  return Math.ceil(Math.max(1, significant.length) / 2) + 1;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The size in bytes of one attribute value. */
export function valueSize(value: WireValue): number {
  if (typeof value.S === "string") return utf8(value.S);
  if (typeof value.N === "string") return numberSize(value.N);
  if (typeof value.B === "string") return Buffer.from(value.B, "base64").length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (Array.isArray(value.SS)) return value.SS.reduce((n: number, s) => n + utf8(String(s)), 0);
  if (Array.isArray(value.NS))
    return value.NS.reduce((n: number, s) => n + numberSize(String(s)), 0);
  if (Array.isArray(value.BS)) {
    return value.BS.reduce((n: number, s) => n + Buffer.from(String(s), "base64").length, 0);
  }
  if (Array.isArray(value.L)) {
    return value.L.reduce((n: number, v) => n + 1 + (isRecord(v) ? valueSize(v) : 0), 3);
  }
  if (isRecord(value.M)) {
    return Object.entries(value.M).reduce(
      (n, [k, v]) => n + 1 + utf8(k) + (isRecord(v) ? valueSize(v) : 0),
      3,
    );
  }
  return 0;
}

/** The size in bytes of an item (0 for no item). */
export function itemSize(item: WireItem | undefined): number {
  if (item === undefined) return 0;
  return Object.entries(item).reduce((n, [name, value]) => n + utf8(name) + valueSize(value), 0);
}

/** Write units of one item written: before and after are the item's sizes in bytes. */
export function writeUnits(before: number, after: number, transactional: boolean): number {
  const units = Math.max(1, Math.ceil(Math.max(before, after) / 1024));
  return transactional ? 2 * units : units;
}

/** Read units of a read of `bytes` (the sum of the items read; 0 when nothing was found). */
export function readUnits(bytes: number, mode: "eventual" | "strong" | "transactional"): number {
  const blocks = Math.max(1, Math.ceil(bytes / 4096));
  if (mode === "eventual") return blocks / 2;
  return mode === "transactional" ? 2 * blocks : blocks;
}

/** A global secondary index with keys-only projection: its key attributes. */
export interface KeysOnlyIndex {
  readonly partitionKey: string;
  readonly sortKey: string;
}

/**
 * Write units a write costs in a keys-only index: 1 per started KB of the index entry (its keys,
 * the table's keys and 100 bytes of overhead) for each entry put or deleted; an entry whose keys
 * did not change is not written (a keys-only index holds nothing else).
 */
export function indexWriteUnits(
  index: KeysOnlyIndex,
  tableKeys: readonly string[],
  before: WireItem | undefined,
  after: WireItem | undefined,
): number {
  const entry = (item: WireItem | undefined) => {
    if (item?.[index.partitionKey] === undefined || item[index.sortKey] === undefined) {
      return undefined;
    }
    const names = [...new Set([index.partitionKey, index.sortKey, ...tableKeys])];
    const key: Record<string, WireValue> = {};
    for (const n of names) {
      const value = item[n];
      if (value !== undefined) key[n] = value;
    }
    return key;
  };
  const old = entry(before);
  const fresh = entry(after);
  const units = (e: WireItem) => Math.max(1, Math.ceil((itemSize(e) + 100) / 1024));
  if (old !== undefined && fresh !== undefined && JSON.stringify(old) === JSON.stringify(fresh)) {
    return 0;
  }
  return (old === undefined ? 0 : units(old)) + (fresh === undefined ? 0 : units(fresh));
}
