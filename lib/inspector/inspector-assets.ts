import { readFileSync } from 'node:fs';

/** The page's files, shipped beside this module (copied to dist/ by the build). */
const ASSETS = {
  'index.html': 'text/html; charset=utf-8',
  'inspector.css': 'text/css; charset=utf-8',
  'inspector.js': 'text/javascript; charset=utf-8',
} as const;

export type AssetName = keyof typeof ASSETS;

/** An asset's content type and content, read once. */
export function readAsset(name: AssetName): { type: string; body: string } {
  const cached = cache.get(name);
  if (cached) return cached;
  const asset = {
    type: ASSETS[name],
    body: readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8'),
  };
  cache.set(name, asset);
  return asset;
}

const cache = new Map<AssetName, { type: string; body: string }>();

export function isAsset(name: string): name is AssetName {
  return Object.prototype.hasOwnProperty.call(ASSETS, name);
}
