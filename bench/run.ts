/**
 * `npm run bench -- <name>` runs bench/<name>.bench.ts and writes its JSON to bench/results/<name>.json.
 * Each benchmark module exports `run(): Promise<Record<string, unknown>>`.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

const available = (await readdir(here))
  .filter((file) => file.endsWith('.bench.ts'))
  .map((file) => file.replace(/\.bench\.ts$/, ''));
const names = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));

if (names.length === 0) {
  console.error(`usage: npm run bench -- <name>   (available: ${available.join(', ')})`);
  process.exit(2);
}

for (const name of names) {
  if (!available.includes(name)) {
    console.error(`No benchmark named ${name}. Available: ${available.join(', ')}`);
    process.exit(2);
  }
  const module = (await import(path.join(here, `${name}.bench.ts`))) as { run: () => Promise<Record<string, unknown>> };
  const started = new Date();
  const results = await module.run();
  const report = {
    benchmark: name,
    startedAt: started.toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
    },
    results,
  };
  await mkdir(path.join(here, 'results'), { recursive: true });
  const file = path.join(here, 'results', `${name}.json`);
  await writeFile(
    file,
    `${JSON.stringify(report, (_key, value) => (typeof value === 'bigint' ? value.toString() : value), 2)}\n`,
  );
  console.log(JSON.stringify(report.results, null, 2));
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
process.exit(0);
