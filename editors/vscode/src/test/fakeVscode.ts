// A stand-in for the `vscode` module, just enough for extension.ts and vscode-languageclient to start the
// real server, run it and restart it under plain Node. It records what the extension does (commands,
// messages, status bar text) for the tests to assert on. Anything it does not implement is a no-op that
// returns a disposable, and its name is recorded in `missing`.

import { EventEmitter as NodeEmitter } from 'node:events';
import * as fs from 'node:fs';
import Module from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

type Listener<T> = (event: T) => unknown;
type Event<T> = (listener: Listener<T>, thisArg?: unknown, disposables?: Disposable[]) => Disposable;

export class Disposable {
    constructor(private readonly callback: () => void = () => undefined) {}
    static from(...items: { dispose(): unknown }[]): Disposable {
        return new Disposable(() => items.forEach((item) => item.dispose()));
    }
    dispose(): void {
        this.callback();
    }
}

export class EventEmitter<T> {
    private readonly emitter = new NodeEmitter();
    readonly event: Event<T> = (listener, thisArg, disposables) => {
        const bound = (e: T): unknown => listener.call(thisArg, e);
        this.emitter.on('e', bound);
        const d = new Disposable(() => this.emitter.off('e', bound));
        disposables?.push(d);
        return d;
    };
    fire(event: T): void {
        this.emitter.emit('e', event);
    }
    dispose(): void {
        this.emitter.removeAllListeners();
    }
}

export class Uri {
    private constructor(readonly scheme: string, readonly authority: string, readonly path: string,
        readonly query: string, readonly fragment: string, private readonly text: string) {}
    static parse(value: string): Uri {
        const url = new URL(value);
        const scheme = url.protocol.replace(/:$/, '');
        return new Uri(scheme, url.host, decodeURIComponent(url.pathname), url.search.replace(/^\?/, ''),
            url.hash.replace(/^#/, ''), value);
    }
    static file(path: string): Uri {
        return Uri.parse(pathToFileURL(path).href);
    }
    get fsPath(): string {
        return this.scheme === 'file' ? fileURLToPath(this.text) : this.path;
    }
    with(): Uri {
        return this;
    }
    toString(): string {
        return this.text;
    }
    toJSON(): unknown {
        return { scheme: this.scheme, path: this.path, external: this.text };
    }
}

export class Position {
    constructor(readonly line: number, readonly character: number) {}
}

export class Range {
    readonly start: Position;
    readonly end: Position;
    constructor(a: Position | number, b: Position | number, c?: number, d?: number) {
        this.start = typeof a === 'number' ? new Position(a, b as number) : a;
        this.end = typeof a === 'number' ? new Position(c as number, d as number) : (b as Position);
    }
}

export class CancellationError extends Error {}

export class CancellationTokenSource {
    private readonly emitter = new EventEmitter<void>();
    token = { isCancellationRequested: false, onCancellationRequested: this.emitter.event };
    cancel(): void {
        this.token.isCancellationRequested = true;
        this.emitter.fire();
    }
    dispose(): void {
        this.emitter.dispose();
    }
}

export class MarkdownString {
    isTrusted?: boolean;
    supportHtml?: boolean;
    supportThemeIcons?: boolean;
    constructor(public value = '') {}
    appendText(text: string): this {
        this.value += text;
        return this;
    }
    appendMarkdown(text: string): this {
        this.value += text;
        return this;
    }
}

export class Hover {
    constructor(readonly contents: MarkdownString | MarkdownString[], readonly range?: Range) {}
}

export class ThemeColor {
    constructor(readonly id: string) {}
}

export class TabInputText {}
export class TabInputTextDiff {}
export class TabInputCustom {}
export class TabInputNotebook {}

export const LogLevel = { Off: 0, Trace: 1, Debug: 2, Info: 3, Warning: 4, Error: 5 };
export const StatusBarAlignment = { Left: 1, Right: 2 };
export const ProgressLocation = { SourceControl: 1, Window: 10, Notification: 15 };
export const ViewColumn = { Active: -1, Beside: -2, One: 1 };
export const version = '1.95.0';
export const env = { language: 'en', appName: 'fake vscode', machineId: 'test', sessionId: 'test', uiKind: 1 };

export interface FakeDocument {
    uri: Uri;
    fileName: string;
    languageId: string;
    version: number;
    isDirty: boolean;
    isClosed: boolean;
    isUntitled: boolean;
    lineCount: number;
    getText(): string;
    save(): Promise<boolean>;
}

export function document(path: string, languageId = 'python'): FakeDocument {
    const text = fs.readFileSync(path, 'utf8');
    return {
        uri: Uri.file(path), fileName: path, languageId, version: 1, isDirty: false, isClosed: false,
        isUntitled: false, lineCount: text.split('\n').length, getText: () => text, save: () => Promise.resolve(true),
    };
}

/** What the extension did, for the tests. */
export const recorded = {
    commands: new Map<string, (...args: unknown[]) => unknown>(),
    contentProviders: new Map<string, unknown>(),
    messages: [] as { level: string; text: string }[],
    output: [] as string[],
    status: { text: '', tooltip: '' as unknown, visible: false },
    missing: new Set<string>(),
    /** The providers the language client registered, by kind (`hover`, `codeLens`, …). */
    providers: new Map<string, unknown>(),
    /** Documents shown in an editor (window.showTextDocument). */
    shown: [] as FakeDocument[],
    /** What the language client put into its diagnostic collections, by URI. */
    diagnostics: new Map<string, unknown[]>(),
};

export const settings: Record<string, unknown> = {};

const opened = new EventEmitter<FakeDocument>();
const trustGranted = new EventEmitter<void>();
const configurationChanged = new EventEmitter<{ affectsConfiguration(section: string): boolean }>();

export const state = {
    trusted: false,
    folders: [] as { uri: Uri; name: string; index: number }[],
    documents: [] as FakeDocument[],
};

/** Opens a document: the extension and the language client see `onDidOpenTextDocument`. */
export function openDocument(doc: FakeDocument): void {
    state.documents.push(doc);
    opened.fire(doc);
}

/** The user trusts the workspace. */
export function grantTrust(): void {
    state.trusted = true;
    trustGranted.fire();
}

/** Changes `tilelsp.<key>` and tells the listeners, as VS Code does. */
export function setSetting(key: string, value: unknown): void {
    settings[key] = value;
    configurationChanged.fire({ affectsConfiguration: (section: string) => `tilelsp.${key}`.startsWith(section)
        || section === 'tilelsp' });
}

function noop(name: string): (...args: unknown[]) => unknown {
    return () => {
        recorded.missing.add(name);
        return new Disposable();
    };
}

function namespace<T extends object>(name: string, members: T): T {
    return new Proxy(members, {
        get(target, key: string | symbol) {
            if (key in target) {
                return (target as Record<string | symbol, unknown>)[key];
            }
            if (typeof key === 'symbol' || key === 'then') {
                return undefined;
            }
            return key.startsWith('onDid') || key.startsWith('onWill') ? new EventEmitter<unknown>().event
                : noop(`${name}.${key}`);
        },
    });
}

function configuration(section?: string): Record<string, unknown> {
    const prefix = section ? `${section}.` : '';
    // `settings` holds the tilelsp section, keys without the `tilelsp.` prefix (`trace.server` flat)
    const lookup = (key: string): unknown => {
        const full = `${prefix}${key}`;
        if (full === 'tilelsp') {
            const section: Record<string, unknown> = {};
            for (const [k, v] of Object.entries(settings)) {
                const [head, ...tail] = k.split('.');
                if (tail.length === 0) {
                    section[head] = v;
                } else {
                    section[head] = { ...(section[head] as object), [tail.join('.')]: v };
                }
            }
            return section;
        }
        return full.startsWith('tilelsp.') ? settings[full.slice('tilelsp.'.length)] : undefined;
    };
    return {
        get: (key: string, fallback?: unknown) => lookup(key) ?? fallback,
        has: (key: string) => lookup(key) !== undefined,
        inspect: () => undefined,
        update: () => Promise.resolve(),
    };
}

function match(selector: unknown, doc: FakeDocument): number {
    const items = Array.isArray(selector) ? selector : [selector];
    for (const item of items) {
        if (typeof item === 'string' ? item === doc.languageId
            : (item as { language?: string }).language === doc.languageId
            && ((item as { scheme?: string }).scheme ?? doc.uri.scheme) === doc.uri.scheme) {
            return 10;
        }
    }
    return 0;
}

function logChannel(): unknown {
    const line = (level: string) => (message: unknown, ...rest: unknown[]) => {
        recorded.output.push(`[${level}] ${String(message)}${rest.length ? ` ${rest.map(String).join(' ')}` : ''}`);
    };
    return {
        name: 'tilelsp', logLevel: LogLevel.Info, onDidChangeLogLevel: new EventEmitter<number>().event,
        trace: line('trace'), debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error'),
        append: (text: string) => recorded.output.push(text), appendLine: (text: string) => recorded.output.push(text),
        replace: () => undefined, clear: () => undefined, show: () => undefined, hide: () => undefined,
        dispose: () => undefined,
    };
}

function message(level: string) {
    return (text: string): Promise<undefined> => {
        recorded.messages.push({ level, text });
        return Promise.resolve(undefined);
    };
}

const diagnosticCollection = (): unknown => {
    const map = new Map<string, unknown>();
    return {
        name: 'tilelsp',
        set: (uri: Uri, d: unknown[]) => {
            map.set(uri.toString(), d);
            recorded.diagnostics.set(uri.toString(), d ?? []);
        },
        delete: (uri: Uri) => map.delete(uri.toString()),
        clear: () => map.clear(), forEach: () => undefined, get: (uri: Uri) => map.get(uri.toString()),
        has: (uri: Uri) => map.has(uri.toString()), dispose: () => map.clear(),
    };
};

export const workspace = namespace('workspace', {
    get isTrusted(): boolean {
        return state.trusted;
    },
    get workspaceFolders() {
        return state.folders;
    },
    get textDocuments() {
        return state.documents;
    },
    notebookDocuments: [],
    getWorkspaceFolder: (uri: Uri) => state.folders.find((f) => uri.fsPath.startsWith(f.uri.fsPath)),
    getConfiguration: configuration,
    onDidOpenTextDocument: opened.event,
    onDidChangeConfiguration: configurationChanged.event,
    onDidGrantWorkspaceTrust: trustGranted.event,
    openTextDocument: async (uri: Uri): Promise<FakeDocument> => {
        const known = state.documents.find((d) => d.uri.toString() === uri.toString());
        if (known !== undefined) {
            return known;
        }
        const content = recorded.contentProviders.get(uri.scheme) as {
            provideTextDocumentContent(u: Uri, t: unknown): Promise<string>;
        } | undefined;
        if (content === undefined) {
            const doc = document(uri.fsPath);
            openDocument(doc);
            return doc;
        }
        const text = await content.provideTextDocumentContent(uri, new CancellationTokenSource().token);
        return {
            uri, fileName: uri.path, languageId: 'plaintext', version: 1, isDirty: false, isClosed: false,
            isUntitled: false, lineCount: text.split('\n').length, getText: () => text, save: () => Promise.resolve(false),
        };
    },
    registerTextDocumentContentProvider: (scheme: string, provider: unknown) => {
        recorded.contentProviders.set(scheme, provider);
        return new Disposable();
    },
    createFileSystemWatcher: () => namespace('FileSystemWatcher', { dispose: () => undefined }),
});

export const window = namespace('window', {
    createOutputChannel: () => logChannel(),
    createStatusBarItem: () => {
        const item = {
            name: '', command: '', backgroundColor: undefined as unknown,
            set text(value: string) { recorded.status.text = value; },
            get text() { return recorded.status.text; },
            set tooltip(value: unknown) { recorded.status.tooltip = value; },
            show: () => { recorded.status.visible = true; },
            hide: () => { recorded.status.visible = false; },
            dispose: () => undefined,
        };
        return item;
    },
    showErrorMessage: message('error'),
    showWarningMessage: message('warning'),
    showInformationMessage: message('info'),
    setStatusBarMessage: () => new Disposable(),
    showTextDocument: (doc: FakeDocument) => {
        recorded.shown.push(doc);
        return Promise.resolve({ document: doc });
    },
    withProgress: (_options: unknown, task: (progress: unknown, token: unknown) => unknown) =>
        Promise.resolve(task({ report: () => undefined }, new CancellationTokenSource().token)),
    tabGroups: { all: [], onDidChangeTabs: new EventEmitter<unknown>().event, onDidChangeTabGroups: new EventEmitter<unknown>().event },
    visibleTextEditors: [],
    activeTextEditor: undefined,
});

function provider(kind: string) {
    return (_selector: unknown, implementation: unknown): Disposable => {
        recorded.providers.set(kind, implementation);
        return new Disposable(() => recorded.providers.delete(kind));
    };
}

export const languages = namespace('languages', {
    match,
    registerHoverProvider: provider('hover'),
    registerCodeLensProvider: provider('codeLens'),
    setTextDocumentLanguage: (doc: FakeDocument, languageId: string) => {
        doc.languageId = languageId;
        return Promise.resolve(doc);
    },
    createDiagnosticCollection: diagnosticCollection,
});

export const commands = namespace('commands', {
    registerCommand: (id: string, callback: (...args: unknown[]) => unknown) => {
        if (recorded.commands.has(id)) {
            throw new Error(`command '${id}' already exists`);
        }
        recorded.commands.set(id, callback);
        return new Disposable(() => recorded.commands.delete(id));
    },
    executeCommand: (id: string, ...args: unknown[]) => Promise.resolve(recorded.commands.get(id)?.(...args)),
});

export const extensions = namespace('extensions', { getExtension: () => undefined, all: [] });

const fake = {
    Disposable, EventEmitter, Uri, Position, Range, CancellationError, CancellationTokenSource, ThemeColor,
    MarkdownString, Hover,
    TabInputText, TabInputTextDiff, TabInputCustom, TabInputNotebook, LogLevel, StatusBarAlignment,
    ProgressLocation, ViewColumn, version, env, workspace, window, languages, commands, extensions,
};

const generated = new Map<string, unknown>();

/**
 * A class for a name the stand-in does not define (vscode-languageclient extends CompletionItem, CodeLens …
 * at load time); its unknown static members are numbers, so enums such as DiagnosticSeverity.Error work.
 */
function stubClass(name: string): unknown {
    let found = generated.get(name);
    if (found === undefined) {
        const cls = class {
            constructor(...args: unknown[]) {
                Object.assign(this, { args });
            }
        };
        Object.defineProperty(cls, 'name', { value: name });
        let next = 1;
        const values = new Map<string, number>();
        found = new Proxy(cls, {
            get(target, key: string | symbol, receiver) {
                if (typeof key === 'symbol' || key in target) {
                    return Reflect.get(target, key, receiver) as unknown;
                }
                if (!values.has(key)) {
                    values.set(key, next++);
                }
                return values.get(key);
            },
        });
        generated.set(name, found);
    }
    return found;
}

/** `require('vscode')` answers this module from now on. */
export function install(): void {
    const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
    const original = loader._load;
    loader._load = function (request: string, ...rest: unknown[]): unknown {
        if (request === 'vscode') {
            return new Proxy(fake, {
                get(target, key: string | symbol) {
                    if (key in target) {
                        return (target as Record<string | symbol, unknown>)[key];
                    }
                    if (key === '__esModule') {
                        return true; // TypeScript's __importStar then uses this proxy itself, not a copy of its keys
                    }
                    if (typeof key === 'string' && /^[A-Z]/.test(key)) {
                        return stubClass(key);
                    }
                    if (typeof key === 'string' && key !== 'then' && key !== 'default') {
                        recorded.missing.add(`vscode.${key}`);
                    }
                    return undefined;
                },
            });
        }
        return original.call(this, request, ...rest);
    };
}
