/*
 * The one declarative reader for every configuration file and flag set (the enclave's config, the
 * proxy's, the dev kit's fault and seed files): a schema built from small readers, one wording for
 * every mistake, unknown keys refused, and each message naming where the value is. Each package
 * keeps its own error class: the reader is handed the function that makes one.
 */

/** Keys and list indexes from the top of the document down to a value. */
export type ConfigPath = readonly (string | number)[];

/** `routes[0].upstream`: a path as a user reads it. */
export function formatConfigPath(path: ConfigPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** Where a value is, for messages. A YAML reader adds line numbers; plain values name the source. */
export interface ConfigLocator {
  /** E.g. `proxy.yaml:5 at routes[0].upstream`. */
  value(path: ConfigPath): string;
  /** Where an unknown key is (its own line, when known). Default: `value(path)`. */
  key?(path: ConfigPath): string;
}

/** `SOURCE at PATH`: for JSON files and flags, which have no lines to name. */
export function plainLocator(source: string): ConfigLocator {
  return { value: (path) => `${source}${path.length > 0 ? ` at ${formatConfigPath(path)}` : ''}` };
}

export interface ConfigReadContext {
  /** Throws the package's error: `WHERE: MESSAGE`. */
  fail(path: ConfigPath, message: string): never;
  failKey(path: ConfigPath, message: string): never;
}

export interface ConfigReader<T> {
  read(value: unknown, path: ConfigPath, context: ConfigReadContext): T;
}

/** A member that may be absent: left out of the result (never `undefined`), or given a default. */
interface OptionalMember<T> {
  readonly optional: true;
  readonly reader: ConfigReader<T>;
}
interface DefaultedMember<T> {
  readonly fallback: T;
  readonly reader: ConfigReader<T>;
}
/** A required member whose absence has its own message (default: "required"). */
interface RequiredMember<T> {
  readonly missing: string;
  readonly reader: ConfigReader<T>;
}
type Member<T> = ConfigReader<T> | OptionalMember<T> | DefaultedMember<T> | RequiredMember<T>;
type Members = Readonly<Record<string, Member<unknown>>>;

type MemberType<M> = M extends ConfigReader<infer T> ? T : M extends { readonly reader: ConfigReader<infer T> } ? T : never;
type ObjectOf<M extends Members> = {
  -readonly [K in keyof M as M[K] extends OptionalMember<unknown> ? never : K]: MemberType<M[K]>;
} & {
  -readonly [K in keyof M as M[K] extends OptionalMember<unknown> ? K : never]?: MemberType<M[K]>;
};

const isPlainObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** A non-empty string; `check` returns what is wrong with it, if anything. */
function text(check?: (value: string) => string | undefined): ConfigReader<string> {
  return {
    read(value, path, context) {
      if (typeof value !== 'string' || value.length === 0) return context.fail(path, 'expected a non-empty string');
      const wrong = check?.(value);
      if (wrong !== undefined) return context.fail(path, wrong);
      return value;
    },
  };
}

/** Any string, the empty one included (a tag value, an environment variable's value). */
const anyString: ConfigReader<string> = {
  read(value, path, context) {
    if (typeof value !== 'string') return context.fail(path, 'expected a string');
    return value;
  },
};

function integerRange(min: number, max: number | undefined): string {
  if (max !== undefined) return `expected an integer from ${min} to ${max}`;
  return min === 1 ? 'expected a positive integer' : min === 0 ? 'expected a non-negative integer' : `expected an integer of at least ${min}`;
}

function integer(min: number, max?: number): ConfigReader<number> {
  return {
    read(value, path, context) {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || (max !== undefined && value > max))
        return context.fail(path, integerRange(min, max));
      return value;
    },
  };
}

function number(min: number, max: number): ConfigReader<number> {
  return {
    read(value, path, context) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
        return context.fail(path, `expected a number from ${min} to ${max}`);
      return value;
    },
  };
}

const boolean: ConfigReader<boolean> = {
  read(value, path, context) {
    if (typeof value !== 'boolean') return context.fail(path, 'expected true or false');
    return value;
  },
};

function oneOf<const T extends string>(values: readonly T[]): ConfigReader<T> {
  return {
    read(value, path, context) {
      if (typeof value !== 'string' || !(values as readonly string[]).includes(value))
        return context.fail(path, `expected ${values.map((v) => JSON.stringify(v)).join(' or ')}`);
      return value as T;
    },
  };
}

/** A list; `expected` replaces "expected a list" (and "at least one item" when `nonEmpty`) in messages. */
function list<T>(item: ConfigReader<T>, options: { readonly nonEmpty?: boolean; readonly expected?: string } = {}): ConfigReader<T[]> {
  return {
    read(value, path, context) {
      if (!Array.isArray(value)) return context.fail(path, options.expected ?? 'expected a list');
      if (options.nonEmpty && value.length === 0) return context.fail(path, options.expected ?? 'expected at least one item');
      return value.map((v, i) => item.read(v, [...path, i], context));
    },
  };
}

/** A map of names to values; `key` returns what is wrong with a name, if anything. */
function record<T>(
  item: ConfigReader<T>,
  options: { readonly nonEmpty?: boolean; readonly expected?: string; readonly key?: (name: string) => string | undefined } = {},
): ConfigReader<Record<string, T>> {
  return {
    read(value, path, context) {
      if (!isPlainObject(value) || (options.nonEmpty && Object.keys(value).length === 0))
        return context.fail(path, options.expected ?? 'expected an object (key: value)');
      const out: Record<string, T> = {};
      for (const [name, v] of Object.entries(value)) {
        const wrong = options.key?.(name);
        if (wrong !== undefined) return context.failKey([...path, name], wrong);
        out[name] = item.read(v, [...path, name], context);
      }
      return out;
    },
  };
}

/** An object of known members: any other key is refused, naming the known ones. */
function object<M extends Members>(members: M): ConfigReader<ObjectOf<M>> {
  const known = Object.keys(members);
  return {
    read(value, path, context) {
      if (!isPlainObject(value)) return context.fail(path, 'expected an object (key: value)');
      for (const key of Object.keys(value)) {
        if (!Object.hasOwn(members, key)) context.failKey([...path, key], `unknown key "${formatConfigPath([...path, key])}" (known: ${known.join(', ')})`);
      }
      const out: Record<string, unknown> = {};
      for (const [key, member] of Object.entries(members)) {
        const raw = value[key];
        const at = [...path, key];
        if ('read' in member) {
          if (raw === undefined) return context.fail(at, 'required');
          out[key] = member.read(raw, at, context);
        } else if (raw !== undefined) out[key] = member.reader.read(raw, at, context);
        else if ('fallback' in member) out[key] = member.fallback;
        else if ('missing' in member) return context.fail(at, member.missing);
      }
      return out as ObjectOf<M>;
    },
  };
}

/**
 * A reader whose result is checked or turned into something else; `fail` names the same place, or a
 * member below it (`fail(message, ['listen'])`).
 */
function then<T, U>(reader: ConfigReader<T>, next: (value: T, fail: (message: string, member?: ConfigPath) => never) => U): ConfigReader<U> {
  return {
    read(value, path, context) {
      return next(reader.read(value, path, context), (message, member = []) => context.fail([...path, ...member], message));
    },
  };
}

/** The readers a schema is built from. */
export const configSchema = {
  text,
  anyString,
  integer,
  number,
  boolean,
  oneOf,
  list,
  record,
  object,
  then,
  /** Absent: left out of the result. */
  optional: <T>(reader: ConfigReader<T>): OptionalMember<T> => ({ optional: true, reader }),
  /** Absent: `fallback`. */
  withDefault: <T>(reader: ConfigReader<T>, fallback: T): DefaultedMember<T> => ({ fallback, reader }),
  /** Required, and its absence explained with `missing`. */
  required: <T>(reader: ConfigReader<T>, missing: string): RequiredMember<T> => ({ missing, reader }),
} as const;

/**
 * Reads `value` with `reader`. The first mistake throws `makeError("WHERE: MESSAGE")`, WHERE from the
 * locator; nothing is half-read, since the result exists only when every member passed.
 */
export function readConfig<T>(reader: ConfigReader<T>, value: unknown, locator: ConfigLocator, makeError: (message: string) => Error): T {
  const context: ConfigReadContext = {
    fail: (path, message) => {
      throw makeError(`${locator.value(path)}: ${message}`);
    },
    failKey: (path, message) => {
      throw makeError(`${(locator.key ?? locator.value)(path)}: ${message}`);
    },
  };
  return reader.read(value, [], context);
}
