// The channel's config and access rules, without I/O (index.js does the I/O; tests import this).

export const CHANNEL = "convos";
export const DEFAULT_ACCOUNT = "default";
const PLUGIN_ONLY_KEYS = new Set(["engineCommand", "accounts"]);

export function section(cfg) {
  return (cfg && cfg.channels && cfg.channels[CHANNEL]) || {};
}

// Keys that name one account's own XMTP identity: never inherited from the root by another account.
export const IDENTITY_KEYS = ["identityId", "ownerConversationId", "privateKey"];

export function hasIdentity(config) {
  return IDENTITY_KEYS.some((key) => Boolean(config[key]));
}

// The root section is the account "default" (kept in place when named accounts are added: setup
// declares configPromotion "preserve-root"); accounts.<id> are the others and inherit the root's
// settings, not its identity.
export function listAccountIds(cfg) {
  const { accounts, ...root } = section(cfg);
  const named = Object.keys(accounts || {});
  if (!named.length || hasIdentity(root)) return [DEFAULT_ACCOUNT, ...named.filter((id) => id !== DEFAULT_ACCOUNT)];
  return named;
}

export function resolveAccount(cfg, accountId) {
  const id = accountId || DEFAULT_ACCOUNT;
  const { accounts, ...root } = section(cfg);
  const inherited = { ...root };
  if (id !== DEFAULT_ACCOUNT) for (const key of IDENTITY_KEYS) delete inherited[key];
  const merged = { ...inherited, ...((accounts && accounts[id]) || {}) };
  const enabled = merged.enabled !== false;
  return {
    accountId: id,
    name: merged.name,
    enabled,
    configured: Boolean(merged.ownerConversationId || merged.identityId || merged.privateKey),
    env: merged.env || "production",
    dmPolicy: merged.dmPolicy || "pairing",
    allowFrom: (merged.allowFrom || []).map((entry) => normalizeEntry(String(entry))),
    engineCommand: merged.engineCommand,
    config: merged,
  };
}

export function normalizeEntry(entry) {
  const trimmed = entry.trim().replace(/^convos:/i, "");
  return trimmed === "*" ? trimmed : trimmed.toLowerCase();
}

export function engineConfig(account) {
  const out = {};
  for (const [key, value] of Object.entries(account.config)) if (!PLUGIN_ONLY_KEYS.has(key)) out[key] = value;
  return out;
}

export function patchAccount(cfg, accountId, patch) {
  const current = section(cfg);
  let next;
  if (accountId === DEFAULT_ACCOUNT && !(current.accounts && current.accounts[accountId])) {
    next = { ...current, ...patch };
  } else {
    const accounts = { ...(current.accounts || {}) };
    accounts[accountId] = { ...(accounts[accountId] || {}), ...patch };
    next = { ...current, accounts };
  }
  return { ...cfg, channels: { ...(cfg.channels || {}), [CHANNEL]: next } };
}

// The person who invited the agent (the invite's creator) owns it: they become a command owner,
// so that the first stranger approved later does not (OpenClaw makes the first approver owner
// when commands.ownerAllowFrom is empty).
export function withOwner(cfg, ownerInboxId) {
  if (!ownerInboxId) return cfg;
  const entry = `${CHANNEL}:${ownerInboxId}`;
  const owners = Array.isArray(cfg.commands?.ownerAllowFrom) ? cfg.commands.ownerAllowFrom : [];
  if (owners.map(String).includes(entry)) return cfg;
  return { ...cfg, commands: { ...(cfg.commands || {}), ownerAllowFrom: [...owners, entry] } };
}

export function ownerEntries(cfg) {
  const owners = Array.isArray(cfg?.commands?.ownerAllowFrom) ? cfg.commands.ownerAllowFrom : [];
  return new Set(owners.map(String).filter((e) => /^convos:/i.test(e)).map(normalizeEntry));
}

// OpenClaw's DM policy for one sender of a Convos conversation: "admit", "pair" (ask OpenClaw for
// a pairing code) or "drop". `stored` is OpenClaw's pairing allow store for the account.
export function decideAccess({ policy, sender, isOwner, allowFrom, stored }) {
  if (isOwner) return "admit";
  if (policy === "disabled") return "drop";
  const configured = new Set(allowFrom.map((entry) => normalizeEntry(String(entry))));
  if (configured.has(sender) || configured.has("*")) return "admit";
  if (stored.map((entry) => normalizeEntry(String(entry))).includes(sender)) return "admit";
  if (policy === "open") return configured.size ? "drop" : "admit";
  if (policy === "allowlist") return "drop";
  return "pair";
}

export function applyJoin(cfg, accountId, joined) {
  const patch = { enabled: true, env: joined.env };
  if (joined.apiUrl) patch.apiUrl = joined.apiUrl;
  if (joined.identityId) patch.identityId = joined.identityId;
  if (joined.ownerConversationId) patch.ownerConversationId = joined.ownerConversationId;
  return withOwner(patchAccount(cfg, accountId, patch), joined.ownerInboxId);
}
