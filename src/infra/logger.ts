import pino from 'pino';

export type Logger = pino.Logger;

/** JSON logs; the CLI sends them to stderr so that its stdout stays machine-readable. */
export function createLogger(
  level: string = process.env.LOG_LEVEL ?? 'info',
  options: { stderr?: boolean } = {},
): Logger {
  return pino(
    {
      level,
      base: { service: 'outbound' },
      redact: {
        paths: ['*.password', '*.passwordHash', '*.clientSecret', 'req.headers.cookie', 'req.headers.authorization'],
        censor: '***',
      },
    },
    pino.destination({ dest: options.stderr ? 2 : 1, sync: true }),
  );
}

/** For tests and tools that must stay quiet. */
export const silentLogger: Logger = pino({ level: 'silent' });
