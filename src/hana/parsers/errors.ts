/** Text from a HANA tool that the parsers could not read. Unknown text is never healthy. */
export class HanaParseError extends Error {
  readonly code = 'PARSE' as const;
  constructor(
    readonly what: string,
    message: string,
    /** The offending line (empty when the text is empty or truncated). */
    readonly line: string,
    /** 1-based line number; 0 when no single line is at fault. */
    readonly lineNumber: number,
  ) {
    super(
      lineNumber > 0
        ? `${what}: ${message} (line ${lineNumber}: ${JSON.stringify(line)})`
        : `${what}: ${message}`,
    );
    this.name = 'HanaParseError';
  }
}
