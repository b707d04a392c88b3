/**
 * Stripe's form encoding: `metadata[order_id]=x`, `expand[]=a`, `expand[0]=a`,
 * `payment_method_options[card][capture_method]=manual`. Parsed into nested values.
 */

export type FormValue = string | FormValue[] | FormObject;
export interface FormObject {
  [key: string]: FormValue;
}

type Node = string | Branch | Node[];
type Branch = Map<string, Node>;

/** Splits `a[b][]` into ["a", "b", ""]; a malformed key is kept whole. */
function splitKey(key: string): string[] {
  const open = key.indexOf("[");
  if (open <= 0) {
    return [key];
  }
  const segments = [key.slice(0, open)];
  let rest = key.slice(open);
  const pattern = /^\[([^[\]]*)\]/;
  while (rest.length > 0) {
    const match = pattern.exec(rest);
    if (!match) {
      return [key];
    }
    segments.push(match[1] ?? "");
    rest = rest.slice(match[0].length);
  }
  return segments;
}

function insert(container: Branch | Node[], segments: readonly string[], value: string): void {
  const [head, ...tail] = segments;
  if (head === undefined) {
    return;
  }
  if (Array.isArray(container)) {
    // Only reached through `[]`: every `[]` appends.
    if (tail.length === 0) {
      container.push(value);
      return;
    }
    const child: Branch = new Map();
    container.push(child);
    insert(child, tail, value);
    return;
  }
  if (tail.length === 0) {
    container.set(head, value);
    return;
  }
  const nextIsAppend = tail[0] === "";
  let child = container.get(head);
  if (nextIsAppend) {
    if (!Array.isArray(child)) {
      child = [];
      container.set(head, child);
    }
    insert(child, tail, value);
    return;
  }
  if (!(child instanceof Map)) {
    child = new Map();
    container.set(head, child);
  }
  insert(child, tail, value);
}

function toValue(node: Node, path: readonly string[]): FormValue {
  if (typeof node === "string") {
    return node;
  }
  if (Array.isArray(node)) {
    return node.map((item) => toValue(item, path));
  }
  const keys = [...node.keys()];
  const underMetadata = path.includes("metadata");
  const indexed =
    !underMetadata &&
    keys.length > 0 &&
    keys.every((key) => /^\d+$/.test(key)) &&
    keys
      .map(Number)
      .sort((a, b) => a - b)
      .every((index, position) => index === position);
  if (indexed) {
    return keys
      .map((key) => ({ index: Number(key), key }))
      .sort((a, b) => a.index - b.index)
      .map(({ key }) => {
        const child = node.get(key);
        return child === undefined ? "" : toValue(child, path);
      });
  }
  const out: FormObject = Object.create(null);
  for (const [key, child] of node) {
    out[key] = toValue(child, [...path, key]);
  }
  return out;
}

/** Parses an `application/x-www-form-urlencoded` body or query string. */
export function parseForm(input: string | URLSearchParams): FormObject {
  const params = typeof input === "string" ? new URLSearchParams(input) : input;
  const root: Branch = new Map();
  for (const [key, value] of params) {
    if (key === "") {
      continue;
    }
    insert(root, splitKey(key), value);
  }
  const value = toValue(root, []);
  if (typeof value === "string" || Array.isArray(value)) {
    return Object.create(null);
  }
  return value;
}

/** A stable JSON rendering (sorted keys) used to compare request parameters. */
export function canonicalJson(value: FormValue): string {
  if (typeof value === "string") {
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map(canonicalJson).join(",")}]`;
  }
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key] ?? "")}`).join(",")}}`;
}
