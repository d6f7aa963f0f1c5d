/**
 * npm 11's `allowScripts` (docs/installing.md#install-scripts-npm-11-allowscripts): in the clone,
 * every dependency with an install script is covered by package.json, so `npm ci` lists nothing.
 * Read with npm's own checker (the one its install summary uses), on the installed tree.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const npmRoot = join(execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim(), 'npm');
const arboristDir = join(npmRoot, 'node_modules/@npmcli/arborist');
const checker = join(arboristDir, 'lib/unreviewed-scripts.js');

it.skipIf(!existsSync(checker))('every dependency install script is covered by allowScripts', async () => {
  const require = createRequire(join(arboristDir, 'package.json'));
  const Arborist = require(arboristDir);
  const { collectUnreviewedScripts } = require(checker);
  // The folder whose node_modules this is (a worktree may link to another checkout's).
  const installed = dirname(realpathSync(join(ROOT, 'node_modules')));
  const tree = await new Arborist({ path: installed }).loadActual();
  const policy = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).allowScripts;
  const names = async (p: Record<string, boolean>) =>
    ((await collectUnreviewedScripts({ tree, policy: p })) as Array<{ node: { name: string } }>).map(
      (u) => u.node.name,
    );
  expect(await names(policy)).toEqual([]);
  // The check sees them: without the policy, better-sqlite3 is listed.
  expect(await names({})).toContain('better-sqlite3');
  const docs = readFileSync(join(ROOT, 'docs/installing.md'), 'utf8');
  for (const name of Object.keys(policy))
    expect(docs.toLowerCase()).toContain(name.replace(/^@biomejs\//, ''));
});
