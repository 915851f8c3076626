// OpenClaw channel plugin for Convos (XMTP), OpenClaw >= 2026.9.6. Plain ESM, no dependencies.
//
// The XMTP and Convos work is done by the Python engine `openclaw-convos` (identities, joins,
// invites, streams, exactly-once delivery, wire formats), run as one child process per account:
// `<engine> bridge`, JSON lines over stdio (docs/bridge-protocol.md in the openclaw-convos
// repository). OpenClaw keeps the agent, sessions, DM policy and pairing: this file turns each
// `turn` event into an OpenClaw inbound message (or a pairing reply) and answers `turn.done`.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { defineChannelPluginEntry } from "openclaw/plugin-sdk/channel-core";
import { buildJsonChannelConfigSchema } from "openclaw/plugin-sdk/channel-config-schema";
import { defineChannelSetupContract } from "openclaw/plugin-sdk/channel-setup";
import { PAIRING_APPROVED_MESSAGE } from "openclaw/plugin-sdk/channel-status";
import { resolveStateDir } from "openclaw/plugin-sdk/state-paths";
import {
  CHANNEL,
  DEFAULT_ACCOUNT,
  applyJoin,
  decideAccess,
  engineConfig,
  listAccountIds,
  normalizeEntry,
  ownerEntries,
  patchAccount,
  resolveAccount,
} from "./config.js";

const PROTOCOL = 1;
const ENGINE_NAME = "openclaw-convos";
const STOP_GRACE_MS = 3500; // OpenClaw gives a stopping account 5 s
const RESTART_MIN_MS = 1000;
const RESTART_MAX_MS = 60000;
const HEALTHY_UPTIME_MS = 60000; // an engine up this long resets the backoff
const APPROVAL_POLL_MS = 2000;
const DEFAULT_JOIN_TIMEOUT_S = 120;
const APOLOGY = "Sorry, I could not answer that just now. Please try again in a moment.";

const MANIFEST = JSON.parse(fs.readFileSync(new URL("./openclaw.plugin.json", import.meta.url), "utf8"));
const CONFIG_SCHEMA = MANIFEST.channelConfigs.convos.schema;

// Running engines by account, shared by every copy of this module that OpenClaw may import
// (status probes run in the gateway process, sometimes through another registration of the plugin).
const ENGINES = Symbol.for("openclaw-convos.engines");
function engines() {
  globalThis[ENGINES] ??= new Map();
  return globalThis[ENGINES];
}
let pluginRuntime = null;

// ---------------------------------------------------------------- config

// ---------------------------------------------------------------- the engine program

class EngineMissingError extends Error {}

function findOnPath(name) {
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {}
  }
  return null;
}

function engineArgv(account, subcommand) {
  const configured = account.engineCommand;
  if (Array.isArray(configured) && configured.length) return [...configured, subcommand];
  const found = findOnPath(ENGINE_NAME);
  if (!found) {
    throw new EngineMissingError(
      `the Convos engine \`${ENGINE_NAME}\` is not on PATH: install the Python package openclaw-convos ` +
        "(Python 3.11+: `pip install openclaw-convos`, or `pip install .` in its repository) where the " +
        "gateway can run it, or set channels.convos.engineCommand to the program, e.g. " +
        '["/opt/venv/bin/openclaw-convos"]',
    );
  }
  return [found, subcommand];
}

// The engine keeps its identities in OpenClaw's state folder, resolved as OpenClaw resolves it.
function engineEnv() {
  return { ...process.env, OPENCLAW_STATE_DIR: resolveStateDir(process.env) };
}

// Senders who were given a pairing code, by account, kept on disk so that an approval made while
// the gateway was down is still announced: {accountId: {inboxId: {conversationId, at}}}. Codes
// live 1 h; entries older than 2 h are dropped.
const PENDING_KEEP_MS = 2 * 60 * 60 * 1000;
function pendingApprovalsFile() {
  return path.join(resolveStateDir(process.env), "convos", "plugin-pending-approvals.json");
}

function loadPendingApprovals(accountId) {
  try {
    const all = JSON.parse(fs.readFileSync(pendingApprovalsFile(), "utf8"));
    const entries = Object.entries((all && all[accountId]) || {});
    return new Map(entries.filter(([, v]) => v && v.conversationId && Date.now() - v.at < PENDING_KEEP_MS));
  } catch {
    return new Map();
  }
}

function savePendingApprovals(accountId, pending, log) {
  const file = pendingApprovalsFile();
  try {
    let all = {};
    try { all = JSON.parse(fs.readFileSync(file, "utf8")) || {}; } catch {}
    all[accountId] = Object.fromEntries(pending);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch (err) {
    // the running gateway still announces from memory; only a restart would forget
    log?.warn?.(`[convos:${accountId}] could not save ${file}: ${String(err)}`);
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

// One running `<engine> bridge` process.
class Engine {
  constructor({ argv, accountId, log, onTurn }) {
    this.argv = argv;
    this.accountId = accountId;
    this.log = log;
    this.onTurn = onTurn;
    this.stderrTail = [];
    this.pending = new Map();
    this.nextId = 1;
    this.fatal = null;
    this.startedAt = Date.now();
    this.ready = new Promise((resolve, reject) => { this.readyHandlers = { resolve, reject }; });
    this.ready.catch(() => {});
    this.child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"], env: engineEnv(), detached: true });
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => resolve({ code, signal }));
      this.child.once("error", (error) => resolve({ code: null, signal: null, error }));
    });
    this.child.stdin.on("error", () => {}); // the engine died: its exit is reported below
    createInterface({ input: this.child.stdout }).on("line", (line) => this.onLine(line));
    createInterface({ input: this.child.stderr }).on("line", (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > 20) this.stderrTail.shift();
      this.log?.debug?.(`[convos:${accountId}] engine: ${line}`);
    });
    this.exited.then((result) => {
      const why = this.describeExit(result);
      this.readyHandlers.reject(new Error(why));
      for (const waiter of this.pending.values()) waiter.reject(new Error(why));
      this.pending.clear();
    });
  }

  get pid() {
    return this.child.pid;
  }

  describeExit({ code, signal, error }) {
    if (error) return `could not run ${this.argv[0]}: ${error.message}`;
    const detail = this.fatal || this.stderrTail.filter((l) => l.trim()).slice(-2).join(" | ");
    return `the Convos engine exited (code ${code}${signal ? `, signal ${signal}` : ""})${detail ? `: ${detail}` : ""}`;
  }

  onLine(line) {
    let event;
    try {
      event = JSON.parse(line);
    } catch {
      this.log?.warn?.(`[convos:${this.accountId}] engine wrote a line that is not JSON`);
      return;
    }
    const waiter = event.id ? this.pending.get(event.id) : undefined;
    if (waiter) {
      this.pending.delete(event.id);
      if (event.event === "error") waiter.reject(new Error(event.message));
      else waiter.resolve(event);
      return;
    }
    switch (event.event) {
      case "hello":
        if (event.protocol !== PROTOCOL) {
          this.fatal = `the engine speaks bridge protocol ${event.protocol}, this plugin ${PROTOCOL}: install matching versions`;
        }
        break;
      case "ready":
        this.readyHandlers.resolve(event);
        break;
      case "fatal":
        this.fatal = event.message;
        break;
      case "turn":
        this.onTurn(event, this);
        break;
      case "error":
        this.log?.warn?.(`[convos:${this.accountId}] engine: ${event.message}`);
        break;
      default:
        break;
    }
  }

  write(command) {
    if (this.child.stdin.writable) this.child.stdin.write(`${JSON.stringify(command)}\n`);
  }

  request(command, timeoutMs = 30000) {
    const id = `r${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the Convos engine did not answer ${command.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => { clearTimeout(timer); resolve(value); },
        reject: (error) => { clearTimeout(timer); reject(error); },
      });
      this.write({ ...command, id });
    });
  }

  running() {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  // stop command, stdin closed; the whole process group is killed if it is still there after the grace
  async stop(graceMs = STOP_GRACE_MS) {
    if (this.running()) {
      this.write({ type: "stop" });
      try { this.child.stdin.end(); } catch {}
      const outcome = await Promise.race([this.exited.then(() => "exited"), sleep(graceMs).then(() => "late")]);
      if (outcome === "late") {
        this.log?.warn?.(`[convos:${this.accountId}] engine did not stop within ${graceMs} ms; killing it`);
        try { process.kill(-this.child.pid, "SIGKILL"); } catch {}
      }
    }
    await this.exited;
  }
}

// ---------------------------------------------------------------- inbound: gate, pairing, dispatch

function channelRuntime(ctx) {
  return ctx.channelRuntime && ctx.channelRuntime.reply ? { channel: ctx.channelRuntime } : pluginRuntime;
}

// What OpenClaw's DM policy says about this sender: {admit: true} | {reply: text} | {} (drop).
async function gate({ rt, cfg, account, event, pendingApprovals, log }) {
  const sender = normalizeEntry(String(event.senderInboxId || ""));
  const stored = await rt.channel.pairing.readAllowFromStore({ channel: CHANNEL, accountId: account.accountId });
  const decision = decideAccess({
    policy: account.dmPolicy,
    sender,
    isOwner: Boolean(event.isOwner) || ownerEntries(cfg).has(sender),
    allowFrom: account.allowFrom,
    stored,
  });
  if (decision !== "pair") return decision === "admit" ? { admit: true } : {};
  const { code, created } = await rt.channel.pairing.upsertPairingRequest({
    channel: CHANNEL,
    id: sender,
    accountId: account.accountId,
    meta: { name: event.senderName || undefined, conversationId: event.conversationId },
  });
  if (code && pendingApprovals.get(sender)?.conversationId !== event.conversationId) {
    pendingApprovals.set(sender, { conversationId: event.conversationId, at: Date.now() });
    savePendingApprovals(account.accountId, pendingApprovals, log);
  }
  if (!created || !code) return {};
  const reply = rt.channel.pairing.buildPairingReply({
    channel: CHANNEL,
    idLine: `Your Convos inbox ID: ${sender}`,
    code,
  });
  return { reply };
}

function turnBody(event) {
  if (event.reaction) {
    const target = event.replyToText ? ` to: "${event.replyToText}"` : " to your message";
    return `[reacted ${event.reaction}${target}]`;
  }
  return event.text || "";
}

async function dispatch({ rt, cfg, account, event, log }) {
  const conversationId = String(event.conversationId);
  const sender = String(event.senderInboxId);
  const isGroup = event.isGroup !== false;
  const body = turnBody(event);
  const route = rt.channel.routing.resolveAgentRoute({
    cfg,
    channel: CHANNEL,
    accountId: account.accountId,
    peer: { kind: isGroup ? "group" : "direct", id: isGroup ? conversationId : sender },
  });
  const storePath = rt.channel.session.resolveStorePath(cfg.session?.store, { agentId: route.agentId });
  const ctxPayload = rt.channel.reply.finalizeInboundContext({
    Body: body,
    RawBody: body,
    CommandBody: body,
    From: `${CHANNEL}:${sender}`,
    To: `${CHANNEL}:${conversationId}`,
    SessionKey: route.sessionKey,
    AccountId: route.accountId,
    ChatType: isGroup ? "group" : "direct",
    ConversationLabel: conversationId.slice(0, 12),
    SenderName: event.senderName || undefined,
    SenderId: sender,
    Provider: CHANNEL,
    Surface: CHANNEL,
    MessageSid: event.messageId,
    ReplyToBody: event.replyToText || undefined,
    OriginatingChannel: CHANNEL,
    OriginatingTo: `${CHANNEL}:${conversationId}`,
  });
  await rt.channel.session.recordInboundSession({
    storePath,
    sessionKey: ctxPayload.SessionKey ?? route.sessionKey,
    ctx: ctxPayload,
    onRecordError: (err) => log?.warn?.(`[convos] session record failed: ${String(err)}`),
  });
  const texts = [];
  await rt.channel.reply.dispatchReplyWithBufferedBlockDispatcher({
    ctx: ctxPayload,
    cfg,
    dispatcherOptions: {
      deliver: async (payload, info) => {
        if (info && info.kind === "tool") return; // tool chatter is not an answer
        if (payload && payload.text && payload.text.trim()) texts.push(payload.text);
      },
      onError: (err, info) => log?.warn?.(`[convos] reply ${info?.kind ?? ""} failed: ${String(err)}`),
    },
  });
  return texts.length ? texts.join("\n\n") : null;
}

async function handleTurn({ rt, cfg, account, event, engine, log, pendingApprovals }) {
  let text = null;
  try {
    const decision = await gate({ rt, cfg, account, event, pendingApprovals, log });
    if (decision.reply) text = decision.reply;
    else if (decision.admit) text = await dispatch({ rt, cfg, account, event, log });
  } catch (err) {
    log?.error?.(`[convos:${account.accountId}] turn ${event.turnId} failed: ${String(err?.stack || err)}`);
    text = APOLOGY; // as the standalone gateway does when its agent fails
  }
  engine.write({ type: "turn.done", turnId: event.turnId, text });
}

// Approved senders are told, in the conversation they asked from (`openclaw pairing approve`
// runs in another process: the allow store is the signal).
async function announceApprovals({ rt, account, getEngine, pendingApprovals, log }) {
  if (!pendingApprovals.size) return;
  const engine = getEngine();
  if (!engine) return;
  const stored = new Set(
    (await rt.channel.pairing.readAllowFromStore({ channel: CHANNEL, accountId: account.accountId })).map((e) =>
      normalizeEntry(String(e)),
    ),
  );
  for (const [sender, { conversationId }] of [...pendingApprovals]) {
    if (!stored.has(sender)) continue;
    pendingApprovals.delete(sender);
    savePendingApprovals(account.accountId, pendingApprovals, log);
    try {
      await engine.request({ type: "send", conversationId, text: PAIRING_APPROVED_MESSAGE });
    } catch (err) {
      log?.warn?.(`[convos:${account.accountId}] approval notice not sent: ${String(err)}`);
    }
  }
}

// ---------------------------------------------------------------- the account's lifecycle

async function startAccount(ctx) {
  const { account, abortSignal, log } = ctx;
  const rt = channelRuntime(ctx);
  const registry = engines();
  const pendingApprovals = loadPendingApprovals(account.accountId);
  let engine = null;
  let restarts = 0;
  let attempt = 0;
  const status = (patch) => ctx.setStatus({ accountId: account.accountId, ...patch });
  const watcher = setInterval(() => {
    announceApprovals({ rt, account, getEngine: () => engine, pendingApprovals, log }).catch((err) =>
      log?.warn?.(`[convos:${account.accountId}] approval check failed: ${String(err)}`),
    );
  }, APPROVAL_POLL_MS);
  watcher.unref?.();
  try {
    while (!abortSignal.aborted) {
      let argv;
      try {
        argv = engineArgv(account, "bridge");
      } catch (err) {
        // not retryable: say so and wait for a config change (a returning startAccount is restarted in a loop)
        log?.error?.(`[convos:${account.accountId}] ${err.message}`);
        status({ running: false, connected: false, lastError: err.message });
        await sleep(2 ** 31 - 1, abortSignal);
        break;
      }
      engine = new Engine({
        argv,
        accountId: account.accountId,
        log,
        onTurn: (event, from) =>
          void handleTurn({ rt, cfg: ctx.cfg, account, event, engine: from, log, pendingApprovals }),
      });
      engine.write({ type: "start", protocol: PROTOCOL, accountId: account.accountId, config: engineConfig(account) });
      let ready = null;
      try {
        ready = await Promise.race([engine.ready, sleep(120000, abortSignal).then(() => null)]);
      } catch (err) {
        log?.error?.(`[convos:${account.accountId}] ${err.message}`);
        status({ running: false, connected: false, lastError: err.message, restarts });
      }
      if (ready) {
        registry.set(account.accountId, engine);
        const conversations = (ready.conversations || []).length;
        log?.info?.(`[convos:${account.accountId}] engine ready (pid ${engine.pid}, ${conversations} conversation(s))`);
        status({ running: true, connected: ready.health !== "degraded", lastStartAt: Date.now(), lastError: null, restarts });
        const outcome = await Promise.race([
          engine.exited.then((result) => ({ exit: result })),
          new Promise((resolve) => {
            if (abortSignal.aborted) return resolve({ aborted: true });
            abortSignal.addEventListener("abort", () => resolve({ aborted: true }), { once: true });
          }),
        ]);
        if (registry.get(account.accountId) === engine) registry.delete(account.accountId);
        if (outcome.aborted) break;
        const why = engine.describeExit(outcome.exit);
        log?.error?.(`[convos:${account.accountId}] ${why}`);
        status({ running: false, connected: false, lastError: why, restarts });
      }
      await engine.stop();
      if (abortSignal.aborted) break;
      if (Date.now() - engine.startedAt > HEALTHY_UPTIME_MS) attempt = 0;
      const delay = Math.min(RESTART_MIN_MS * 2 ** attempt, RESTART_MAX_MS);
      attempt += 1;
      restarts += 1;
      log?.warn?.(`[convos:${account.accountId}] restarting the engine in ${delay} ms (restart ${restarts})`);
      await sleep(delay, abortSignal);
    }
  } finally {
    clearInterval(watcher);
    if (engine) await engine.stop();
    if (registry.get(account.accountId) === engine) registry.delete(account.accountId);
    status({ running: false, connected: false, lastStopAt: Date.now() });
  }
}

// ---------------------------------------------------------------- setup: `channels add`, `configure`

function runEngineSetup({ account, args, onProgress }) {
  const argv = engineArgv(account, "setup");
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], [...argv.slice(1), ...args], { stdio: ["ignore", "pipe", "pipe"], env: engineEnv() });
    let stdout = "";
    const errors = [];
    child.stdout.on("data", (chunk) => { stdout += chunk; });
    createInterface({ input: child.stderr }).on("line", (line) => {
      if (/^error: /.test(line)) errors.push(line.replace(/^error: /, ""));
      else if (line.trim()) onProgress?.(line);
    });
    child.once("error", (err) => reject(new Error(`could not run ${argv[0]}: ${err.message}`)));
    child.once("close", (code) => {
      let result = null;
      try { result = stdout.trim() ? JSON.parse(stdout.trim().split("\n").pop()) : null; } catch {}
      if (code === 0 && result) return resolve(result);
      if (result && result.status === "refused") return reject(new Error(result.message));
      reject(new Error(errors.pop() || `openclaw-convos setup failed (exit ${code})`));
    });
  });
}

function setupArgs(account, input, accountId) {
  const env = input.xmtpEnv || account.config.env || "production";
  const apiUrl = input.apiUrl || account.config.apiUrl;
  const args = ["--invite", input.inviteUrl.trim(), "--account", accountId, "--env", env];
  if (apiUrl) args.push("--api-url", apiUrl);
  if (input.name || account.config.name) args.push("--name", input.name || account.config.name);
  return { args, env, apiUrl };
}

async function joinByInvite({ cfg, accountId, input, onProgress }) {
  const account = resolveAccount(cfg, accountId);
  const { args, env, apiUrl } = setupArgs(account, input, accountId);
  const timeout = String(input.joinTimeout || DEFAULT_JOIN_TIMEOUT_S);
  const result = await runEngineSetup({ account, args: [...args, "--timeout", timeout], onProgress });
  return { ...result, env, apiUrl };
}

const SETUP_FIELDS = {
  inviteUrl: { kind: "string", cli: { flags: "--invite-url <url>", description: "Convos invite link: joins its conversation as the owner channel" } },
  apiUrl: { kind: "string", cli: { flags: "--api-url <url>", description: "A custom or local XMTP node URL" } },
  xmtpEnv: { kind: "choice", choices: ["production", "dev", "local"], cli: { flags: "--xmtp-env <env>", description: "XMTP network: production (default), dev or local" } },
  joinTimeout: { kind: "integer", cli: { flags: "--join-timeout <seconds>", description: "How long to wait for the creator's approval (default 120)" } },
  identityId: { kind: "string", cli: { flags: "--identity-id <id>", description: "Set by the join; with --owner-conversation-id, saves an identity that already joined" } },
  ownerConversationId: { kind: "string", cli: { flags: "--owner-conversation-id <id>", description: "Set by the join: the owner conversation" } },
  ownerInboxId: { kind: "string", cli: { flags: "--owner-inbox-id <id>", description: "Set by the join: the owner's inbox ID (becomes commands.ownerAllowFrom)" } },
};

const setupContract = defineChannelSetupContract({
  fields: SETUP_FIELDS,
  adapter: {
    singleAccountKeysToMove: [],
    configPromotion: "preserve-root",
    prepareAccountConfigInput: async ({ cfg, accountId, input, runtime }) => {
      if (!input.inviteUrl || input.identityId) return input;
      const say = (line) => (runtime?.log ? runtime.log(line) : process.stderr.write(`${line}\n`));
      const joined = await joinByInvite({ cfg, accountId: accountId || DEFAULT_ACCOUNT, input, onProgress: say });
      if (joined.status === "pending") {
        say("Join request sent; the creator has not approved it yet. The gateway finishes the join when they do.");
      } else {
        say(`Joined “${joined.name || joined.conversationId}” (conversation ${joined.conversationId}).`);
      }
      return {
        ...input,
        xmtpEnv: joined.env,
        apiUrl: joined.apiUrl || undefined,
        identityId: joined.identityId,
        ownerConversationId: joined.conversationId || undefined,
        // the invite's creator owns the agent once the join is complete (a pending join grants nothing)
        ownerInboxId: joined.status === "joined" ? joined.ownerInboxId : undefined,
      };
    },
    validateInput: ({ input }) =>
      input.inviteUrl || input.identityId ? null : "--invite-url is required (the invite link from the Convos app)",
    applyAccountConfig: ({ cfg, accountId, input }) =>
      applyJoin(cfg, accountId || DEFAULT_ACCOUNT, {
        env: input.xmtpEnv || resolveAccount(cfg, accountId).config.env || "production",
        apiUrl: input.apiUrl,
        identityId: input.identityId,
        ownerConversationId: input.ownerConversationId,
        ownerInboxId: input.ownerInboxId,
      }),
  },
});

const SETUP_STEPS = [
  "To connect OpenClaw to Convos:",
  "1. Open the Convos app",
  "2. Open a conversation (or create one)",
  '3. Tap the "+" button',
  "4. Tap the share button on the QR code",
  '5. Tap "Copy" (or AirDrop it to your Mac)',
  "6. Paste the invite link below",
  "",
  "OpenClaw creates a new XMTP identity, joins that conversation and uses it as your owner channel.",
].join("\n");

const setupWizard = {
  channel: CHANNEL,
  getStatus: async ({ cfg }) => {
    const account = resolveAccount(cfg, DEFAULT_ACCOUNT);
    const owner = account.config.ownerConversationId;
    return {
      channel: CHANNEL,
      configured: account.configured,
      statusLines: [
        `Convos: ${account.configured ? "configured" : "needs an invite link"}`,
        `Environment: ${account.env}`,
        ...(owner ? [`Owner conversation: ${owner.slice(0, 8)}…`] : []),
      ],
      selectionHint: account.configured ? "ready" : "paste invite link",
      quickstartScore: 0,
    };
  },
  configure: async ({ cfg, prompter }) => {
    const accountId = DEFAULT_ACCOUNT;
    const account = resolveAccount(cfg, accountId);
    const owner = account.config.ownerConversationId;
    if (owner) {
      const keep = await prompter.confirm({
        message: `Convos already configured (conversation: ${owner.slice(0, 12)}…). Keep it?`,
        initialValue: true,
      });
      if (keep) return { cfg };
    }
    await prompter.note(SETUP_STEPS, "Convos setup");
    let inviteUrl = null;
    let about = null;
    for (let tries = 0; tries < 3 && !about; tries += 1) {
      inviteUrl = String(
        await prompter.text({
          message: "Paste Convos invite link",
          placeholder: "https://popup.convos.org/v2?i=…",
          validate: (value) => (String(value || "").trim() ? undefined : "Required"),
        }),
      ).trim();
      try {
        about = await runEngineSetup({ account, args: ["--invite", inviteUrl, "--check"] });
      } catch (err) {
        await prompter.note(err.message, "Invalid invite");
      }
    }
    if (!about) throw new Error("no usable invite link");
    await prompter.note(
      [
        `Conversation: ${about.emoji ? `${about.emoji} ` : ""}${about.name || "(no name)"}`,
        `Invite expires: ${about.expiresAt || "never"}`,
        ...(about.conversationExpiresAt ? [`Conversation expires: ${about.conversationExpiresAt}`] : []),
        `Owner (the invite's creator): ${about.ownerInboxId.slice(0, 16)}…`,
      ].join("\n"),
      "Invite",
    );
    const progress = prompter.progress("Creating an XMTP identity and sending the join request…");
    let joined;
    try {
      joined = await joinByInvite({ cfg, accountId, input: { inviteUrl }, onProgress: (line) => progress.update(line) });
    } catch (err) {
      progress.stop("Join failed");
      throw err;
    }
    if (joined.status === "pending") {
      progress.stop("Join request sent");
      await prompter.note(
        "The conversation's creator has not approved the join yet: approve it in the Convos app. " +
          "The gateway finishes the join when they do.",
        "Join pending",
      );
    } else {
      progress.stop(`Joined ${joined.name || joined.conversationId}`);
    }
    return {
      cfg: applyJoin(cfg, accountId, {
        env: joined.env,
        apiUrl: joined.apiUrl,
        identityId: joined.identityId,
        ownerConversationId: joined.conversationId,
        ownerInboxId: joined.status === "joined" ? joined.ownerInboxId : undefined,
      }),
    };
  },
  disable: (cfg) => patchAccount(cfg, DEFAULT_ACCOUNT, { enabled: false }),
};

// ---------------------------------------------------------------- the channel

export const convosPlugin = {
  id: CHANNEL,
  meta: {
    id: CHANNEL,
    label: "Convos",
    selectionLabel: "Convos (XMTP)",
    docsPath: "/channels/convos",
    blurb: "End-to-end encrypted messaging via XMTP",
    order: 75,
  },
  capabilities: { chatTypes: ["direct", "group"], reactions: true, threads: false, media: false, reply: true },
  reload: { configPrefixes: ["channels.convos"] },
  configSchema: buildJsonChannelConfigSchema(CONFIG_SCHEMA),
  setupWizard,
  setupContract,
  config: {
    listAccountIds,
    resolveAccount,
    defaultAccountId: () => DEFAULT_ACCOUNT,
    isConfigured: (account) => account.configured,
    describeAccount: (account) => ({
      accountId: account.accountId,
      name: account.name,
      enabled: account.enabled,
      configured: account.configured,
    }),
  },
  security: {
    resolveDmPolicy: ({ account }) => ({
      policy: account.dmPolicy,
      allowFrom: account.allowFrom,
      policyPath: "channels.convos.dmPolicy",
      allowFromPath: "channels.convos.allowFrom",
      approveHint: "openclaw pairing approve convos <code>",
      normalizeEntry,
    }),
  },
  pairing: {
    idLabel: "Convos inbox ID",
    normalizeAllowEntry: (entry) => normalizeEntry(String(entry)),
  },
  outbound: {
    deliveryMode: "direct",
    textChunkLimit: 4000,
    sendText: async ({ to, text, accountId, replyToId }) => {
      const engine = engines().get(accountId || DEFAULT_ACCOUNT);
      if (!engine) throw new Error("the Convos engine is not running for this account");
      const conversationId = String(to || "").replace(/^convos:/i, "");
      const sent = await engine.request({ type: "send", conversationId, text, replyTo: replyToId || undefined });
      return { channel: CHANNEL, messageId: (sent.messageIds && sent.messageIds[0]) || "" };
    },
  },
  status: {
    defaultRuntime: { accountId: DEFAULT_ACCOUNT, running: false, lastStartAt: null, lastStopAt: null, lastError: null },
    probeAccount: async ({ account, timeoutMs }) => {
      const engine = engines().get(account.accountId);
      if (!engine || !engine.running()) return { ok: false, error: "the Convos engine is not running" };
      const status = await engine.request({ type: "status" }, Math.min(timeoutMs || 10000, 10000));
      const conversations = (status.conversations || []).map((c) => ({
        conversationId: c.conversationId,
        stream: c.stream,
        joinPending: c.joinPending,
      }));
      return {
        ok: status.health !== "degraded",
        health: status.health,
        enginePid: engine.pid,
        conversations,
        problems: status.problems,
      };
    },
    buildAccountSnapshot: ({ account, runtime, probe }) => ({
      accountId: account.accountId,
      name: account.name,
      enabled: account.enabled,
      configured: account.configured,
      running: runtime?.running ?? false,
      connected: runtime?.connected ?? false,
      lastStartAt: runtime?.lastStartAt ?? null,
      lastStopAt: runtime?.lastStopAt ?? null,
      lastError: runtime?.lastError ?? null,
      restarts: runtime?.restarts ?? 0,
      probe,
    }),
  },
  gateway: { startAccount },
};

export default defineChannelPluginEntry({
  id: CHANNEL,
  name: "Convos",
  description: "Convos (XMTP) channel, served by the openclaw-convos engine",
  plugin: convosPlugin,
  setRuntime: (runtime) => {
    pluginRuntime = runtime;
  },
});
