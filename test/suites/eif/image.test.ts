import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../support/index.js';

const root = projectRoot();
const dockerfile = readFileSync(join(root, 'eif', 'Dockerfile'), 'utf8');
/** Instructions with continuation lines joined, comments dropped. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

function stages(): Array<{ name: string; from: string; lines: string[] }> {
  const out: Array<{ name: string; from: string; lines: string[] }> = [];
  for (const line of instructions) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(line);
    if (from) out.push({ from: from[1] as string, name: from[2] ?? '', lines: [] });
    else out[out.length - 1]?.lines.push(line);
  }
  return out;
}

describe('eif/Dockerfile', () => {
  it('is multi-stage: build, runtime-deps, enclave, each from the digest-pinned BASE_IMAGE', () => {
    const s = stages();
    expect(s.map((x) => x.name)).toEqual(['build', 'runtime-deps', 'enclave']);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's own ARG reference, literally
    for (const stage of s) expect(stage.from).toBe('${BASE_IMAGE}');
    expect(dockerfile).not.toMatch(/:latest/);
    expect(readFileSync(join(root, 'eif', 'build.sh'), 'utf8')).toContain('*@sha256:*');
  });

  it('installs only the enclave workspace, production dependencies, in the runtime stage', () => {
    const deps = stages().find((x) => x.name === 'runtime-deps') as { lines: string[] };
    const ci = deps.lines.find((l) => l.startsWith('RUN npm ci')) as string;
    expect(ci).toContain('--omit=dev');
    expect(ci).toContain('--workspace @nitro-datakey/enclave');
    expect(ci).toContain('--ignore-scripts'); // the addon comes built from the build stage
  });

  it('copies nothing of the parent proxy or the testkit into the image, and builds the addon inside', () => {
    const final = stages().find((x) => x.name === 'enclave') as { lines: string[] };
    const copies = final.lines.filter((l) => l.startsWith('COPY'));
    for (const c of copies) expect(c).not.toMatch(/parent-proxy|\/test\/|\stest\//);
    expect(copies.some((c) => c.includes('nitro_datakey_native.node'))).toBe(true);
    const build = stages().find((x) => x.name === 'build') as { lines: string[] };
    expect(build.lines.some((l) => l.includes('npm rebuild --workspace @nitro-datakey/native'))).toBe(true);
    // Earlier stages see other workspaces' manifests only (so the lockfile matches), never their sources.
    for (const l of instructions.filter((x) => x.startsWith('COPY') && /parent-proxy|test\//.test(x)))
      expect(l).toMatch(/(parent-proxy|test|test\/devkit)\/package\.json/);
  });

  it('uses absolute paths in ENTRYPOINT and CMD (the enclave init ignores WORKDIR), exec form', () => {
    const final = stages().find((x) => x.name === 'enclave') as { lines: string[] };
    for (const keyword of ['ENTRYPOINT', 'CMD']) {
      const line = final.lines.find((l) => l.startsWith(keyword)) as string;
      const args = JSON.parse(line.slice(keyword.length).trim()) as string[];
      const paths = args.filter((a) => !a.startsWith('-'));
      for (const p of paths) expect(p.startsWith('/'), `${keyword} ${p}`).toBe(true);
    }
    expect(final.lines.some((l) => l.startsWith('WORKDIR'))).toBe(false);
    const entry = readFileSync(join(root, 'eif', 'entrypoint.sh'), 'utf8');
    expect(entry).toMatch(/ip link set dev lo up/);
    expect(entry).toMatch(/exec "\$@"/);
  });

  it("the runtime stage's npm ci really installs only what the enclave needs", () => {
    const dir = mkdtempSync(join(tmpdir(), 'ndk-image-deps-'));
    cpSync(join(root, 'package.json'), join(dir, 'package.json'));
    cpSync(join(root, 'package-lock.json'), join(dir, 'package-lock.json'));
    for (const w of ['shared', 'shared/native', 'enclave', 'parent-proxy', 'test', 'test/devkit']) {
      mkdirSync(join(dir, w), { recursive: true });
      cpSync(join(root, w, 'package.json'), join(dir, w, 'package.json'));
    }
    const r = spawnSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--ignore-scripts', '--workspace', '@nitro-datakey/enclave'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const installed = readdirSync(join(dir, 'node_modules'));
    expect(installed).toContain('@aws-sdk');
    expect(installed).toContain('cbor-x');
    for (const absent of ['yaml', '@peculiar', 'vitest', 'typescript', 'pkijs', 'reflect-metadata']) expect(installed).not.toContain(absent);
    expect(existsSync(join(dir, 'node_modules', '@aws-sdk', 'credential-providers'))).toBe(false); // the parent proxy's
  }, 120_000);
});

describe('eif shell scripts', () => {
  const scripts = ['build.sh', 'run.sh', 'entrypoint.sh'];

  it.each(scripts)('%s passes bash -n', (name) => {
    const r = spawnSync('bash', ['-n', join(root, 'eif', name)], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  /** A PATH with the basics but without docker and nitro-cli (fake ones are added when asked). */
  function pathWith(fakes: string[]): string {
    const bin = mkdtempSync(join(tmpdir(), 'ndk-path-'));
    for (const tool of ['bash', 'sh', 'cat', 'sed', 'dirname', 'mkdir', 'cp', 'git', 'env']) {
      const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      if (found) spawnSync('ln', ['-s', found, join(bin, tool)]);
    }
    for (const fake of fakes) {
      writeFileSync(join(bin, fake), '#!/bin/sh\necho "fake $0 $*" >&2\nexit 0\n');
      chmodSync(join(bin, fake), 0o755);
    }
    return bin;
  }

  it('build.sh refuses to run without docker and nitro-cli, naming both', () => {
    const r = spawnSync(join(root, 'eif', 'build.sh'), [], { encoding: 'utf8', env: { PATH: pathWith([]) } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/docker is not installed/);
    expect(r.stderr).toMatch(/nitro-cli is not installed/);
  });

  it('build.sh refuses a base image that is not pinned by digest', () => {
    const r = spawnSync(join(root, 'eif', 'build.sh'), ['--base-image', 'node:20-bookworm-slim'], {
      encoding: 'utf8',
      env: { PATH: pathWith(['docker', 'nitro-cli']) },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not pinned by digest/);
  });

  it('run.sh refuses to run without nitro-cli, and without an EIF', () => {
    const noCli = spawnSync(join(root, 'eif', 'run.sh'), [], { encoding: 'utf8', env: { PATH: pathWith([]) } });
    expect(noCli.status).toBe(1);
    expect(noCli.stderr).toMatch(/nitro-cli is not installed/);
    const noEif = spawnSync(join(root, 'eif', 'run.sh'), ['--eif', '/nonexistent.eif'], { encoding: 'utf8', env: { PATH: pathWith(['nitro-cli']) } });
    expect(noEif.status).toBe(1);
    expect(noEif.stderr).toMatch(/no EIF/);
  });

  it('run.sh warns that debug mode zeroes PCRs; both scripts exit 2 on unknown arguments', () => {
    const eif = join(mkdtempSync(join(tmpdir(), 'ndk-eif-')), 'x.eif');
    writeFileSync(eif, '');
    const debug = spawnSync(join(root, 'eif', 'run.sh'), ['--eif', eif, '--debug'], { encoding: 'utf8', env: { PATH: pathWith(['nitro-cli']) } });
    expect(debug.stderr).toMatch(/PCR0, PCR1 and PCR2 read as zeros/);
    expect(debug.stderr).toMatch(/fake .*nitro-cli run-enclave .*--debug-mode/);
    for (const s of ['build.sh', 'run.sh'])
      expect(spawnSync(join(root, 'eif', s), ['--frob'], { encoding: 'utf8', env: { PATH: pathWith(['docker', 'nitro-cli']) } }).status).toBe(2);
  });
});
