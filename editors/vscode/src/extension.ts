// The VS Code side of tilelsp: starts `<interpreter> -m tilelsp --stdio` for Python files that import
// TileLang, and adds what the protocol does not carry by itself (trust, the status bar, palette commands,
// the read-only documents of generated code, restarts with back-off). Everything that does not need the
// `vscode` module lives in ./core and is tested against the real server under plain Node.

import type { ChildProcess } from 'node:child_process';
import * as readline from 'node:readline';
import type { Readable } from 'node:stream';
import * as vscode from 'vscode';
import {
    CloseAction,
    ErrorAction,
    LanguageClient,
    RevealOutputChannelOn,
    State,
    type CloseHandlerResult,
    type ErrorHandlerResult,
    type LanguageClientOptions,
    type ServerOptions,
} from 'vscode-languageclient/node';

import {
    CLIENT_COMMANDS,
    GENERATED_KIND_LABELS,
    GENERATED_KINDS,
    GENERATED_SCHEME,
    SERVER_COMMANDS,
    analysed,
    compile,
    generatedDocument,
    generatedLanguageId,
    importsTilelang,
    kernelChoices,
    parseCompileAnswer,
    runCheck,
    showGenerated,
    type GeneratedKind,
    type KernelChoice,
    type Send,
} from './core/protocol';
import { RestartPolicy } from './core/restart';
import { READ_KEYS, SECTION, initializationOptions, mapConfigurationAnswer, type PathContext } from './core/settings';
import {
    resolveServerCommand,
    serverEnvironment,
    spawnServer,
    startupFailureHint,
    type ServerCommand,
} from './core/server';

type ServerState = 'idle' | 'starting' | 'running' | 'restarting' | 'stopped' | 'crashed';

/** A server that exits this soon after it was started failed to start (its stderr says why). */
const EARLY_EXIT_MS = 15_000;
const STDERR_HEAD_CHARS = 8192;
const STOP_TIMEOUT_MS = 3000;

function delay(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

function fileFolders(): string[] {
    return (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
}

function pathContext(): PathContext {
    return { folders: fileFolders() };
}

function readLines(input: Readable, onLine: (line: string) => void): void {
    readline.createInterface({ input, crlfDelay: Infinity, terminal: false }).on('line', onLine);
}

/** The workspace-wide `tilelsp.*` values the server's section is made of. */
function settingsValues(): Record<string, unknown> {
    const config = vscode.workspace.getConfiguration(SECTION);
    return Object.fromEntries(READ_KEYS.map((key) => [key, config.get<unknown>(key)]));
}

function firstLine(text: string): string {
    const line = text.split('\n').find((l) => l.trim() !== '') ?? text;
    return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

interface PythonApi {
    ready?: Promise<void>;
    environments?: {
        getActiveEnvironmentPath?(resource?: vscode.Uri): { path?: string } | undefined;
        resolveEnvironment?(env: unknown): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
        onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
    };
    settings?: {
        getExecutionDetails?(resource?: vscode.Uri): { execCommand?: string[] } | undefined;
    };
}

class TilelspExtension implements vscode.Disposable {
    private client: LanguageClient | undefined;
    private clientStarting: Promise<LanguageClient | undefined> | undefined;
    private readonly output: vscode.LogOutputChannel;
    private readonly status: vscode.StatusBarItem;
    private readonly disposables: vscode.Disposable[] = [];
    private readonly generatedChanged = new vscode.EventEmitter<vscode.Uri>();
    /** VS Code's spelling of a generated document's URI -> the server's. */
    private readonly generatedUris = new Map<string, string>();
    private policy: RestartPolicy;
    private state: ServerState = 'idle';
    private stateDetail = '';
    private server: ServerCommand | undefined;
    private child: ChildProcess | undefined;
    private childStartedAt = 0;
    private stderrHead = '';
    private lastExit: { code: number | null; signal: NodeJS.Signals | null; at: number } | undefined;
    private childClosed: Promise<void> = Promise.resolve();
    private stderrForwarded = false;
    /** Counts the clients made; a closed handler of an older one must not restart anything. */
    private generation = 0;
    /** Woken when the state settles (running, crashed, stopped). */
    private readonly stateWaiters: (() => void)[] = [];
    private pythonApi: PythonApi | undefined;
    private pythonWatch: vscode.Disposable | undefined;

    constructor(private readonly context: vscode.ExtensionContext) {
        this.output = vscode.window.createOutputChannel('tilelsp', { log: true });
        this.status = vscode.window.createStatusBarItem('tilelsp.status', vscode.StatusBarAlignment.Right, 100);
        this.status.name = 'tilelsp';
        this.status.command = CLIENT_COMMANDS.showOutput;
        this.policy = this.newPolicy();
        this.disposables.push(this.output, this.status, this.generatedChanged);
    }

    activate(): void {
        const provider: vscode.TextDocumentContentProvider = {
            onDidChange: this.generatedChanged.event,
            provideTextDocumentContent: (uri) => this.generatedText(uri),
        };
        this.disposables.push(
            vscode.workspace.registerTextDocumentContentProvider(GENERATED_SCHEME, provider),
            vscode.commands.registerCommand(CLIENT_COMMANDS.compile, (uri?: unknown) => this.commandCompile(uri)),
            vscode.commands.registerCommand(CLIENT_COMMANDS.showGenerated,
                (uri?: unknown, kind?: unknown, kernel?: unknown, arch?: unknown) =>
                    this.commandShowGenerated(uri, kind, kernel, arch)),
            vscode.commands.registerCommand(CLIENT_COMMANDS.runCheck,
                (uri?: unknown, kernel?: unknown) => this.commandRunCheck(uri, kernel)),
            vscode.commands.registerCommand(CLIENT_COMMANDS.restart, () => this.restart('restart asked for')),
            vscode.commands.registerCommand(CLIENT_COMMANDS.showOutput, () => this.output.show()),
            vscode.workspace.onDidOpenTextDocument((doc) => this.startFor(doc)),
            vscode.workspace.onDidSaveTextDocument((doc) => this.startFor(doc)),
            vscode.workspace.onDidChangeConfiguration((event) => {
                if (event.affectsConfiguration(`${SECTION}.interpreter`)
                    || event.affectsConfiguration(`${SECTION}.maxRestarts`)) {
                    this.policy = this.newPolicy();
                    if (this.client !== undefined) {
                        void this.restart('tilelsp.interpreter or tilelsp.maxRestarts changed');
                    }
                }
            }),
            vscode.workspace.onDidGrantWorkspaceTrust(() => {
                // a trusted workspace may use its own interpreter and compile: start over with the new rules
                if (this.client !== undefined) {
                    void this.restart('the workspace is trusted now');
                }
            }),
        );
        this.render();
        for (const doc of vscode.workspace.textDocuments) {
            if (this.startFor(doc)) {
                break;
            }
        }
    }

    // ------------------------------------------------------------------ starting and stopping

    private newPolicy(): RestartPolicy {
        const max = vscode.workspace.getConfiguration(SECTION).get<number>('maxRestarts', 5);
        return new RestartPolicy({ maxRestarts: typeof max === 'number' ? max : 5 });
    }

    /** Starts the server for the first Python document that imports tilelang; true if it did (or had). */
    private startFor(doc: vscode.TextDocument): boolean {
        if (this.client !== undefined || this.clientStarting !== undefined) {
            return true;
        }
        if (doc.languageId !== 'python' || (doc.uri.scheme !== 'file' && doc.uri.scheme !== 'untitled')) {
            return false;
        }
        if (!importsTilelang(doc.getText())) {
            return false;
        }
        void this.ensureClient();
        return true;
    }

    /** The running client, started on first use; undefined when it cannot start (the user was told why). */
    private async ensureClient(): Promise<LanguageClient | undefined> {
        if (this.client !== undefined && this.state === 'restarting') {
            // a crash restart is under way (its back-off delay, then the start): wait for how it ends
            await new Promise<void>((resolve) => this.stateWaiters.push(resolve));
        }
        if (this.client !== undefined && this.client.state === State.Running && this.state === 'running') {
            return this.client;
        }
        if (this.clientStarting === undefined) {
            this.clientStarting = this.startClient().finally(() => {
                this.clientStarting = undefined;
            });
        }
        return this.clientStarting;
    }

    private async startClient(): Promise<LanguageClient | undefined> {
        if (this.client !== undefined) {
            if (this.client.state === State.Running) {
                return this.client;
            }
            await this.disposeClient();
        }
        const generation = ++this.generation;
        const client = new LanguageClient(SECTION, 'tilelsp', this.serverOptions(), this.clientOptions(generation));
        this.client = client;
        client.onDidChangeState((event) => {
            if (this.client !== client) {
                return;
            }
            if (event.newState === State.Running) {
                this.policy.running(Date.now());
                this.setState('running', this.server ? `${this.server.command} (${this.server.source})` : '');
            } else if (event.newState === State.Starting && this.state !== 'restarting') {
                this.setState('starting');
            } else if (event.newState === State.Stopped && this.state !== 'crashed' && this.state !== 'restarting') {
                this.setState('stopped');
            } else if (event.newState === State.StartFailed) {
                this.setState('crashed', this.stateDetail);
            }
        });
        this.setState('starting');
        try {
            await client.start();
            return client;
        } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            this.output.error(`the server did not start: ${message}`);
            if (this.state !== 'crashed') {
                this.setState('crashed', firstLine(message));
                void this.offerHelp(`tilelsp: the server did not start: ${firstLine(message)}`);
            }
            return undefined;
        }
    }

    private serverOptions(): ServerOptions {
        return async () => {
            const trusted = vscode.workspace.isTrusted;
            const folders = fileFolders();
            const setting = vscode.workspace.getConfiguration(SECTION).get<string>('interpreter', '');
            const server = resolveServerCommand({
                setting,
                pythonExtension: setting.trim() === '' ? await this.pythonExtensionInterpreter() : undefined,
                workspaceTrusted: trusted,
                workspaceFolders: folders,
            });
            if (server.note !== undefined) {
                this.output.warn(server.note);
            }
            this.server = server;
            // untrusted: not the workspace folder, so `python -m` cannot pick up a workspace's `tilelsp/`
            const cwd = trusted && folders.length > 0 ? folders[0] : this.context.extensionPath;
            this.output.info(`starting ${server.command} ${server.args.join(' ')} (interpreter from ${server.source}; `
                + `workspace ${trusted ? 'trusted' : 'not trusted'}; cwd ${cwd})`);
            const child = await spawnServer(server, { cwd, env: serverEnvironment(process.env, trusted) });
            this.watchChild(child);
            return child;
        };
    }

    private watchChild(child: ChildProcess): void {
        this.child = child;
        this.childStartedAt = Date.now();
        this.stderrHead = '';
        this.lastExit = undefined;
        // 'close' comes after the process ended and its stderr was read to the end
        this.childClosed = new Promise((resolve) => {
            child.once('close', (code, signal) => {
                if (this.child === child) {
                    this.lastExit = { code, signal, at: Date.now() };
                }
                resolve();
            });
        });
    }

    /**
     * The server's stderr, a line at a time. Its own log lines (`tilelsp.*`) reach the channel as
     * window/logMessage already, so here they go at trace level; everything else (pygls, tracebacks, a
     * Python that cannot import tilelsp) at its own level, and the first lines are kept for `onClosed`.
     */
    private onStderrLine(line: string): void {
        if (this.stderrHead.length < STDERR_HEAD_CHARS) {
            this.stderrHead += `${line}\n`;
        }
        const record = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) ([\w.]+): /.exec(line);
        if (record !== null) {
            this.stderrForwarded = record[2] === 'tilelsp' || record[2].startsWith('tilelsp.');
        }
        if (this.stderrForwarded) {
            this.output.trace(`[stderr] ${line}`);
        } else if (record?.[1] === 'DEBUG') {
            this.output.debug(line);
        } else if (record?.[1] === 'INFO') {
            this.output.info(line);
        } else if (record?.[1] === 'WARNING') {
            this.output.warn(line);
        } else {
            this.output.error(line);
        }
    }

    private clientOptions(generation: number): LanguageClientOptions {
        return {
            documentSelector: [
                { scheme: 'file', language: 'python' },
                { scheme: 'untitled', language: 'python' },
            ],
            outputChannel: this.output,
            traceOutputChannel: this.output,
            revealOutputChannelOn: RevealOutputChannelOn.Never,
            stdioOptions: {
                stdout: (input) => readLines(input, (line) => this.output.info(line)),
                stderr: (input) => readLines(input, (line) => this.onStderrLine(line)),
            },
            initializationOptions: () => initializationOptions(settingsValues(), vscode.workspace.isTrusted,
                pathContext()),
            markdown: { isTrusted: false, supportHtml: false },
            errorHandler: {
                error: (_error, _message, count): ErrorHandlerResult => ({
                    action: (count ?? 0) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown,
                }),
                closed: () => this.onClosed(generation),
            },
            middleware: {
                workspace: {
                    // VS Code answers with every `tilelsp.*` setting: the server gets its own keys, and
                    // `trusted` decided from the workspace trust (see core/settings.ts)
                    configuration: async (params, token, next) => {
                        const raw = await next(params, token);
                        if (!Array.isArray(raw)) {
                            return raw;
                        }
                        return mapConfigurationAnswer(params.items, raw, vscode.workspace.isTrusted, pathContext());
                    },
                },
                // the server's `tilelsp.compile` from a code lens: say why nothing was queued
                executeCommand: async (command, args, next) => {
                    const result: unknown = await next(command, args);
                    if (command === SERVER_COMMANDS.compile) {
                        this.reportCompile(result);
                    }
                    return result;
                },
            },
        };
    }

    /** The connection closed without a stop from us: restart after a delay, or give up. */
    private async onClosed(generation: number): Promise<CloseHandlerResult> {
        const replaced = (): boolean => generation !== this.generation; // a restart made a new client meanwhile
        if (replaced()) {
            return { action: CloseAction.DoNotRestart, handled: true };
        }
        // the connection closes before the process is reaped: wait a little for its exit status and stderr
        await Promise.race([this.childClosed, delay(2000)]);
        const exit = this.lastExit;
        const exited = exit ? `exit code ${exit.code ?? exit.signal}` : 'connection closed';
        const early = exit !== undefined && exit.at - this.childStartedAt < EARLY_EXIT_MS;
        const hint = early ? startupFailureHint(this.stderrHead, this.server?.command ?? 'python3') : undefined;
        if (hint !== undefined) {
            this.setState('crashed', hint);
            this.output.error(`the server exited at start-up (${exited}): ${hint}`);
            void this.offerHelp(`tilelsp: ${hint}`);
            return { action: CloseAction.DoNotRestart, handled: true };
        }
        const decision = this.policy.closed(Date.now());
        if (!decision.restart) {
            const message = `the tilelsp server stopped (${exited}) and was restarted ${decision.attempts} time(s); `
                + 'not restarting it again';
            this.setState('crashed', message);
            this.output.error(message);
            void this.offerHelp(`tilelsp: ${message}. See the output for its log.`);
            return { action: CloseAction.DoNotRestart, handled: true };
        }
        const seconds = (decision.delayMs / 1000).toFixed(0);
        this.setState('restarting', `restart ${decision.attempt} of ${this.policy.maxRestarts} in ${seconds} s`);
        this.output.warn(`the server stopped (${exited}); restart ${decision.attempt} of ${this.policy.maxRestarts} `
            + `in ${seconds} s`);
        await delay(decision.delayMs);
        return { action: replaced() ? CloseAction.DoNotRestart : CloseAction.Restart, handled: true };
    }

    private async offerHelp(message: string): Promise<void> {
        const choice = await vscode.window.showErrorMessage(message, 'Show Output', 'Open Settings', 'Restart');
        if (choice === 'Show Output') {
            this.output.show();
        } else if (choice === 'Open Settings') {
            await vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.interpreter`);
        } else if (choice === 'Restart') {
            await this.restart('restart asked for');
        }
    }

    async restart(reason: string): Promise<void> {
        this.output.info(`restarting the server: ${reason}`);
        this.policy = this.newPolicy();
        await this.disposeClient();
        await this.ensureClient();
    }

    private async disposeClient(): Promise<void> {
        const client = this.client;
        const child = this.child;
        this.client = undefined;
        this.generation++; // its closed handler, maybe in a back-off delay now, must not restart it
        if (client !== undefined) {
            try {
                if (client.state === State.Running) {
                    await client.dispose(STOP_TIMEOUT_MS);
                } else {
                    void client.dispose(STOP_TIMEOUT_MS).catch(() => undefined);
                }
            } catch (error) {
                this.output.warn(`stopping the server: ${error instanceof Error ? error.message : String(error)}`);
            }
        }
        if (child !== undefined && child.exitCode === null && child.signalCode === null) {
            // `exit` was sent (or the server never got that far): give it a moment to end on its own
            await Promise.race([this.childClosed, delay(2000)]);
            if (child.exitCode === null && child.signalCode === null) {
                child.kill();
            }
        }
        this.child = undefined;
        this.setState('stopped');
    }

    async dispose(): Promise<void> {
        await this.disposeClient();
        this.pythonWatch?.dispose();
        for (const d of this.disposables.splice(0)) {
            d.dispose();
        }
    }

    // ------------------------------------------------------------------ the Python extension (optional)

    private async pythonExtensionInterpreter(): Promise<string | undefined> {
        const extension = vscode.extensions.getExtension<PythonApi>('ms-python.python');
        if (extension === undefined) {
            return undefined;
        }
        try {
            const api = extension.isActive ? extension.exports : await extension.activate();
            if (api?.ready !== undefined) {
                await Promise.race([api.ready, delay(10_000)]);
            }
            this.watchPython(api);
            const resource = vscode.workspace.workspaceFolders?.[0]?.uri;
            const envPath = api?.environments?.getActiveEnvironmentPath?.(resource);
            if (envPath !== undefined && api?.environments?.resolveEnvironment !== undefined) {
                const env = await api.environments.resolveEnvironment(envPath);
                const exe = env?.executable?.uri?.fsPath;
                if (exe) {
                    return exe;
                }
            }
            const exec = api?.settings?.getExecutionDetails?.(resource)?.execCommand;
            if (Array.isArray(exec) && exec.length === 1 && typeof exec[0] === 'string') {
                return exec[0];
            }
        } catch (error) {
            this.output.warn(`the Python extension's interpreter: ${error instanceof Error ? error.message : String(error)}`);
        }
        return undefined;
    }

    private watchPython(api: PythonApi | undefined): void {
        if (api === undefined || api === this.pythonApi) {
            return;
        }
        this.pythonApi = api;
        this.pythonWatch?.dispose();
        this.pythonWatch = api.environments?.onDidChangeActiveEnvironmentPath?.(() => {
            if (this.client !== undefined && this.server?.source === 'python-extension') {
                void this.restart('the Python extension selected another interpreter');
            }
        });
    }

    // ------------------------------------------------------------------ status bar

    private setState(state: ServerState, detail = ''): void {
        this.state = state;
        this.stateDetail = detail;
        this.render();
        if (state === 'running' || state === 'crashed' || state === 'stopped') {
            for (const wake of this.stateWaiters.splice(0)) {
                wake();
            }
        }
    }

    private render(): void {
        const icons: Record<ServerState, string> = {
            idle: '$(circle-outline)',
            starting: '$(loading~spin)',
            running: '$(check)',
            restarting: '$(loading~spin)',
            stopped: '$(circle-slash)',
            crashed: '$(error)',
        };
        const words: Record<ServerState, string> = {
            idle: 'not started (no open file imports tilelang)',
            starting: 'starting',
            running: 'running',
            restarting: 'restarting',
            stopped: 'stopped',
            crashed: 'crashed',
        };
        this.status.text = `${icons[this.state]} tilelsp`;
        this.status.tooltip = `tilelsp server: ${words[this.state]}${this.stateDetail ? ` — ${this.stateDetail}` : ''}\n`
            + 'Click for the server output.';
        this.status.backgroundColor = this.state === 'crashed'
            ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
        if (this.state === 'idle') {
            this.status.hide();
        } else {
            this.status.show();
        }
    }

    /** For tests and other extensions: the state the status bar shows. */
    get serverState(): ServerState {
        return this.state;
    }

    /** For tests: the server process's id while it runs. */
    get serverPid(): number | undefined {
        const child = this.child;
        return child !== undefined && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    }

    // ------------------------------------------------------------------ commands

    private sender(client: LanguageClient): Send {
        return (method, params) => client.sendRequest(method, params);
    }

    /** The Python document a command is about (its argument, else the active editor's) and the client. */
    private async target(arg: unknown): Promise<{ client: LanguageClient; doc: vscode.TextDocument; uri: string }
        | undefined> {
        let doc: vscode.TextDocument | undefined;
        if (arg instanceof vscode.Uri || typeof arg === 'string') {
            const uri = typeof arg === 'string' ? vscode.Uri.parse(arg) : arg;
            doc = await vscode.workspace.openTextDocument(uri);
        } else {
            doc = vscode.window.activeTextEditor?.document;
        }
        if (doc === undefined || doc.languageId !== 'python') {
            void vscode.window.showWarningMessage('tilelsp: open a Python file with a TileLang kernel first.');
            return undefined;
        }
        const client = await this.ensureClient();
        if (client === undefined) {
            return undefined;
        }
        if (doc.isDirty && doc.uri.scheme === 'file') {
            await doc.save(); // the compiler reads the file from disk
        }
        return { client, doc, uri: client.code2ProtocolConverter.asUri(doc.uri) };
    }

    private reportCompile(result: unknown): void {
        try {
            const answer = parseCompileAnswer(result);
            if (answer.queued) {
                vscode.window.setStatusBarMessage('$(loading~spin) tilelsp: compiling…', 3000);
            } else {
                void vscode.window.showWarningMessage(`tilelsp: not compiled: ${answer.reason ?? 'no reason given'}`);
            }
        } catch (error) {
            this.output.warn(String(error));
        }
    }

    private async commandCompile(arg: unknown): Promise<void> {
        const target = await this.target(arg);
        if (target === undefined) {
            return;
        }
        const answer = await compile(this.sender(target.client), target.uri);
        this.reportCompile(answer);
    }

    private async pickKernel(client: LanguageClient, uri: string, arg: unknown): Promise<KernelChoice | undefined> {
        await analysed(this.sender(client), uri).catch(() => undefined); // a file opened just now
        const kernels = await kernelChoices(this.sender(client), uri);
        if (typeof arg === 'number' && Number.isInteger(arg) && arg >= 0) {
            return kernels[arg] ?? { index: arg, line: 0, title: '' };
        }
        if (kernels.length === 0) {
            void vscode.window.showWarningMessage('tilelsp: no fully instantiated kernel in this file: bind its '
                + 'parameters with a call in the file, a `# tilelint: instantiate ...` comment or tilelsp.instantiate.');
            return undefined;
        }
        if (kernels.length === 1) {
            return kernels[0];
        }
        const picked = await vscode.window.showQuickPick(kernels.map((k) => ({
            label: `Kernel ${k.index}`,
            description: `line ${k.line + 1}`,
            detail: k.title,
            kernel: k,
        })), { placeHolder: 'Which kernel?' });
        return picked?.kernel;
    }

    private async commandShowGenerated(arg: unknown, kindArg: unknown, kernelArg: unknown,
        archArg: unknown): Promise<void> {
        const target = await this.target(arg);
        if (target === undefined) {
            return;
        }
        let kind: GeneratedKind | undefined = GENERATED_KINDS.find((k) => k === kindArg);
        if (kind === undefined) {
            const picked = await vscode.window.showQuickPick(GENERATED_KINDS.map((k) => ({
                label: k, description: GENERATED_KIND_LABELS[k], value: k,
            })), { placeHolder: 'Which code?' });
            kind = picked?.value;
        }
        if (kind === undefined) {
            return;
        }
        const kernel = await this.pickKernel(target.client, target.uri, kernelArg);
        if (kernel === undefined) {
            return;
        }
        let arch = typeof archArg === 'string' ? archArg : undefined;
        if (arch === undefined && (kind === 'cuda' || kind === 'ptx')) {
            arch = await vscode.window.showInputBox({
                prompt: 'Architecture (empty: the first configured one)',
                placeHolder: 'sm_90',
                validateInput: (value) => (value.trim() === '' || /^sm_\d+a?$/.test(value.trim())
                    ? undefined : 'an architecture such as sm_80 or sm_90a'),
            });
            if (arch === undefined) {
                return;
            }
        }
        const answer = await vscode.window.withProgress({
            location: vscode.ProgressLocation.Notification,
            title: `tilelsp: generating ${kind} for kernel ${kernel.index}…`,
        }, () => showGenerated(this.sender(target.client), target.uri, kind, kernel.index, arch));
        if ('error' in answer) {
            this.output.error(`Show Generated Code (${kind}, kernel ${kernel.index}): ${answer.error}`);
            void vscode.window.showErrorMessage(`tilelsp: ${firstLine(answer.error)}`, 'Show Output').then((c) => {
                if (c) {
                    this.output.show();
                }
            });
            return;
        }
        const uri = vscode.Uri.parse(answer.uri);
        this.generatedUris.set(uri.toString(), answer.uri);
        this.generatedChanged.fire(uri); // the same URI again: fetch the new text
        let doc = await vscode.workspace.openTextDocument(uri);
        const language = generatedLanguageId(answer.uri);
        if (doc.languageId !== language) {
            doc = await vscode.languages.setTextDocumentLanguage(doc, language).then((d) => d, () => doc);
        }
        await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
    }

    private async generatedText(uri: vscode.Uri): Promise<string> {
        const serverUri = this.generatedUris.get(uri.toString()) ?? uri.toString();
        const client = await this.ensureClient();
        if (client === undefined) {
            return `// the tilelsp server is not running: ${serverUri} cannot be shown`;
        }
        const text = await generatedDocument(this.sender(client), serverUri);
        return text ?? `// the tilelsp server has no ${serverUri} (was it restarted?): run "tilelsp: Show Generated `
            + 'Code" again';
    }

    private async commandRunCheck(arg: unknown, kernelArg: unknown): Promise<void> {
        const target = await this.target(arg);
        if (target === undefined) {
            return;
        }
        const kernel = await this.pickKernel(target.client, target.uri, kernelArg);
        if (kernel === undefined) {
            return;
        }
        const answer = await vscode.window.withProgress({
            location: vscode.ProgressLocation.Notification,
            title: `tilelsp: tilec run --check, kernel ${kernel.index}…`,
        }, () => runCheck(this.sender(target.client), target.uri, kernel.index));
        if ('error' in answer) {
            void vscode.window.showErrorMessage(`tilelsp: ${firstLine(answer.error)}`);
            return;
        }
        // the server shows the exit status itself (window/showMessage); the whole output goes to the channel
        this.output.info(`tilec run --check (kernel ${kernel.index} of ${target.doc.uri.fsPath}): exit ${answer.exitCode}`
            + `\n${answer.output}`);
        this.output.show(true);
    }
}

let extension: TilelspExtension | undefined;

/** What `activate` returns (the extension's `exports`): read-only state, used by the tests. */
export interface TilelspApi {
    readonly serverState: string;
    readonly serverPid: number | undefined;
}

export function activate(context: vscode.ExtensionContext): TilelspApi {
    extension = new TilelspExtension(context);
    extension.activate();
    const current = extension;
    return {
        get serverState(): string {
            return current.serverState;
        },
        get serverPid(): number | undefined {
            return current.serverPid;
        },
    };
}

export async function deactivate(): Promise<void> {
    const current = extension;
    extension = undefined;
    await current?.dispose();
}
