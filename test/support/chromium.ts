import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/** Where Debian's package puts it; `chromium-browser` is Ubuntu's and older Debians' name. */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
const APT_INSTALL = ['apt-get', 'install', '-y', '--no-install-recommends', 'chromium'];

/** CHROMIUM_PATH when set (and then only it), else Debian's Chromium, else a `chromium` on the PATH. */
export function findChromium(): string | null {
  if (process.env.CHROMIUM_PATH) return existsSync(process.env.CHROMIUM_PATH) ? process.env.CHROMIUM_PATH : null;
  const found = CANDIDATES.find((candidate) => existsSync(candidate));
  if (found) return found;
  const which = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' });
  const onPath = which.status === 0 ? which.stdout.trim() : '';
  return onPath && existsSync(onPath) ? onPath : null;
}

const isDebian = () => existsSync('/etc/debian_version') && spawnSync('sh', ['-c', 'command -v apt-get']).status === 0;

/**
 * Run once before the tests (global setup): the browser tests need a real Chromium. Found: its path. Missing, as
 * root on Debian: Debian's package is installed, saying so. Otherwise the run stops here with the command to run,
 * rather than failing three browser tests halfway through.
 */
export function ensureChromium(log: (line: string) => void = console.log): string {
  const found = findChromium();
  if (found) return found;
  if (process.env.CHROMIUM_PATH) {
    throw new Error(`CHROMIUM_PATH=${process.env.CHROMIUM_PATH} does not exist: point it at a Chromium executable.`);
  }
  const root = process.getuid?.() === 0;
  if (root && isDebian()) {
    log(`Chromium is missing for the browser tests: installing Debian's package (${APT_INSTALL.join(' ')}) …`);
    execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync(APT_INSTALL[0]!, [...APT_INSTALL.slice(1), '-qq'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    const installed = findChromium();
    if (installed) {
      log(`Chromium installed at ${installed}.`);
      return installed;
    }
    throw new Error(`apt-get installed chromium but no executable was found at ${CANDIDATES.join(' or ')}.`);
  }
  const command = isDebian()
    ? `sudo apt-get update && sudo ${APT_INSTALL.join(' ')}`
    : 'install Chromium with your package manager';
  throw new Error(
    `The browser tests need Chromium and none was found (${CANDIDATES.join(', ')}, PATH). Run:\n\n  ${command}\n\n` +
      'or set CHROMIUM_PATH to a Chromium executable, then run npm test again.',
  );
}

/**
 * Debian's Chromium, headless, as root needs it: no sandbox, no GPU, nothing talking to the network, and a fresh
 * profile each time.
 */
export async function launchChromium(
  options: { javaScriptEnabled?: boolean } = {},
): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  // The global setup normally did this already; a run it could not foresee (an unusual filter) does it here.
  const executablePath = ensureChromium();
  const profile = await mkdtemp(path.join(os.tmpdir(), 'outbound-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport: { width: 1280, height: 900 },
    javaScriptEnabled: options.javaScriptEnabled ?? true,
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
