import { quote } from '../../quote.js';

/** Most characters of the offending line an error keeps. */
const LINE_KEPT = 1000;

/** Text from a HANA tool that the parsers could not read. Unknown text is never healthy. */
export class HanaParseError extends Error {
  readonly code = 'PARSE' as const;
  /** The offending line, cut after 1000 characters (empty when the text is empty or truncated). */
  readonly line: string;
  constructor(
    readonly what: string,
    message: string,
    line: string,
    /** 1-based line number; 0 when no single line is at fault. */
    readonly lineNumber: number,
  ) {
    // The message shows the line quoted: cut to a readable length, control characters escaped.
    super(
      lineNumber > 0 ? `${what}: ${message} (line ${lineNumber}: ${quote(line)})` : `${what}: ${message}`,
    );
    this.name = 'HanaParseError';
    this.line = line.length > LINE_KEPT ? line.slice(0, LINE_KEPT) : line;
  }
}
