// The extension's client-side code against the real server, without the VS Code UI.
//
// The server is started as the extension starts it (core/server.ts: resolveServerCommand, serverEnvironment,
// spawnServer), over the same JSON-RPC stack the language client uses (vscode-languageserver-protocol).
// `workspace/configuration` is answered the way the extension's middleware answers it (core/settings.ts,
// from package.json's contributed defaults), and the commands and the generated-document request go
// through core/protocol.ts, as the palette commands do.
//
// Environment: TILELSP_PYTHON (the interpreter with tilelsp; default python3), TILELSP_REPO (the checkout
// whose examples/ are used; default the one this file is in). Run: `node --test out/test/server.test.js`.

import * as assert from 'node:assert/strict';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';

import {
    createProtocolConnection,
    StreamMessageReader,
    StreamMessageWriter,
    type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';

import {
    compile,
    generatedDocument,
    kernelChoices,
    runCheck,
    showGenerated,
    type Send,
} from '../core/protocol';
import { resolveServerCommand, serverEnvironment, spawnServer } from '../core/server';
import { initializationOptions, manifestDefaults, mapConfigurationAnswer, type ConfigurationItem } from '../core/settings';
import { DOUBLE } from './kernels';

const EXTENSION = path.resolve(__dirname, '..', '..');
const REPO = process.env.TILELSP_REPO ?? path.resolve(EXTENSION, '..', '..');
const PYTHON = process.env.TILELSP_PYTHON ?? 'python3';
const EXAMPLE = path.join(REPO, 'examples', 'buggy', 'gemm_stages4_big_tiles.py');
const MANIFEST = JSON.parse(fs.readFileSync(path.join(EXTENSION, 'package.json'), 'utf8')) as Parameters<
    typeof manifestDefaults>[0];
const STEP_TIMEOUT_MS = 60_000;

interface Diagnostic {
    code: string;
    source: string;
    severity: number;
    message: string;
    range: { start: { line: number; character: number }; end: { line: number; character: number } };
    data: unknown;
    relatedInformation?: { message: string }[];
}

function sleep(ms: number): Promise<void> {
    // unref'd: a pending guard timer must not keep the test process alive
    return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = STEP_TIMEOUT_MS): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await probe();
        if (value !== undefined) {
            return value;
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out waiting for ${what}`);
        }
        await sleep(100);
    }
}

describe('the extension against python -m tilelsp --stdio', () => {
    let folder: string;
    let child: ChildProcessWithoutNullStreams;
    let connection: ProtocolConnection;
    let send: Send;
    let stderr = '';
    const logs: string[] = [];
    const shown: string[] = [];
    let pushed = 0;
    let configurationRequests = 0;
    // what VS Code would answer: the contributed defaults, the workspace not trusted (yet)
    const settings: Record<string, unknown> = manifestDefaults(MANIFEST);
    let workspaceTrusted = false;
    const uriOf = (name: string): string => pathToFileURL(path.join(folder, name)).href;

    function open(name: string): string {
        const uri = uriOf(name);
        void connection.sendNotification('textDocument/didOpen', {
            textDocument: { uri, languageId: 'python', version: 1, text: fs.readFileSync(path.join(folder, name), 'utf8') },
        });
        return uri;
    }

    before(async () => {
        folder = fs.mkdtempSync(path.join(os.tmpdir(), 'tilelsp-vscode-'));
        fs.writeFileSync(path.join(folder, 'pyproject.toml'), '[tool.tilelint]\narch = ["sm_86"]\n');
        fs.copyFileSync(EXAMPLE, path.join(folder, 'kernel.py'));
        fs.writeFileSync(path.join(folder, 'double.py'), DOUBLE);

        const server = resolveServerCommand({ setting: PYTHON, workspaceTrusted: true, workspaceFolders: [folder] });
        assert.equal(server.source, 'setting');
        child = await spawnServer(server, { cwd: folder, env: serverEnvironment(process.env, true) });
        child.stderr.on('data', (chunk: Buffer) => {
            stderr += chunk.toString();
        });
        connection = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
        connection.onRequest('workspace/configuration', (params: { items: ConfigurationItem[] }) => {
            configurationRequests += 1;
            return mapConfigurationAnswer(params.items, params.items.map(() => settings), workspaceTrusted);
        });
        for (const method of ['client/registerCapability', 'window/workDoneProgress/create',
            'workspace/diagnostic/refresh', 'workspace/codeLens/refresh', 'workspace/inlayHint/refresh']) {
            connection.onRequest(method, () => null);
        }
        connection.onNotification('window/logMessage', (p: { message: string }) => {
            logs.push(p.message);
        });
        connection.onNotification('window/showMessage', (p: { message: string }) => {
            shown.push(p.message);
        });
        connection.onNotification('textDocument/publishDiagnostics', () => {
            pushed += 1;
        });
        connection.onNotification('$/progress', () => undefined);
        connection.listen();
        send = (method, params) => connection.sendRequest(method, params);

        const result = await send('initialize', {
            processId: process.pid,
            clientInfo: { name: 'tilelsp-vscode-test' },
            rootUri: pathToFileURL(folder).href,
            workspaceFolders: [{ uri: pathToFileURL(folder).href, name: 'proj' }],
            initializationOptions: initializationOptions(settings, workspaceTrusted),
            capabilities: {
                general: { positionEncodings: ['utf-16'] },
                window: { workDoneProgress: true, showMessage: {} },
                workspace: {
                    configuration: true,
                    workspaceFolders: true,
                    didChangeConfiguration: { dynamicRegistration: true },
                    didChangeWatchedFiles: { dynamicRegistration: true },
                    executeCommand: { dynamicRegistration: true },
                    diagnostics: { refreshSupport: true },
                    codeLens: { refreshSupport: true },
                    inlayHint: { refreshSupport: true },
                },
                textDocument: {
                    synchronization: { didSave: true, dynamicRegistration: true },
                    hover: { contentFormat: ['markdown', 'plaintext'] },
                    codeLens: { dynamicRegistration: true },
                    diagnostic: { dynamicRegistration: true, relatedDocumentSupport: false },
                },
            },
        }) as { capabilities: { executeCommandProvider?: { commands: string[] }; codeLensProvider?: unknown } };
        assert.deepEqual([...(result.capabilities.executeCommandProvider?.commands ?? [])].sort(),
            ['tilelsp.compile', 'tilelsp.runCheck', 'tilelsp.showGenerated']);
        assert.ok(result.capabilities.codeLensProvider);
        await connection.sendNotification('initialized', {});
    });

    after(async () => {
        if (connection !== undefined) {
            await Promise.race([send('shutdown', null), sleep(10_000)]);
            await connection.sendNotification('exit');
            const code = child.exitCode ?? await Promise.race([
                new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c))), sleep(10_000).then(() => -1),
            ]);
            connection.dispose();
            if (code === -1) {
                child.kill();
            }
            assert.equal(code, 0, `the server's exit status after shutdown + exit\n${stderr.slice(-3000)}`);
        }
        if (folder !== undefined) {
            fs.rmSync(folder, { recursive: true, force: true });
        }
    });

    it('pulls TL101 for the sm_86 budget of gemm_stages4_big_tiles.py', async () => {
        const uri = open('kernel.py');
        const report = await send('textDocument/diagnostic', { textDocument: { uri } }) as {
            kind: string; items: Diagnostic[]; resultId?: string;
        };
        assert.equal(report.kind, 'full');
        assert.equal(report.items.length, 1, JSON.stringify(report.items));
        const [diag] = report.items;
        assert.equal(diag.code, 'TL101');
        assert.equal(diag.source, 'tilelint');
        assert.equal(diag.severity, 1);
        assert.deepEqual(diag.range, { start: { line: 20, character: 9 }, end: { line: 20, character: 80 } });
        assert.ok(diag.message.startsWith("shared memory 128.0 KiB (131072 B) exceeds sm_86's 99.0 KiB (101376 B)"),
            diag.message);
        assert.deepEqual(diag.data, { arch: 'sm_86', kernel: 'matmul' });
        assert.deepEqual(diag.relatedInformation?.map((r) => r.message.split(':')[0]), ['A_shared', 'B_shared']);
        assert.ok(configurationRequests >= 1, 'the server asked for the tilelsp section');
        assert.equal(pushed, 0, 'a pull client gets no pushed diagnostics');
        console.log(`diagnostic: ${diag.code} ${diag.range.start.line + 1}:${diag.range.start.character + 1} ${diag.message}`);
    });

    it('hovers A_shared with its scope, shape, dtype and size', async () => {
        const hover = await send('textDocument/hover', {
            textDocument: { uri: uriOf('kernel.py') }, position: { line: 21, character: 10 },
        }) as { contents: { kind: string; value: string } };
        assert.equal(hover.contents.kind, 'markdown');
        assert.ok(hover.contents.value.startsWith('**A_shared**: shared.dyn buffer `(128, 64)` float16'),
            hover.contents.value);
        assert.match(hover.contents.value, /16384 B|16\.0 KiB/);
        console.log(`hover: ${hover.contents.value.split('\n')[0]}`);
    });

    it('untrusted workspace: the lens says so and every command refuses', async () => {
        const uri = open('double.py');
        await send('textDocument/diagnostic', { textDocument: { uri } });
        const kernels = await kernelChoices(send, uri);
        assert.deepEqual(kernels, [{
            index: 0, line: 5, title: 'tilec: not compiled (untrusted workspace: set tilelsp.trusted)',
        }]);
        const compiled = await compile(send, uri);
        assert.equal(compiled.queued, false);
        assert.match(compiled.reason ?? '', /not trusted/);
        const generated = await showGenerated(send, uri, 'tir', 0);
        assert.ok('error' in generated && /not trusted/.test(generated.error), JSON.stringify(generated));
        const checked = await runCheck(send, uri, 0);
        assert.ok('error' in checked && /not trusted/.test(checked.error), JSON.stringify(checked));
    });

    it('trusted workspace: compile, show generated TIR and CUDA, run the check', async () => {
        workspaceTrusted = true;
        settings.compileTarget = 'cpu';
        await connection.sendNotification('workspace/didChangeConfiguration', { settings: null });
        const uri = uriOf('double.py');
        const [kernel] = await until('the server to take the new settings', async () => {
            const found = await kernelChoices(send, uri);
            return found.length === 1 && found[0].title === 'tilec: save to compile' ? found : undefined;
        });
        assert.equal(kernel.index, 0);

        const tir = await showGenerated(send, uri, 'tir', kernel.index);
        assert.ok('uri' in tir, JSON.stringify(tir));
        assert.equal(tir.uri, 'tilelsp://generated/double.0.tir.py');
        const tirText = await generatedDocument(send, tir.uri);
        assert.ok(tirText?.includes('@T.prim_func') && tirText.includes('def double'), tirText);

        const cuda = await showGenerated(send, uri, 'cuda', kernel.index, 'sm_80');
        assert.ok('uri' in cuda, JSON.stringify(cuda));
        assert.equal(cuda.uri, 'tilelsp://generated/double.0.sm_80.cuda.cu');
        const cudaText = await generatedDocument(send, cuda.uri);
        assert.match(cudaText ?? '', /extern "C" __global__/);

        assert.equal(await generatedDocument(send, 'tilelsp://generated/nothing.cu'), undefined);
        const bad = await showGenerated(send, uri, 'tir', 5);
        assert.ok('error' in bad && /no fully instantiated kernel number 5/.test(bad.error), JSON.stringify(bad));

        const checked = await runCheck(send, uri, kernel.index);
        assert.ok('exitCode' in checked, JSON.stringify(checked));
        assert.equal(checked.exitCode, 0, checked.output);
        assert.match(checked.output, /max abs error 0 .*: ok/);
        assert.ok(shown.some((m) => m.startsWith('tilec run --check double(')), shown.join('\n'));

        const queued = await compile(send, uri);
        assert.deepEqual(queued, { queued: true, reason: null });
        const title = await until('the compile to finish', async () => {
            const [lens] = await kernelChoices(send, uri);
            return lens !== undefined && lens.title.startsWith('tilec cpu: built in') ? lens.title : undefined;
        });
        console.log(`code lens: ${title}`);
        console.log(`generated: ${tir.uri} (${tirText?.length} chars), ${cuda.uri} (${cudaText?.length} chars)`);
        console.log(`run check: exit ${checked.exitCode}: ${checked.output.split('\n').pop()}`);
    });
});
