import { describe, expect, it } from 'vitest';
import { configSchema as c, formatConfigPath, plainLocator, readConfig, type ConfigLocator } from '@nitro-datakey/shared/cli';

class TestConfigError extends Error {}
const schema = c.object({
  name: c.text(),
  port: c.withDefault(c.integer(1, 65535), 8000),
  tags: c.optional(c.record(c.anyString, { key: (k) => (k.startsWith('aws:') ? 'aws: is reserved' : undefined) })),
  routes: c.required(c.list(c.object({ to: c.text() }), { nonEmpty: true, expected: 'at least one route' }), 'at least one route'),
  mode: c.optional(c.oneOf(['fast', 'safe'])),
  tls: c.optional(
    c.then(c.object({ on: c.boolean, ratio: c.optional(c.number(0, 1)) }), (tls, fail) =>
      tls.on || tls.ratio === undefined ? tls : fail('needs on', ['ratio']),
    ),
  ),
});
const read = (value: unknown, locator: ConfigLocator = plainLocator('app.json')) =>
  readConfig(schema, value, locator, (message) => new TestConfigError(message));
const message = (value: unknown): string => {
  try {
    read(value);
  } catch (e) {
    expect(e).toBeInstanceOf(TestConfigError);
    return (e as Error).message;
  }
  throw new Error('no error');
};

describe('the declarative config reader', () => {
  it('reads a valid document: defaults filled in, absent optional members left out (never undefined)', () => {
    const config = read({ name: 'a', routes: [{ to: 'b' }] });
    expect(config).toEqual({ name: 'a', port: 8000, routes: [{ to: 'b' }] });
    expect(Object.hasOwn(config, 'tags')).toBe(false);
    expect(read({ name: 'a', routes: [{ to: 'b' }], port: 1, tags: { env: '' }, mode: 'safe', tls: { on: true, ratio: 0.5 } })).toMatchObject({
      port: 1,
      tags: { env: '' },
      mode: 'safe',
      tls: { on: true, ratio: 0.5 },
    });
  });

  it.each([
    [[], 'app.json: expected an object (key: value)'],
    [{ routes: [{ to: 'b' }] }, 'app.json at name: required'],
    [{ name: '', routes: [{ to: 'b' }] }, 'app.json at name: expected a non-empty string'],
    [{ name: 'a' }, 'app.json at routes: at least one route'],
    [{ name: 'a', routes: [] }, 'app.json at routes: at least one route'],
    [{ name: 'a', routes: [{ to: 'b' }, { too: 'c' }] }, 'app.json at routes[1].too: unknown key "routes[1].too" (known: to)'],
    [{ name: 'a', routes: [{ to: 'b' }], port: 70000 }, 'app.json at port: expected an integer from 1 to 65535'],
    [{ name: 'a', routes: [{ to: 'b' }], port: 1.5 }, 'app.json at port: expected an integer from 1 to 65535'],
    [{ name: 'a', routes: [{ to: 'b' }], tags: { 'aws:x': 'y' } }, 'app.json at tags.aws:x: aws: is reserved'],
    [{ name: 'a', routes: [{ to: 'b' }], tags: { x: 1 } }, 'app.json at tags.x: expected a string'],
    [{ name: 'a', routes: [{ to: 'b' }], mode: 'slow' }, 'app.json at mode: expected "fast" or "safe"'],
    [{ name: 'a', routes: [{ to: 'b' }], tls: { on: 'yes' } }, 'app.json at tls.on: expected true or false'],
    [{ name: 'a', routes: [{ to: 'b' }], tls: { on: false, ratio: 2 } }, 'app.json at tls.ratio: expected a number from 0 to 1'],
    [{ name: 'a', routes: [{ to: 'b' }], tls: { on: false, ratio: 1 } }, 'app.json at tls.ratio: needs on'],
    [{ name: 'a', routes: [{ to: 'b' }], verbose: true }, 'app.json at verbose: unknown key "verbose" (known: name, port, tags, routes, mode, tls)'],
  ])('refuses %j: %s', (value, expected) => {
    expect(message(value)).toBe(expected);
  });

  it("puts an unknown key at the key's own place when the locator knows it (a YAML line)", () => {
    const locator: ConfigLocator = { value: (path) => `f.yaml:9 at ${formatConfigPath(path)}`, key: (path) => `f.yaml:${path.length}` };
    expect(() => read({ name: 'a', routes: [{ to: 'b', x: 1 }] }, locator)).toThrow('f.yaml:3: unknown key "routes[0].x" (known: to)');
  });

  it('formats paths as a user reads them', () => {
    expect(formatConfigPath([])).toBe('');
    expect(formatConfigPath(['secrets', 'items', 0, 'name'])).toBe('secrets.items[0].name');
    expect(formatConfigPath([0, 'a'])).toBe('[0].a');
  });
});
