/**
 * IAM's wildcard match: `*` is any run of characters (none included), `?` exactly one, everything else
 * itself. Greedy with one resume point, the last `*`: each `*` only ever moves its resume point forward,
 * so a match costs at most pattern length x value length steps, never the exponential backtracking a
 * translated regular expression does on patterns like `*?*?*?*?x`.
 */
export function matchesWildcard(pattern: string, value: string, options: { readonly ignoreCase?: boolean } = {}): boolean {
  const p = options.ignoreCase ? pattern.toLowerCase() : pattern;
  const v = options.ignoreCase ? value.toLowerCase() : value;
  let pi = 0;
  let vi = 0;
  let star = -1; // index in p just after the last `*` seen
  let resume = 0; // where in v that `*` will take up matching again
  while (vi < v.length) {
    const c = p[pi];
    if (c === '*') {
      star = ++pi;
      resume = vi;
    } else if (c !== undefined && (c === '?' || c === v[vi])) {
      pi++;
      vi++;
    } else if (star >= 0) {
      // The last `*` swallows one more character, and matching starts again after it.
      pi = star;
      vi = ++resume;
    } else {
      return false;
    }
  }
  while (p[pi] === '*') pi++;
  return pi === p.length;
}
