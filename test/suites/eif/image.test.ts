import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../support/index.js';
import { scratchDir } from '../../support/scratch.js';

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
  it('is multi-stage: build and runtime-deps from BUILD_IMAGE, the base enclave from BASE_IMAGE, example on top', () => {
    const s = stages();
    expect(s.map((x) => [x.name, x.from])).toEqual([
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's own ARG references, literally
      ['build', '${BUILD_IMAGE}'],
      // biome-ignore lint/suspicious/noTemplateCurlyInString: as above
      ['runtime-deps', '${BUILD_IMAGE}'],
      // biome-ignore lint/suspicious/noTemplateCurlyInString: as above
      ['enclave', '${BASE_IMAGE}'],
      ['example', 'enclave'],
    ]);
    expect(dockerfile).not.toMatch(/:latest/);
    expect(readFileSync(join(root, 'eif', 'build.sh'), 'utf8')).toContain('*@sha256:*');
  });

  it('pins Node 22 images by digest, and installs nothing with apt (PCR2 would drift between builds)', () => {
    const pins = Object.fromEntries(
      readFileSync(join(root, 'eif', 'base-images.env'), 'utf8')
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => l.split('=') as [string, string]),
    );
    expect(pins['BASE_IMAGE']).toMatch(/^node:22-bookworm-slim@sha256:[0-9a-f]{64}$/);
    expect(pins['BUILD_IMAGE']).toMatch(/^node:22-bookworm@sha256:[0-9a-f]{64}$/);
    expect(instructions.filter((l) => /apt-get|apt |apk |dnf |yum /.test(l))).toEqual([]);
  });

  it('every package allows Node 20.19+ and 22, and the walkthrough and the unit say Node 22', () => {
    for (const w of ['.', 'shared', 'shared/native', 'shared/commands', 'enclave', 'parent-proxy', 'test/devkit']) {
      const engines = (JSON.parse(readFileSync(join(root, w, 'package.json'), 'utf8')) as { engines?: { node?: string } }).engines;
      expect(engines?.node, w).toBe('^20.19.0 || >=22');
    }
    expect(readFileSync(join(root, 'eif', 'README.md'), 'utf8')).toMatch(/Node(\.js)? 22/);
    expect(readFileSync(join(root, 'eif', 'nitro-parent-proxy.service'), 'utf8')).toMatch(/Node(\.js)? 22/);
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

  it('runs nitro-enclave run with absolute paths, exec form (the enclave init ignores WORKDIR); the example config fits the image', async () => {
    const final = stages().find((x) => x.name === 'enclave') as { lines: string[] };
    const cmd = JSON.parse((final.lines.find((l) => l.startsWith('CMD')) as string).slice(3).trim()) as string[];
    expect(cmd).toEqual(['/usr/local/bin/node', '/app/enclave/bin/nitro-enclave.js', 'run', '--config', '/app/config/enclave.json']);
    expect(final.lines.some((l) => l.startsWith('WORKDIR') || l.startsWith('ENTRYPOINT'))).toBe(false);
    // The example's config parses as the enclave reads it, and its workload is what the example stage copies.
    const { parseEnclaveConfig } = await import('@nitro-datakey/enclave');
    const config = parseEnclaveConfig(JSON.parse(readFileSync(join(root, 'eif', 'example', 'enclave.json'), 'utf8')));
    const example = stages().find((x) => x.name === 'example') as { lines: string[] };
    expect(example.lines).toContain('COPY eif/example/app.mjs /app/example/app.mjs');
    expect(example.lines).toContain('COPY eif/example/enclave.json /app/config/enclave.json');
    expect(config.run?.command).toEqual(['/usr/local/bin/node', '/app/example/app.mjs']);
    expect(config.secrets?.items.map((i) => i.envelope)).toEqual(['/app/sealed/db-password.sealed.json']);
    expect(example.lines).toContain('COPY eif/example/sealed/ /app/sealed/');
  });

  it("the runtime stage's npm ci really installs only what the enclave needs", () => {
    const dir = scratchDir('ndk-image-deps-');
    cpSync(join(root, 'package.json'), join(dir, 'package.json'));
    cpSync(join(root, 'package-lock.json'), join(dir, 'package-lock.json'));
    for (const w of ['shared', 'shared/native', 'shared/commands', 'enclave', 'parent-proxy', 'test', 'test/devkit']) {
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
  const scripts = ['build.sh', 'run.sh', 'install-proxy.sh'];
  const shellcheck = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' }).status === 0;

  it.each(scripts)('%s passes bash -n', (name) => {
    const r = spawnSync('bash', ['-n', join(root, 'eif', name)], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  const noShellcheck = shellcheck ? '' : ' (skipped: shellcheck is not installed; .ci/run installs it, or apt-get install shellcheck)';
  it.skipIf(!shellcheck)(`every shell script is shellcheck-clean${noShellcheck}`, () => {
    const files = [...scripts.map((s) => `eif/${s}`), '.ci/run'];
    const r = spawnSync('shellcheck', ['-x', ...files], { cwd: root, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  /** A PATH with the basics but without docker and nitro-cli (fake ones are added when asked). */
  function pathWith(fakes: string[]): string {
    const bin = scratchDir('ndk-path-');
    for (const tool of ['bash', 'sh', 'cat', 'sed', 'dirname', 'mkdir', 'cp', 'git', 'env', 'sort', 'diff']) {
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

  it('build.sh says how to install docker buildx when docker has no buildx plugin, before it builds anything', () => {
    const bin = pathWith([]);
    writeFileSync(join(bin, 'docker'), '#!/bin/sh\nif [ "$1" = buildx ]; then echo "unknown flag: --file" >&2; exit 125; fi\n');
    writeFileSync(join(bin, 'nitro-cli'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(bin, 'docker'), 0o755);
    chmodSync(join(bin, 'nitro-cli'), 0o755);
    const r = spawnSync(join(root, 'eif', 'build.sh'), [], { encoding: 'utf8', env: { PATH: bin } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/docker buildx is not installed/);
    expect(r.stderr).toMatch(/dnf install -y docker-buildx/);
  });

  it('.dockerignore keeps local build state out of the context, and lets in what the Dockerfile copies', () => {
    const rules = readFileSync(join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
    for (const rule of ['.git', '**/node_modules', '**/dist', 'eif/out*', '**/*.eif', 'test/**']) expect(rules).toContain(rule);
    for (const copied of ['test/package.json', 'test/devkit/package.json']) expect(rules).toContain(`!${copied}`);
  });

  /** Fake docker and nitro-cli that log their arguments; nitro-cli prints measurements (PCR2 from $FAKE_PCR2_FILE if set). */
  function fakeHost(): { path: string; log: string } {
    const bin = pathWith([]);
    const log = join(bin, 'calls.log');
    writeFileSync(join(bin, 'docker'), `#!/bin/sh\necho "docker $*" >> ${log}\n`);
    const pcr = (b: string) => b.repeat(96);
    writeFileSync(
      join(bin, 'nitro-cli'),
      `#!/bin/sh\necho "nitro-cli $*" >> ${log}\npcr2=${pcr('2')}\n` +
        'if [ -n "$FAKE_PCR2_FILE" ]; then n=$(cat "$FAKE_PCR2_FILE" 2>/dev/null || echo 0); echo $((n+1)) > "$FAKE_PCR2_FILE"; ' +
        `pcr2=${pcr('2').slice(1)}$n; fi\n` +
        `sign=; case "$*" in *--signing-certificate*) sign=',\n    "PCR8": "${pcr('8')}"';; esac\n` +
        `printf '{\n  "Measurements": {\n    "HashAlgorithm": "Sha384 { ... }",\n    "PCR0": "${pcr('0')}",\n    "PCR1": "${pcr('1')}",\n` +
        `    "PCR2": "%s"%s\n  }\n}\n' "$pcr2" "$sign"\n`,
    );
    chmodSync(join(bin, 'docker'), 0o755);
    chmodSync(join(bin, 'nitro-cli'), 0o755);
    return { path: bin, log };
  }

  it('build.sh builds the base and the app image from the pins, and signs the EIF: PCR8 in the measurements', () => {
    const host = fakeHost();
    const dir = scratchDir('ndk-build-');
    writeFileSync(join(dir, 'cert.pem'), 'cert');
    writeFileSync(join(dir, 'key.pem'), 'key');
    writeFileSync(join(dir, 'Dockerfile'), 'FROM nitro-datakey-enclave:base\n');
    const args = ['--out', join(dir, 'out'), '--app-dockerfile', join(dir, 'Dockerfile')];
    const r = spawnSync(join(root, 'eif', 'build.sh'), [...args, '--signing-certificate', join(dir, 'cert.pem'), '--private-key', join(dir, 'key.pem')], {
      encoding: 'utf8',
      env: { PATH: host.path },
    });
    expect(r.status, r.stderr).toBe(0);
    const calls = readFileSync(host.log, 'utf8');
    expect(calls).toMatch(/docker buildx build .*--target enclave .*BASE_IMAGE=node:22-bookworm-slim@sha256:[0-9a-f]{64}/);
    expect(calls).toMatch(/BUILD_IMAGE=node:22-bookworm@sha256:[0-9a-f]{64} .*SOURCE_DATE_EPOCH=\d+ .*rewrite-timestamp=true/);
    expect(calls).toContain(`docker buildx build --file ${join(dir, 'Dockerfile')}`);
    const signed = `nitro-cli build-enclave --docker-uri nitro-datakey-app:build .* --signing-certificate ${join(dir, 'cert.pem')} --private-key`;
    expect(calls).toMatch(new RegExp(signed));
    const measurements = JSON.parse(readFileSync(join(dir, 'out', 'measurements.json'), 'utf8'));
    expect(Object.keys(measurements.Measurements)).toEqual(['HashAlgorithm', 'PCR0', 'PCR1', 'PCR2', 'PCR8']);
    const half = spawnSync(join(root, 'eif', 'build.sh'), ['--private-key', join(dir, 'key.pem')], { encoding: 'utf8', env: { PATH: host.path } });
    expect(half.status).toBe(2);
    expect(half.stderr).toContain('go together');
  });

  it('build.sh --twice passes when both builds measure the same, and fails naming PCR2 when they do not', () => {
    const same = fakeHost();
    const out = scratchDir('ndk-twice-');
    const ok = spawnSync(join(root, 'eif', 'build.sh'), ['--out', out, '--twice'], { encoding: 'utf8', env: { PATH: same.path } });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('reproducible: both builds have the same PCR0, PCR1 and PCR2');
    expect(readFileSync(same.log, 'utf8')).toMatch(/--no-cache/);
    const drifting = fakeHost();
    const bad = spawnSync(join(root, 'eif', 'build.sh'), ['--out', out, '--twice'], {
      encoding: 'utf8',
      env: { PATH: drifting.path, FAKE_PCR2_FILE: join(out, 'counter') },
    });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/differ in PCR0-2/);
    expect(bad.stderr).toMatch(/PCR2=/);
  });

  it('build.sh refuses a base image that is not pinned by digest', () => {
    const r = spawnSync(join(root, 'eif', 'build.sh'), ['--base-image', 'node:22-bookworm-slim'], {
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
    const eif = join(scratchDir('ndk-eif-'), 'x.eif');
    writeFileSync(eif, '');
    const debug = spawnSync(join(root, 'eif', 'run.sh'), ['--eif', eif, '--debug'], { encoding: 'utf8', env: { PATH: pathWith(['nitro-cli']) } });
    expect(debug.stderr).toMatch(/PCR0, PCR1 and PCR2 read as zeros/);
    expect(debug.stderr).toMatch(/fake .*nitro-cli run-enclave .*--debug-mode/);
    for (const s of ['build.sh', 'run.sh'])
      expect(spawnSync(join(root, 'eif', s), ['--frob'], { encoding: 'utf8', env: { PATH: pathWith(['docker', 'nitro-cli']) } }).status).toBe(2);
  });
});
