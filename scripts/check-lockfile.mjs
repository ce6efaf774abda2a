#!/usr/bin/env node
/**
 * Fails when package-lock.json would not install the same bytes on every platform:
 * - every dependency in package.json is locked at the exact version it pins;
 * - every optional dependency a locked package declares (the per-platform binaries of biome, rollup and
 *   esbuild) has its own entry. npm 11 can drop other platforms' entries when it writes a lockfile from
 *   scratch (npm/cli#8320), and `npm ci` on those platforms then refuses the lockfile.
 * `npm ci` itself would catch both, but only on the platform that is missing; this checks them all here.
 */
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8'));
const packages = lock.packages ?? {};
const problems = [];

for (const field of ['dependencies', 'devDependencies']) {
  for (const [name, wanted] of Object.entries(pkg[field] ?? {})) {
    const locked = packages[`node_modules/${name}`]?.version;
    if (locked !== wanted)
      problems.push(`${field}.${name}: package.json pins ${wanted}, the lockfile has ${locked ?? 'nothing'}`);
    if (packages['']?.[field]?.[name] !== wanted)
      problems.push(`${field}.${name}: the lockfile's root entry is out of date (run npm install)`);
  }
}

for (const [where, entry] of Object.entries(packages)) {
  for (const name of Object.keys(entry.optionalDependencies ?? {})) {
    // Node's resolution: the package's own node_modules, then each enclosing node_modules up to the root.
    const candidates = [];
    for (let dir = where; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf('/node_modules/')))) {
      candidates.push(dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`);
      if (!dir.includes('/node_modules/')) {
        candidates.push(`node_modules/${name}`);
        break;
      }
    }
    if (!candidates.some((c) => c in packages))
      problems.push(`${where || '(root)'}: optional dependency ${name} has no lockfile entry`);
  }
}

if (problems.length > 0) {
  console.error(`package-lock.json is incomplete or out of sync (${problems.length} problems):`);
  for (const p of problems.slice(0, 20)) console.error(`  - ${p}`);
  console.error('Fix: run `npm install` on the existing lockfile (it keeps and completes entries), then commit it.');
  process.exit(1);
}
console.log(
  `package-lock.json: ${Object.keys(packages).length - 1} packages locked, every platform's optional binaries listed`,
);
