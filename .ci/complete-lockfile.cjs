// The registry this project is developed against does not serve other platforms' native
// packages (e.g. @swc/core-darwin-arm64), so `npm install` here leaves them out of
// package-lock.json, and `npm ci` then refuses the lock as out of sync. This adds an entry
// for every optional dependency the lock names but lacks; npm skips those on platforms that
// do not need them. Run it after changing dependencies: `node .ci/complete-lockfile.cjs`.
const fs = require('node:fs');
const path = require('node:path');

const file = path.join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const packages = lock.packages;
let added = 0;
for (const [where, meta] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const nested = `${where ? `${where}/` : ''}node_modules/${name}`;
    if (packages[nested] || packages[`node_modules/${name}`]) continue;
    packages[`node_modules/${name}`] = {
      version,
      ...(meta.dev ? { dev: true } : {}),
      optional: true,
    };
    added++;
  }
}
const sorted = {};
for (const key of Object.keys(packages).sort((a, b) =>
  a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0,
)) {
  sorted[key] = packages[key];
}
lock.packages = sorted;
fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} optional platform entries`);
