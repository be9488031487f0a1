// The server's commands and custom requests, as the extension sends them (no `vscode` import: the tests
// call the same functions over a plain JSON-RPC connection).

/** Sends one request and resolves with its result (the language client's or a test connection's). */
export type Send = (method: string, params: unknown) => Promise<unknown>;

/** Commands the server registers (`executeCommandProvider`); the language client registers them in VS Code. */
export const SERVER_COMMANDS = {
    compile: 'tilelsp.compile',
    showGenerated: 'tilelsp.showGenerated',
    runCheck: 'tilelsp.runCheck',
} as const;

/**
 * The extension's own palette commands. They have ids of their own: the language client already registers
 * `tilelsp.compile` & co. for the server's code lenses, and a second registration of an id fails.
 */
export const CLIENT_COMMANDS = {
    compile: 'tilelsp.client.compile',
    showGenerated: 'tilelsp.client.showGenerated',
    runCheck: 'tilelsp.client.runCheck',
    restart: 'tilelsp.client.restart',
    showOutput: 'tilelsp.client.showOutput',
} as const;

export const GENERATED_DOCUMENT_REQUEST = 'tilelsp/generatedDocument';
export const GENERATED_SCHEME = 'tilelsp';
export const GENERATED_KINDS = ['cuda', 'ptx', 'tir', 'lowered'] as const;
export type GeneratedKind = (typeof GENERATED_KINDS)[number];

export const GENERATED_KIND_LABELS: Record<GeneratedKind, string> = {
    cuda: 'CUDA C++ source (tilec build --target cuda --emit cuda)',
    ptx: 'PTX (tilec build --target cuda --emit ptx; needs nvcc)',
    tir: 'Tile IR as written (tilec build --emit tir)',
    lowered: 'Lowered TIR (tilec build --emit lowered)',
};

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
    return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function unexpected(command: string, answer: unknown): Error {
    return new Error(`${command}: unexpected answer from the server: ${JSON.stringify(answer)}`);
}

export function executeCommand(send: Send, command: string, args: unknown[]): Promise<unknown> {
    return send('workspace/executeCommand', { command, arguments: args });
}

export interface CompileAnswer {
    queued: boolean;
    reason: string | null;
}

/** `tilelsp.compile [uri]`: queue a compile of the file's kernels (results arrive as diagnostics and lenses). */
export async function compile(send: Send, uri: string): Promise<CompileAnswer> {
    return parseCompileAnswer(await executeCommand(send, SERVER_COMMANDS.compile, [uri]));
}

export function parseCompileAnswer(answer: unknown): CompileAnswer {
    if (!isObject(answer) || typeof answer.queued !== 'boolean') {
        throw unexpected(SERVER_COMMANDS.compile, answer);
    }
    return { queued: answer.queued, reason: typeof answer.reason === 'string' ? answer.reason : null };
}

export type GeneratedAnswer = { uri: string } | { error: string };

/** The arguments of `tilelsp.showGenerated`: [uri, kind, kernelIndex, arch?]; no arch: the first configured. */
export function showGeneratedArguments(uri: string, kind: GeneratedKind, kernelIndex: number, arch?: string): unknown[] {
    const args: unknown[] = [uri, kind, kernelIndex];
    if (arch !== undefined && arch.trim() !== '') {
        args.push(arch.trim());
    }
    return args;
}

/** `tilelsp.showGenerated`: generate one kernel's code; answers the `tilelsp://` URI to read, or why not. */
export async function showGenerated(send: Send, uri: string, kind: GeneratedKind, kernelIndex: number,
    arch?: string): Promise<GeneratedAnswer> {
    const answer = await executeCommand(send, SERVER_COMMANDS.showGenerated,
        showGeneratedArguments(uri, kind, kernelIndex, arch));
    if (isObject(answer) && typeof answer.uri === 'string') {
        return { uri: answer.uri };
    }
    if (isObject(answer) && typeof answer.error === 'string') {
        return { error: answer.error };
    }
    throw unexpected(SERVER_COMMANDS.showGenerated, answer);
}

/** `tilelsp/generatedDocument`: the text behind a `tilelsp://` URI (undefined when the server has none). */
export async function generatedDocument(send: Send, uri: string): Promise<string | undefined> {
    const answer = await send(GENERATED_DOCUMENT_REQUEST, { uri });
    if (answer === null || answer === undefined) {
        return undefined;
    }
    if (isObject(answer) && typeof answer.text === 'string') {
        return answer.text;
    }
    throw unexpected(GENERATED_DOCUMENT_REQUEST, answer);
}

export type CheckAnswer = { exitCode: number; output: string } | { error: string };

/** `tilelsp.runCheck [uri, kernelIndex]`: `tilec run --check` on the CPU against the file's ref_program. */
export async function runCheck(send: Send, uri: string, kernelIndex: number): Promise<CheckAnswer> {
    const answer = await executeCommand(send, SERVER_COMMANDS.runCheck, [uri, kernelIndex]);
    if (isObject(answer) && typeof answer.exitCode === 'number') {
        return { exitCode: answer.exitCode, output: typeof answer.output === 'string' ? answer.output : '' };
    }
    if (isObject(answer) && typeof answer.error === 'string') {
        return { error: answer.error };
    }
    throw unexpected(SERVER_COMMANDS.runCheck, answer);
}

export interface KernelChoice {
    /** The kernel number the commands take. */
    index: number;
    /** 0-based line of the kernel function. */
    line: number;
    /** The code lens's title: the last compile's numbers, or why there are none. */
    title: string;
}

/**
 * Waits until the server has analysed the document as it is now: a diagnostic pull is answered only then
 * (code lenses are answered at once, from the last analysis, and are empty before the first one).
 */
export async function analysed(send: Send, uri: string): Promise<void> {
    await send('textDocument/diagnostic', { textDocument: { uri } });
}

/**
 * The file's instantiated kernels, from the server's code lenses (one per kernel, in the order of the
 * kernel numbers `tilelsp.showGenerated` and `tilelsp.runCheck` take).
 */
export async function kernelChoices(send: Send, uri: string): Promise<KernelChoice[]> {
    const lenses = await send('textDocument/codeLens', { textDocument: { uri } });
    if (!Array.isArray(lenses)) {
        return [];
    }
    return lenses.filter(isObject).map((lens, index) => {
        const range = isObject(lens.range) && isObject(lens.range.start) ? lens.range.start : {};
        const command = isObject(lens.command) ? lens.command : {};
        return {
            index,
            line: typeof range.line === 'number' ? range.line : 0,
            title: typeof command.title === 'string' ? command.title : '',
        };
    });
}

/** The language a generated document is shown in, from its URI's extension. */
export function generatedLanguageId(uri: string): string {
    if (uri.endsWith('.cu')) {
        return 'cuda-cpp';
    }
    if (uri.endsWith('.py')) {
        return 'python';
    }
    return 'plaintext';
}

/** Does a Python text import TileLang? (the extension starts the server for the first such file). */
export function importsTilelang(text: string): boolean {
    return /^[ \t]*(?:import[ \t]+(?:[\w.]+[ \t]*(?:as[ \t]+\w+)?[ \t]*,[ \t]*)*tilelang\b|from[ \t]+tilelang\b)/m.test(text);
}
