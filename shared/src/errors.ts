/**
 * The one error hierarchy of nitro-datakey. Every error a caller can meet carries a stable
 * string `code` (never parse `message`, it is for people). Other packages derive from
 * `NitroDatakeyError` so `err instanceof NitroDatakeyError` holds across the project.
 */
export class NitroDatakeyError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * A caller passed an argument, option or configuration of the wrong shape or size. Subclasses name
 * where it came from with their own code (`ERR_USAGE` for a command line, `ERR_PROXY_CONFIG`, ...);
 * a command exits 2 for any of them.
 */
export class InvalidArgumentError extends NitroDatakeyError {
  constructor(message: string, options?: { cause?: unknown }, code = 'ERR_INVALID_ARGUMENT') {
    super(code, message, options);
  }
}
