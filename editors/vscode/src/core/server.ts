// Which interpreter runs the server, and starting it (no `vscode` import: tested under plain Node).

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';

export const SERVER_ARGS = ['-m', 'tilelsp', '--stdio'] as const;
export const DEFAULT_INTERPRETER = process.platform === 'win32' ? 'python' : 'python3';

export type InterpreterSource = 'setting' | 'python-extension' | 'default';

export interface ServerCommand {
    command: string;
    args: string[];
    source: InterpreterSource;
    /** Why a candidate was passed over (shown in the output channel), if one was. */
    note?: string;
}

export interface ResolveInput {
    /** `tilelsp.interpreter` (empty: not set). */
    setting?: string | null;
    /** The interpreter the Python extension has selected for the workspace, when it is installed. */
    pythonExtension?: string | null;
    /** `vscode.workspace.isTrusted`. */
    workspaceTrusted: boolean;
    /** Workspace folders as file system paths. */
    workspaceFolders?: readonly string[];
    /** The user's home folder (for `~`); os.homedir() by default. */
    home?: string;
}

/** `~`, `${userHome}` and (in a trusted workspace) `${workspaceFolder}` in a configured path. */
export function expandPath(value: string, folders: readonly string[], trusted: boolean, home = os.homedir()): string {
    let out = value.trim();
    if (out === '~' || out.startsWith('~/') || out.startsWith('~\\')) {
        out = home + out.slice(1);
    }
    out = out.replace(/\$\{userHome\}/g, home);
    if (trusted && folders.length > 0) {
        out = out.replace(/\$\{workspaceFolder\}/g, folders[0]);
    }
    return out;
}

export function isInside(file: string, folder: string): boolean {
    const relative = path.relative(path.resolve(folder), path.resolve(file));
    return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * `<interpreter> -m tilelsp --stdio`, the interpreter being the first of: the `tilelsp.interpreter` setting,
 * the Python extension's selected interpreter, `python3`. In an untrusted workspace the Python extension's
 * interpreter is passed over when it lies inside a workspace folder (a checked-in venv is the workspace's
 * code too); VS Code itself ignores a workspace-level `tilelsp.interpreter` there (package.json lists it in
 * `restrictedConfigurations`).
 */
export function resolveServerCommand(input: ResolveInput): ServerCommand {
    const folders = input.workspaceFolders ?? [];
    const args = [...SERVER_ARGS];
    const setting = (input.setting ?? '').trim();
    if (setting !== '') {
        return { command: expandPath(setting, folders, input.workspaceTrusted, input.home), args, source: 'setting' };
    }
    const fromExtension = (input.pythonExtension ?? '').trim();
    let note: string | undefined;
    if (fromExtension !== '') {
        const inWorkspace = folders.some((folder) => isInside(fromExtension, folder));
        if (input.workspaceTrusted || !inWorkspace) {
            return { command: fromExtension, args, source: 'python-extension' };
        }
        note = `not using the Python extension's interpreter ${fromExtension}: it lies inside the untrusted workspace`;
    }
    return { command: DEFAULT_INTERPRETER, args, source: 'default', note };
}

/**
 * The server's environment. In an untrusted workspace PYTHONSAFEPATH=1 keeps `python -m` from putting the
 * working folder first on sys.path (a `tilelsp/` folder in the workspace must not stand in for the server).
 */
export function serverEnvironment(base: NodeJS.ProcessEnv, workspaceTrusted: boolean): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...base, PYTHONUNBUFFERED: '1' };
    if (!workspaceTrusted) {
        env.PYTHONSAFEPATH = '1';
    }
    return env;
}

export interface SpawnOptions {
    cwd?: string;
    env?: NodeJS.ProcessEnv;
}

/** Starts the server; resolves once the process exists, rejects with a readable reason if it cannot start. */
export function spawnServer(server: ServerCommand, options: SpawnOptions = {}): Promise<ChildProcessWithoutNullStreams> {
    return new Promise((resolve, reject) => {
        const child = spawn(server.command, server.args, {
            cwd: options.cwd,
            env: options.env ?? process.env,
            stdio: 'pipe',
            windowsHide: true,
        });
        const onError = (error: NodeJS.ErrnoException): void => {
            child.removeListener('spawn', onSpawn);
            const how = error.code === 'ENOENT' ? 'not found' : error.message;
            reject(new Error(`cannot start the tilelsp server with ${server.command} (${how}); set tilelsp.interpreter `
                + 'to a Python that has the tilelsp package installed'));
        };
        const onSpawn = (): void => {
            child.removeListener('error', onError);
            resolve(child);
        };
        child.once('error', onError);
        child.once('spawn', onSpawn);
    });
}

/** A hint for a server that exited at start-up, from its stderr (undefined when there is nothing to add). */
export function startupFailureHint(stderr: string, interpreter: string): string | undefined {
    if (/No module named tilelsp\b/.test(stderr)) {
        return `${interpreter} has no tilelsp package: install it there (pip install tilelsp, or pip install -e . in `
            + 'a tilelsp checkout), or point tilelsp.interpreter at a Python that has it';
    }
    const tooOld = /requires Python|SyntaxError/.test(stderr);
    if (tooOld) {
        return `${interpreter} cannot run tilelsp (it needs Python 3.11 or newer); set tilelsp.interpreter`;
    }
    return undefined;
}
