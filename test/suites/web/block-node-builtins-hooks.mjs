import { builtinModules } from 'node:module';

const BUILTINS = new Set(builtinModules);

export async function resolve(specifier, context, nextResolve) {
  if (specifier.startsWith('node:') || BUILTINS.has(specifier) || BUILTINS.has(specifier.split('/')[0])) {
    throw new Error(`ERR_BLOCKED_BUILTIN: ${specifier} imported from ${context.parentURL ?? 'the entry point'}`);
  }
  return nextResolve(specifier, { ...context, conditions: context.conditions.filter((c) => c !== 'node') });
}
