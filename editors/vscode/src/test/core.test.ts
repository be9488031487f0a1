// Unit tests of the extension's non-UI logic (no server, no VS Code): `node --test out/test/`.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

import {
    CLIENT_COMMANDS,
    SERVER_COMMANDS,
    generatedLanguageId,
    importsTilelang,
    showGeneratedArguments,
} from '../core/protocol';
import { RestartPolicy } from '../core/restart';
import { DEFAULT_INTERPRETER, resolveServerCommand, serverEnvironment, startupFailureHint } from '../core/server';
import {
    SERVER_KEYS,
    manifestDefaults,
    mapConfigurationAnswer,
    toServerSection,
} from '../core/settings';

interface Property {
    default?: unknown;
    enum?: string[];
    description?: string;
    markdownDescription?: string;
}

interface Manifest {
    activationEvents: string[];
    capabilities: { untrustedWorkspaces: { supported: string; restrictedConfigurations: string[] } };
    contributes: { configuration: { properties: Record<string, Property> }; commands: { command: string }[] };
}

const MANIFEST = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as Manifest;
const PROPERTIES = MANIFEST.contributes.configuration.properties;

test('activation: a Python text that imports tilelang', () => {
    assert.ok(importsTilelang('import tilelang\n'));
    assert.ok(importsTilelang('"""doc"""\nimport tilelang.language as T\n'));
    assert.ok(importsTilelang('from tilelang import language as T\n'));
    assert.ok(importsTilelang('import numpy as np, tilelang\n'));
    assert.ok(importsTilelang('    from tilelang.language import Kernel\n'));
    assert.ok(!importsTilelang('import tilelangx\n'));
    assert.ok(!importsTilelang('# import tilelang\nx = "from tilelang"\n'));
    assert.ok(!importsTilelang('import torch\n'));
});

test('settings: the defaults package.json contributes send nothing that overrides pyproject.toml', () => {
    const defaults = manifestDefaults(MANIFEST);
    assert.deepEqual((defaults.trace as Record<string, unknown>).server, 'off');
    const section = toServerSection(defaults, true);
    assert.deepEqual(section, {
        archs: null,
        instantiate: null,
        select: null,
        ignore: null,
        nearLimit: null,
        failOn: 'information',
        debounceMs: 150,
        compileOnSave: true,
        compileTarget: 'auto',
        compileTimeoutS: 120,
        compileBackend: 'tilec',
        tilelangPython: null,
        trusted: true,
    });
    // every key the server reads is a contributed setting, and nothing else is sent
    assert.deepEqual(Object.keys(section).sort(), [...SERVER_KEYS, 'trusted'].sort());
    for (const key of SERVER_KEYS) {
        assert.ok(`tilelsp.${key}` in PROPERTIES, key);
    }
    assert.equal(PROPERTIES['tilelsp.trusted'], undefined);
});

test("settings: every key tilelsp/settings.py reads is a contributed setting (or `trusted`, or the alias `arch`)", () => {
    const repo = process.env.TILELSP_REPO ?? path.join(__dirname, '..', '..', '..', '..');
    const source = fs.readFileSync(path.join(repo, 'tilelsp', 'settings.py'), 'utf8');
    const known = /known = \{([^}]*)\}/.exec(source);
    assert.ok(known !== null, 'the `known` set of parse_settings');
    const keys = [...known[1].matchAll(/"(\w+)"/g)].map((m) => m[1]).filter((k) => k !== 'arch' && k !== 'trusted');
    assert.deepEqual(keys.sort(), [...SERVER_KEYS].sort());
});

test('settings: trusted only in a trusted workspace, and only when compileInTrustedWorkspaces is on', () => {
    assert.equal(toServerSection({}, true).trusted, true);
    assert.equal(toServerSection({}, false).trusted, false);
    assert.equal(toServerSection({ compileInTrustedWorkspaces: false }, true).trusted, false);
    // a `"tilelsp.trusted": true` in a checked-in settings.json is never passed on
    assert.equal(toServerSection({ trusted: true }, false).trusted, false);
    assert.equal(toServerSection({ trusted: true, compileInTrustedWorkspaces: true }, false).trusted, false);
});

test('settings: values are mapped to what tilelsp/settings.py accepts', () => {
    const section = toServerSection({
        archs: ['sm_80', ' sm_90 ', ''],
        instantiate: 'matmul(1024, 1024, 1024)',
        select: [],
        ignore: ['TL103', 7],
        nearLimit: 1.5,
        failOn: 'warning',
        debounceMs: 20000,
        compileOnSave: false,
        compileTarget: 'metal',
        compileTimeoutS: 0,
        compileBackend: 'both',
        tilelangPython: '${workspaceFolder}/.venv/bin/python',
        interpreter: '/usr/bin/python3',
        maxRestarts: 3,
        trace: { server: 'verbose' },
    }, true, { folders: ['/w'], home: '/home/u' });
    assert.deepEqual(section.archs, ['sm_80', 'sm_90']);
    assert.deepEqual(section.instantiate, ['matmul(1024, 1024, 1024)']); // one call, not split at its commas
    assert.equal(section.select, null);
    assert.deepEqual(section.ignore, ['TL103']);
    assert.equal(section.nearLimit, null);
    assert.equal(section.failOn, 'warning');
    assert.equal(section.debounceMs, null);
    assert.equal(section.compileOnSave, false);
    assert.equal(section.compileTarget, null);
    assert.equal(section.compileTimeoutS, null);
    assert.equal(section.compileBackend, 'both');
    assert.equal(section.tilelangPython, '/w/.venv/bin/python');
    assert.equal(toServerSection({ tilelangPython: '~/tl/bin/python' }, true, { folders: [], home: '/h' }).tilelangPython,
        '/h/tl/bin/python');
    assert.ok(!('interpreter' in section) && !('maxRestarts' in section) && !('trace' in section));
});

test('settings: only the tilelsp items of a workspace/configuration request are mapped', () => {
    const answer = mapConfigurationAnswer(
        [{ section: 'tilelsp', scopeUri: 'file:///w' }, { section: 'python' }, { section: 'tilelsp' }],
        [{ archs: ['sm_86'], trusted: true }, { x: 1 }, null], false);
    assert.deepEqual((answer[0] as { archs: string[] }).archs, ['sm_86']);
    assert.equal((answer[0] as { trusted: boolean }).trusted, false);
    assert.deepEqual(answer[1], { x: 1 });
    assert.equal((answer[2] as { archs: unknown }).archs, null);
});

test('interpreter: the setting, then the Python extension, then python3', () => {
    const base = { workspaceTrusted: true, workspaceFolders: ['/w'], home: '/home/u' };
    assert.deepEqual(resolveServerCommand({ ...base, setting: '~/venv/bin/python', pythonExtension: '/x/python' }), {
        command: '/home/u/venv/bin/python', args: ['-m', 'tilelsp', '--stdio'], source: 'setting',
    });
    assert.equal(resolveServerCommand({ ...base, setting: '${workspaceFolder}/.venv/bin/python' }).command,
        '/w/.venv/bin/python');
    assert.deepEqual(resolveServerCommand({ ...base, setting: ' ', pythonExtension: '/w/.venv/bin/python' }), {
        command: '/w/.venv/bin/python', args: ['-m', 'tilelsp', '--stdio'], source: 'python-extension',
    });
    const fallback = resolveServerCommand({ ...base });
    assert.equal(fallback.command, DEFAULT_INTERPRETER);
    assert.equal(fallback.source, 'default');
});

test('interpreter: an untrusted workspace does not run its own venv', () => {
    const untrusted = { workspaceTrusted: false, workspaceFolders: ['/w'] };
    const inside = resolveServerCommand({ ...untrusted, pythonExtension: '/w/.venv/bin/python' });
    assert.equal(inside.source, 'default');
    assert.match(inside.note ?? '', /inside the untrusted workspace/);
    assert.equal(resolveServerCommand({ ...untrusted, pythonExtension: '/usr/bin/python3.12' }).source,
        'python-extension');
    assert.equal(resolveServerCommand({ ...untrusted, setting: '${workspaceFolder}/py' }).command, '${workspaceFolder}/py');
    assert.equal(serverEnvironment({}, false).PYTHONSAFEPATH, '1');
    assert.equal(serverEnvironment({}, true).PYTHONSAFEPATH, undefined);
});

test('a server that cannot start says why', () => {
    assert.match(startupFailureHint('/usr/bin/python3: No module named tilelsp\n', '/usr/bin/python3') ?? '',
        /has no tilelsp package/);
    assert.equal(startupFailureHint('Traceback ...\nKeyError: 1\n', 'python3'), undefined);
});

test('restarts: 1, 2, 4, 8 s, then give up; a healthy run starts the count over', () => {
    const policy = new RestartPolicy({ maxRestarts: 4, baseDelayMs: 1000, maxDelayMs: 30_000, resetAfterMs: 60_000 });
    let now = 0;
    const delays: number[] = [];
    for (;;) {
        policy.running(now);
        now += 1000; // crashes a second after each start
        const decision = policy.closed(now);
        if (!decision.restart) {
            assert.equal(decision.attempts, 4);
            break;
        }
        delays.push(decision.delayMs);
        now += decision.delayMs;
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 8000]);
    policy.reset();
    policy.running(now);
    assert.deepEqual(policy.closed(now + 5), { restart: true, attempt: 1, delayMs: 1000 });
    policy.running(now);
    policy.closed(now + 5);
    policy.running(now);
    // ran for longer than resetAfterMs: the next crash is restart number 1 again
    assert.deepEqual(policy.closed(now + 61_000), { restart: true, attempt: 1, delayMs: 1000 });
    assert.deepEqual(new RestartPolicy({ maxRestarts: 0 }).closed(0), { restart: false, attempts: 0 });
    const capped = new RestartPolicy({ maxRestarts: 10, maxDelayMs: 5000 });
    const last = Array.from({ length: 6 }, () => capped.closed(0)).pop();
    assert.deepEqual(last, { restart: true, attempt: 6, delayMs: 5000 });
});

test('commands: palette ids differ from the server ids the language client registers', () => {
    const serverIds = new Set<string>(Object.values(SERVER_COMMANDS));
    const contributed = MANIFEST.contributes.commands.map((c) => c.command);
    assert.deepEqual(contributed.sort(), Object.values(CLIENT_COMMANDS).sort());
    for (const id of contributed) {
        assert.ok(!serverIds.has(id), id);
    }
    assert.deepEqual(showGeneratedArguments('file:///k.py', 'cuda', 0), ['file:///k.py', 'cuda', 0]);
    assert.deepEqual(showGeneratedArguments('file:///k.py', 'ptx', 2, 'sm_90a'), ['file:///k.py', 'ptx', 2, 'sm_90a']);
    assert.equal(generatedLanguageId('tilelsp://generated/k.0.sm_90.cuda.cu'), 'cuda-cpp');
    assert.equal(generatedLanguageId('tilelsp://generated/k.0.tir.py'), 'python');
    assert.equal(generatedLanguageId('tilelsp://generated/k.0.sm_90.ptx.ptx'), 'plaintext');
});

test('package.json: activation, trust and the settings the brief names', () => {
    assert.deepEqual(MANIFEST.activationEvents, ['onLanguage:python']);
    assert.equal(MANIFEST.capabilities.untrustedWorkspaces.supported, 'limited');
    assert.deepEqual(MANIFEST.capabilities.untrustedWorkspaces.restrictedConfigurations.sort(),
        ['tilelsp.compileInTrustedWorkspaces', 'tilelsp.interpreter', 'tilelsp.tilelangPython']);
    assert.equal(PROPERTIES['tilelsp.compileOnSave'].default, true);
    assert.deepEqual(PROPERTIES['tilelsp.compileTarget'].enum, ['auto', 'cuda', 'cpu']);
    assert.deepEqual(PROPERTIES['tilelsp.failOn'].enum, ['information', 'warning', 'error']);
    for (const [key, prop] of Object.entries(PROPERTIES)) {
        assert.ok(prop.description || prop.markdownDescription, `${key} has a description`);
    }
});
