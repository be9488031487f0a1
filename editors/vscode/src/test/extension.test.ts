// extension.ts itself, with vscode-languageclient, against the real server, under a stand-in for the
// `vscode` module (fakeVscode.ts): activation on a file that imports tilelang, the status bar, the
// commands (no clash with the ids the language client registers), the trust mapping seen through the
// server's answer, restarts with back-off after crashes, giving up, the restart command, an interpreter
// without tilelsp, and stopping the server on deactivate.
//
// It loads dist/extension.js (the bundle that goes into the .vsix) when it exists, else out/extension.js.
// Environment: TILELSP_PYTHON (the interpreter with tilelsp; default python3).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import * as fake from './fakeVscode';

fake.install();

import { CLIENT_COMMANDS, SERVER_COMMANDS } from '../core/protocol';
import type { TilelspApi } from '../extension';
import { DOUBLE } from './kernels';

const EXTENSION = path.resolve(__dirname, '..', '..');
const REPO = process.env.TILELSP_REPO ?? path.resolve(EXTENSION, '..', '..');
const PYTHON = process.env.TILELSP_PYTHON ?? 'python3';
const BUNDLE = path.join(EXTENSION, 'dist', 'extension.js');
const MAIN = fs.existsSync(BUNDLE) ? BUNDLE : path.join(EXTENSION, 'out', 'extension.js');
const WAIT_MS = 30_000;

interface Manifest {
    contributes: { configuration: { properties: Record<string, { default?: unknown }> }; commands: { command: string }[] };
}

type ExtensionModule = { activate(context: unknown): TilelspApi; deactivate(): Promise<void> };

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = WAIT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!await probe()) {
        if (Date.now() > deadline) {
            throw new Error(`timed out waiting for ${what}; output:\n${fake.recorded.output.slice(-30).join('\n')}`);
        }
        await sleep(50);
    }
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

describe(`the extension (${path.relative(EXTENSION, MAIN)}) under a stand-in vscode module`, () => {
    let folder: string;
    let api: TilelspApi;
    let extension: ExtensionModule;
    const states: string[] = [];
    let watcher: NodeJS.Timeout | undefined;

    before(() => {
        folder = fs.mkdtempSync(path.join(os.tmpdir(), 'tilelsp-vscode-ext-'));
        fs.writeFileSync(path.join(folder, 'pyproject.toml'), '[tool.tilelint]\narch = ["sm_86"]\n');
        fs.copyFileSync(path.join(REPO, 'examples', 'buggy', 'gemm_stages4_big_tiles.py'), path.join(folder, 'kernel.py'));
        fs.writeFileSync(path.join(folder, 'plain.py'), 'import torch\n');
        fs.writeFileSync(path.join(folder, 'double.py'), DOUBLE);
        const manifest = JSON.parse(fs.readFileSync(path.join(EXTENSION, 'package.json'), 'utf8')) as Manifest;
        for (const [key, property] of Object.entries(manifest.contributes.configuration.properties)) {
            fake.settings[key.replace(/^tilelsp\./, '')] = property.default;
        }
        fake.settings.interpreter = PYTHON;
        fake.settings.maxRestarts = 2;
        fake.state.trusted = false;
        fake.state.folders = [{ uri: fake.Uri.file(folder), name: 'proj', index: 0 }];
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        extension = require(MAIN) as ExtensionModule;
    });

    after(() => {
        if (watcher !== undefined) {
            clearInterval(watcher);
        }
        fs.rmSync(folder, { recursive: true, force: true });
        console.log(`states seen: ${states.join(' -> ')}`);
        if (fake.recorded.missing.size > 0) {
            console.log(`stand-in members used but not implemented: ${[...fake.recorded.missing].sort().join(', ')}`);
        }
    });

    it('activates without starting a server, and registers every palette command', () => {
        api = extension.activate({ extensionPath: EXTENSION, subscriptions: [] });
        watcher = setInterval(() => {
            if (states[states.length - 1] !== api.serverState) {
                states.push(api.serverState);
            }
        }, 10);
        const manifest = JSON.parse(fs.readFileSync(path.join(EXTENSION, 'package.json'), 'utf8')) as Manifest;
        for (const { command } of manifest.contributes.commands) {
            assert.ok(fake.recorded.commands.has(command), command);
        }
        assert.ok(fake.recorded.contentProviders.has('tilelsp'));
        fake.openDocument(fake.document(path.join(folder, 'plain.py')));
        assert.equal(api.serverState, 'idle');
        assert.equal(fake.recorded.status.visible, false);
    });

    it('starts the server for a file that imports tilelang', async () => {
        fake.openDocument(fake.document(path.join(folder, 'kernel.py')));
        await until('the server to run', () => api.serverState === 'running');
        assert.equal(fake.recorded.status.text, '$(check) tilelsp');
        assert.equal(fake.recorded.status.visible, true);
        // the language client registered the server's commands next to ours: no id registered twice
        await until('the server commands', () => fake.recorded.commands.has(SERVER_COMMANDS.compile));
        for (const id of [...Object.values(SERVER_COMMANDS), ...Object.values(CLIENT_COMMANDS)]) {
            assert.ok(fake.recorded.commands.has(id), id);
        }
        assert.ok(fake.recorded.output.some((line) => line.includes(`starting ${PYTHON} -m tilelsp --stdio `
            + '(interpreter from setting; workspace not trusted')), fake.recorded.output.join('\n'));
    });

    it('the language client pulls TL101, and shows the hover and the code lens of the open file', async () => {
        const doc = fake.state.documents.find((d) => d.fileName.endsWith('kernel.py'));
        assert.ok(doc !== undefined);
        const uri = doc.uri.toString();
        await until('diagnostics', () => (fake.recorded.diagnostics.get(uri) ?? []).length > 0);
        const diagnostics = fake.recorded.diagnostics.get(uri) as {
            args: [fake.Range, string, number]; code: { value: string }; data: unknown;
        }[];
        assert.equal(diagnostics.length, 1);
        const [{ args: [range, message], code, data }] = diagnostics;
        assert.deepEqual([range.start.line, range.start.character, range.end.line, range.end.character], [20, 9, 20, 80]);
        assert.ok(message.startsWith("shared memory 128.0 KiB (131072 B) exceeds sm_86's 99.0 KiB"), message);
        assert.equal(code.value, 'TL101');
        assert.deepEqual(data, { arch: 'sm_86', kernel: 'matmul' });

        const token = new fake.CancellationTokenSource().token;
        const hover = await (fake.recorded.providers.get('hover') as {
            provideHover(d: unknown, p: fake.Position, t: unknown): Promise<fake.Hover>;
        }).provideHover(doc, new fake.Position(21, 10), token);
        const [contents] = Array.isArray(hover.contents) ? hover.contents : [hover.contents];
        assert.ok(contents.value.startsWith('**A_shared**: shared.dyn buffer `(128, 64)` float16'), contents.value);
        assert.equal(contents.isTrusted, false);

        const lenses = await (fake.recorded.providers.get('codeLens') as {
            provideCodeLenses(d: unknown, t: unknown): Promise<{ command: { command: string; title: string; arguments: unknown[] } }[]>;
        }).provideCodeLenses(doc, token);
        assert.deepEqual(lenses.map((l) => [l.command.command, l.command.title, l.command.arguments]), [[
            'tilelsp.compile', 'tilec: not compiled (untrusted workspace: set tilelsp.trusted)', [uri],
        ]]);
    });

    it("a code lens's tilelsp.compile in an untrusted workspace: the server refuses and the user is told", async () => {
        const uri = fake.Uri.file(path.join(folder, 'kernel.py')).toString();
        // what VS Code does when the lens is clicked: run the lens's command id with its arguments
        const answer = await fake.commands.executeCommand(SERVER_COMMANDS.compile, uri) as { queued: boolean };
        assert.equal(answer.queued, false);
        assert.ok(fake.recorded.messages.some((m) => m.level === 'warning'
            && m.text.startsWith('tilelsp: not compiled: compiling runs the file\'s module: the workspace is not trusted')),
        JSON.stringify(fake.recorded.messages));
    });

    it('trust granted: a restart, then the palette commands compile, show the TIR and run the check', async () => {
        const pid = api.serverPid;
        fake.settings.compileTarget = 'cpu';
        fake.grantTrust();
        await until('a restart for the trusted workspace', () => api.serverState === 'running'
            && api.serverPid !== undefined && api.serverPid !== pid);
        assert.ok(fake.recorded.output.some((l) => l.includes('(interpreter from setting; workspace trusted;')));
        const doc = fake.document(path.join(folder, 'double.py'));
        fake.openDocument(doc);
        const uri = doc.uri.toString();
        await until('the analysis of double.py', () => fake.recorded.diagnostics.has(uri));

        await fake.commands.executeCommand(CLIENT_COMMANDS.showGenerated, uri, 'tir', 0);
        const shown = fake.recorded.shown[fake.recorded.shown.length - 1];
        assert.equal(shown.uri.toString(), 'tilelsp://generated/double.0.tir.py');
        assert.equal(shown.languageId, 'python');
        assert.match(shown.getText(), /@T\.prim_func\s+def double\(/);

        await fake.commands.executeCommand(CLIENT_COMMANDS.runCheck, uri, 0);
        const check = fake.recorded.output.find((l) => l.startsWith('[info] tilec run --check (kernel 0 of '));
        assert.ok(check?.includes(': exit 0\n') && check.includes(': ok'), check);

        const before = fake.recorded.messages.length;
        await fake.commands.executeCommand(CLIENT_COMMANDS.compile, uri);
        assert.deepEqual(fake.recorded.messages.slice(before), [], 'a queued compile raises no message');
        const lenses = fake.recorded.providers.get('codeLens') as {
            provideCodeLenses(d: unknown, t: unknown): Promise<{ command: { title: string } }[]>;
        };
        await until('the compile to show in the lens', async () => {
            const found = await lenses.provideCodeLenses(doc, new fake.CancellationTokenSource().token);
            return (found?.[0]?.command.title ?? '').startsWith('tilec cpu: built in ');
        });
        assert.deepEqual(fake.recorded.messages.filter((m) => m.level === 'error'), []);
    });

    it('restarts a crashed server after 1 s, then 2 s (a command meanwhile waits), then gives up after tilelsp.maxRestarts', async () => {
        const first = api.serverPid;
        assert.ok(first !== undefined);
        process.kill(first, 'SIGKILL');
        await until('a restart', () => api.serverState === 'running' && api.serverPid !== undefined
            && api.serverPid !== first);
        assert.ok(states.includes('restarting'), states.join(' '));
        assert.ok(fake.recorded.output.some((l) => l.includes('restart 1 of 2 in 1 s')), fake.recorded.output.join('\n'));

        // a command during a restart waits for the new server (the back-off, its start, the file's analysis)
        const third = api.serverPid;
        assert.ok(third !== undefined);
        process.kill(third, 'SIGKILL');
        await until('the restart to begin', () => api.serverState === 'restarting');
        const double = fake.Uri.file(path.join(folder, 'double.py')).toString();
        const checks = fake.recorded.output.filter((l) => l.startsWith('[info] tilec run --check (kernel 0 of ')).length;
        const errors = fake.recorded.messages.filter((m) => m.level === 'error').length;
        await fake.commands.executeCommand(CLIENT_COMMANDS.runCheck, double, 0);
        assert.equal(api.serverState, 'running');
        assert.equal(fake.recorded.output.filter((l) => l.startsWith('[info] tilec run --check (kernel 0 of ')).length,
            checks + 1);
        assert.equal(fake.recorded.messages.filter((m) => m.level === 'error').length, errors);
        assert.ok(fake.recorded.output.some((l) => l.includes('restart 2 of 2 in 2 s')), fake.recorded.output.join('\n'));

        const second = api.serverPid;
        assert.ok(second !== undefined);
        process.kill(second, 'SIGKILL');
        await until('giving up', () => api.serverState === 'crashed');
        assert.equal(fake.recorded.status.text, '$(error) tilelsp');
        assert.ok(fake.recorded.messages.some((m) => m.level === 'error' && m.text.includes('not restarting it again')),
            JSON.stringify(fake.recorded.messages));
    });

    it('the restart command starts it again', async () => {
        await fake.commands.executeCommand(CLIENT_COMMANDS.restart);
        await until('the server to run again', () => api.serverState === 'running');
        assert.ok(api.serverPid !== undefined);
    });

    it('an interpreter without tilelsp: crashed, with a hint, no restart loop', async () => {
        const script = path.join(folder, 'python-without-tilelsp');
        fs.writeFileSync(script, '#!/bin/sh\necho "$0: No module named tilelsp" >&2\nexit 1\n', { mode: 0o755 });
        const before = fake.recorded.messages.length;
        fake.setSetting('interpreter', script);
        await until('the hint', () => api.serverState === 'crashed'
            && fake.recorded.messages.slice(before).some((m) => m.text.includes('has no tilelsp package')));
        assert.ok(!fake.recorded.output.some((l) => l.includes('restart 1 of')
            && fake.recorded.output.indexOf(l) > fake.recorded.output.findIndex((x) => x.includes(script))));
        fake.setSetting('interpreter', PYTHON);
        await until('the server to run with the right interpreter', () => api.serverState === 'running');
    });

    it('stops the server on deactivate', async () => {
        const pid = api.serverPid;
        assert.ok(pid !== undefined);
        await extension.deactivate();
        await until('the server process to exit', () => !alive(pid), 10_000);
        assert.equal(api.serverState, 'stopped');
    });
});
