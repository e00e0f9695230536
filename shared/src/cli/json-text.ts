import { InvalidArgumentError } from '../errors.js';

/**
 * Where a JSON text goes wrong, without its bytes: V8's message quotes the text around the error, and
 * a file's content (a key, garbage, a terminal's control codes) is not for the console. Line and
 * column of the first offending character; "binary" when the text is plainly not text.
 */
export function jsonSyntaxProblem(text: string): string {
  if (holdsBinary(text)) return 'not JSON text (it holds binary bytes)';
  if (text.trim() === '') return 'empty, not JSON';
  const offset = firstJsonError(text);
  const before = text.slice(0, offset).split('\n');
  return `not valid JSON (line ${before.length}, column ${(before[before.length - 1]?.length ?? 0) + 1})`;
}

/** Control characters JSON text never holds (tabs and line ends apart), or U+FFFD from bytes that were not UTF-8. */
function holdsBinary(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0xfffd) return true;
  }
  return false;
}

/** JSON.parse that reports `${label}: not valid JSON (line L, column C)` as an InvalidArgumentError (exit 2). */
export function parseJsonText(text: string, label: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(`${label}: ${jsonSyntaxProblem(text)}`);
  }
}

/** The offset of the first character a JSON parser refuses (text.length when the text just ends). */
function firstJsonError(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const literal = (word: string) => {
    if (!text.startsWith(word, i)) fail();
    i += word.length;
  };
  const string = () => {
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      else if ((text.charCodeAt(i) as number) < 0x20) fail();
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) fail();
    i += (m as RegExpExecArray)[0].length;
  };
  const list = (close: string, item: () => void) => {
    i++;
    ws();
    if (text[i] === close) return void i++;
    for (;;) {
      item();
      ws();
      if (text[i] === ',') i++;
      else if (text[i] === close) return void i++;
      else fail();
      ws();
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') list('}', member);
    else if (c === '[') list(']', value);
    else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else number();
  };
  function member(): void {
    ws();
    if (text[i] !== '"') fail();
    string();
    ws();
    if (text[i] !== ':') fail();
    i++;
    value();
  }
  try {
    value();
    ws();
    return i < text.length ? i : text.length;
  } catch (at) {
    return typeof at === 'number' ? at : 0;
  }
}
