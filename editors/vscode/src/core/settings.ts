// The extension's settings -> the server's `tilelsp` section (no `vscode` import: tested under plain Node).
//
// VS Code answers `workspace/configuration` for the section `tilelsp` with every contributed setting, the
// extension's own ones included. The server wants only its keys (tilelsp/settings.py), with `trusted`
// decided here: true only when VS Code trusts the workspace and the user kept
// `tilelsp.compileInTrustedWorkspaces` on. A `"tilelsp.trusted": true` written into a settings.json is
// never passed on, so a checked-in .vscode/settings.json cannot turn compiling (which runs the file's
// module) on.

import { expandPath } from './server';

export const SECTION = 'tilelsp';

/** The keys the server reads, with the JSON types it accepts (tilelsp/settings.py `parse_settings`). */
export const SERVER_KEYS = [
    'archs',
    'instantiate',
    'select',
    'ignore',
    'nearLimit',
    'failOn',
    'debounceMs',
    'compileOnSave',
    'compileTarget',
    'compileTimeoutS',
    'compileBackend',
    'tilelangPython',
] as const;

/** Settings only the extension reads; never sent. */
export const CLIENT_KEYS = ['interpreter', 'compileInTrustedWorkspaces', 'maxRestarts', 'trace'] as const;

/** The settings `toServerSection` reads. */
export const READ_KEYS: readonly string[] = [...SERVER_KEYS, 'compileInTrustedWorkspaces'];

export type ServerKey = (typeof SERVER_KEYS)[number];

export interface ServerSection {
    archs: string[] | null;
    instantiate: string[] | null;
    select: string[] | null;
    ignore: string[] | null;
    nearLimit: number | null;
    failOn: 'information' | 'warning' | 'error' | null;
    debounceMs: number | null;
    compileOnSave: boolean | null;
    compileTarget: 'auto' | 'cuda' | 'cpu' | null;
    compileTimeoutS: number | null;
    compileBackend: 'tilec' | 'tilelang' | 'both' | null;
    tilelangPython: string | null;
    trusted: boolean;
}

/** Where `~`, `${userHome}` and `${workspaceFolder}` in a path setting point. */
export interface PathContext {
    folders: readonly string[];
    home?: string;
}

type Values = Record<string, unknown>;

function strings(value: unknown, split = true): string[] | null {
    if (typeof value === 'string') {
        value = split ? value.split(',') : [value];
    }
    if (!Array.isArray(value)) {
        return null;
    }
    const items = value.filter((v): v is string => typeof v === 'string').map((v) => v.trim()).filter((v) => v !== '');
    // an empty list means "not set": the project's pyproject.toml [tool.tilelint] applies
    return items.length > 0 ? items : null;
}

function number(value: unknown): number | null {
    return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[]): T | null {
    return typeof value === 'string' && (allowed as readonly string[]).includes(value) ? (value as T) : null;
}

/** Whether the server may compile: VS Code trusts the workspace and the user did not switch it off. */
export function mayCompile(values: Values | null | undefined, workspaceTrusted: boolean): boolean {
    return workspaceTrusted && values?.compileInTrustedWorkspaces !== false;
}

/**
 * The `tilelsp` section of the extension's settings (as `workspace.getConfiguration('tilelsp')` gives it)
 * -> the section the server reads. Values of the wrong type become null (the server's "not set"), so a
 * typo in settings.json falls back to pyproject.toml instead of producing a warning per document.
 */
export function toServerSection(values: Values | null | undefined, workspaceTrusted: boolean,
    paths: PathContext = { folders: [] }): ServerSection {
    const v: Values = values ?? {};
    const bool = (key: string): boolean | null => {
        const value = v[key];
        return typeof value === 'boolean' ? value : null;
    };
    const near = number(v.nearLimit);
    const timeout = number(v.compileTimeoutS);
    const debounce = number(v.debounceMs);
    return {
        archs: strings(v.archs),
        instantiate: strings(v.instantiate, false), // a call has commas of its own
        select: strings(v.select),
        ignore: strings(v.ignore),
        nearLimit: near !== null && near > 0 && near <= 1 ? near : null,
        failOn: oneOf(v.failOn, ['information', 'warning', 'error'] as const),
        debounceMs: debounce !== null && debounce >= 0 && debounce <= 10000 ? Math.round(debounce) : null,
        compileOnSave: bool('compileOnSave'),
        compileTarget: oneOf(v.compileTarget, ['auto', 'cuda', 'cpu'] as const),
        compileTimeoutS: timeout !== null && timeout > 0 ? timeout : null,
        compileBackend: oneOf(v.compileBackend, ['tilec', 'tilelang', 'both'] as const),
        tilelangPython: typeof v.tilelangPython === 'string' && v.tilelangPython.trim() !== ''
            ? expandPath(v.tilelangPython, paths.folders, workspaceTrusted, paths.home) : null,
        trusted: mayCompile(v, workspaceTrusted),
    };
}

/** `initializationOptions`: the server takes `{"tilelsp": {...}}` (tilelsp/settings.py `section_of`). */
export function initializationOptions(values: Values | null | undefined, workspaceTrusted: boolean,
    paths?: PathContext): { tilelsp: ServerSection } {
    return { tilelsp: toServerSection(values, workspaceTrusted, paths) };
}

export interface ConfigurationItem {
    scopeUri?: string | null;
    section?: string | null;
}

/**
 * The answer to a `workspace/configuration` request, given what the editor would answer for each item
 * (`raw[i]`): items for the `tilelsp` section are mapped, others passed through unchanged.
 */
export function mapConfigurationAnswer(items: readonly ConfigurationItem[], raw: readonly unknown[],
    workspaceTrusted: boolean, paths?: PathContext): unknown[] {
    return items.map((item, i) => {
        const value = raw[i];
        if (item.section !== SECTION) {
            return value;
        }
        const values = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Values) : {};
        return toServerSection(values, workspaceTrusted, paths);
    });
}

interface ManifestProperty {
    default?: unknown;
}

/**
 * The settings' defaults as package.json contributes them, shaped like `getConfiguration('tilelsp')`
 * (nested keys such as `trace.server` become objects). Used by the tests to answer as VS Code would
 * for a user who changed nothing.
 */
export function manifestDefaults(manifest: {
    contributes?: { configuration?: { properties?: Record<string, ManifestProperty> } };
}): Values {
    const out: Values = {};
    const properties = manifest.contributes?.configuration?.properties ?? {};
    for (const [key, property] of Object.entries(properties)) {
        if (!key.startsWith(`${SECTION}.`)) {
            continue;
        }
        const path = key.slice(SECTION.length + 1).split('.');
        let node = out;
        for (const part of path.slice(0, -1)) {
            node = (node[part] ??= {}) as Values;
        }
        node[path[path.length - 1]] = property.default;
    }
    return out;
}
