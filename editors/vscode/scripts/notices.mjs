// Writes dist/THIRD_PARTY_NOTICES.txt: the license of every runtime package esbuild bundles into
// dist/extension.js (their MIT/ISC/BlueOak notices must travel with the copies).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const folders = execFileSync(npm, ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8', shell: process.platform === 'win32' })
    .split(/\r?\n/).filter((line) => line.trim() !== '' && path.resolve(line) !== root);
const parts = [];
for (const folder of [...new Set(folders)].sort()) {
    const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'package.json'), 'utf8'));
    const license = fs.readdirSync(folder).find((name) => /^licen[cs]e(\.(md|txt))?$/i.test(name));
    const text = license ? fs.readFileSync(path.join(folder, license), 'utf8').trim() : `License: ${manifest.license}`;
    parts.push(`${manifest.name} ${manifest.version} (${manifest.license})\n${'-'.repeat(60)}\n${text}\n`);
}
fs.mkdirSync(path.join(root, 'dist'), { recursive: true });
fs.writeFileSync(path.join(root, 'dist', 'THIRD_PARTY_NOTICES.txt'),
    `The tilelsp extension bundles these packages into dist/extension.js.\n\n${parts.join('\n')}`);
console.log(`dist/THIRD_PARTY_NOTICES.txt: ${parts.length} packages`);
