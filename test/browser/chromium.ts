import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's Chromium: the one browser the browser tests drive. */
export const CHROMIUM = '/usr/bin/chromium';
/** The oldest major version the browser tests were run green with; an older one is refused, not tried. */
export const MIN_CHROMIUM_MAJOR = 156;

const INSTALL = 'apt-get update && apt-get install -y chromium   (as root; .ci/run does this on every run)';

/**
 * Checks that the Chromium the tests need is there and new enough, prints
 * its version in the test output, and returns it. Anything else is a loud
 * failure that says what to install: never a skip, never a silent pass.
 */
export function requireChromium(): string {
  if (!existsSync(CHROMIUM)) throw new Error(`The browser test needs Chromium at ${CHROMIUM}, which is missing. Install it:\n  ${INSTALL}`);
  // Debian's wrapper script may print shell noise on stderr; the version is on stdout.
  const version = execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const major = Number(/Chromium (\d+)\./.exec(version)?.[1]);
  if (!(major >= MIN_CHROMIUM_MAJOR)) {
    throw new Error(
      `The browser test needs Chromium ${MIN_CHROMIUM_MAJOR} or newer; ${CHROMIUM} is "${version}". Upgrade it:\n  ${INSTALL}`,
    );
  }
  console.log(`browser test: ${version} (${CHROMIUM})`);
  return version;
}
