import { readFile } from 'node:fs/promises';
import { UsageError } from '@nitro-datakey/shared/cli';

/** A file's text; unreadable is a usage error naming the flag (or the argument) and the file. */
export async function readTextFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${what}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** A policy document, or what `aws kms get-key-policy` prints (`{"Policy": "...", "PolicyName": "default"}`), as the policy's text. */
export async function readPolicyFile(path: string, what: string): Promise<string> {
  const text = await readTextFile(path, what);
  try {
    const json = JSON.parse(text) as { Policy?: unknown };
    return typeof json.Policy === 'string' ? json.Policy : text;
  } catch {
    throw new UsageError(`${what}: ${path} is not JSON`);
  }
}
