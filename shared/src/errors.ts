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

/** A caller passed an argument of the wrong shape or size (a programming or usage error). */
export class InvalidArgumentError extends NitroDatakeyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_ARGUMENT', message, options);
  }
}
