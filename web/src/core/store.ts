// Persistent key-value tables: IndexedDB in the browser, memory under node (tests).
// Values are structured-cloneable (Uint8Array, bigint, CryptoKey are fine).

export const TABLES = ["kv", "convs", "groups", "keypackages", "messages"] as const;
export type Table = (typeof TABLES)[number];

export type Op = { table: Table; key: string; value?: unknown; delete?: boolean };

export interface Store {
  get<T>(table: Table, key: string): Promise<T | undefined>;
  /** Every value of a table, in key order; with prefix, only keys starting with it. */
  list<T>(table: Table, prefix?: string): Promise<T[]>;
  /** Applies every operation atomically. */
  write(ops: Op[]): Promise<void>;
  /** Deletes everything. */
  clear(): Promise<void>;
}

export function put(table: Table, key: string, value: unknown): Op {
  return { table, key, value };
}

export function del(table: Table, key: string): Op {
  return { table, key, delete: true };
}

export class MemoryStore implements Store {
  private readonly tables = new Map<Table, Map<string, unknown>>(TABLES.map((t) => [t, new Map()]));

  async get<T>(table: Table, key: string): Promise<T | undefined> {
    return structuredClone(this.tables.get(table)!.get(key)) as T | undefined;
  }

  async list<T>(table: Table, prefix = ""): Promise<T[]> {
    const m = this.tables.get(table)!;
    return [...m.keys()]
      .filter((k) => k.startsWith(prefix))
      .sort()
      .map((k) => structuredClone(m.get(k)) as T);
  }

  async write(ops: Op[]): Promise<void> {
    for (const op of ops) {
      const m = this.tables.get(op.table)!;
      if (op.delete) m.delete(op.key);
      else m.set(op.key, structuredClone(op.value));
    }
  }

  async clear(): Promise<void> {
    for (const m of this.tables.values()) m.clear();
  }
}

function promised<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export class IdbStore implements Store {
  private constructor(private readonly db: IDBDatabase) {}

  static async open(name = "cercle"): Promise<IdbStore> {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => {
      for (const t of TABLES) {
        if (!request.result.objectStoreNames.contains(t)) request.result.createObjectStore(t);
      }
    };
    return new IdbStore(await promised(request));
  }

  async get<T>(table: Table, key: string): Promise<T | undefined> {
    const tx = this.db.transaction(table, "readonly");
    return (await promised(tx.objectStore(table).get(key))) as T | undefined;
  }

  async list<T>(table: Table, prefix = ""): Promise<T[]> {
    const tx = this.db.transaction(table, "readonly");
    const range = prefix ? IDBKeyRange.bound(prefix, prefix + "\uffff") : undefined;
    return (await promised(tx.objectStore(table).getAll(range))) as T[];
  }

  write(ops: Op[]): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    const tables = [...new Set(ops.map((o) => o.table))];
    const tx = this.db.transaction(tables, "readwrite");
    for (const op of ops) {
      const s = tx.objectStore(op.table);
      if (op.delete) s.delete(op.key);
      else s.put(op.value, op.key);
    }
    return new Promise((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
    });
  }

  async clear(): Promise<void> {
    const tx = this.db.transaction([...TABLES], "readwrite");
    for (const t of TABLES) tx.objectStore(t).clear();
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
  }
}
