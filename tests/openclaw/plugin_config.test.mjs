// Unit tests of extensions/convos/config.js (run by test_plugin_units.py with `node --test`).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  applyJoin,
  decideAccess,
  engineConfig,
  listAccountIds,
  normalizeEntry,
  resolveAccount,
} from "../../extensions/convos/config.js";

const A = "a".repeat(64);
const B = "b".repeat(64);

test("DM policy per sender: owner, allowFrom, the pairing store, then the policy", () => {
  const base = { sender: A, isOwner: false, allowFrom: [], stored: [] };
  const cases = [
    [{ policy: "pairing" }, "pair"],
    [{ policy: "pairing", isOwner: true }, "admit"],
    [{ policy: "disabled", isOwner: true }, "admit"],
    [{ policy: "disabled", allowFrom: [A] }, "drop"],
    [{ policy: "pairing", stored: [A] }, "admit"],
    [{ policy: "pairing", stored: [`convos:${A.toUpperCase()}`] }, "admit"],
    [{ policy: "allowlist" }, "drop"],
    [{ policy: "allowlist", allowFrom: [`convos:${A}`] }, "admit"],
    [{ policy: "allowlist", allowFrom: ["*"] }, "admit"],
    [{ policy: "open" }, "admit"],
    [{ policy: "open", allowFrom: [B] }, "drop"],
    [{ policy: "open", allowFrom: [A] }, "admit"],
  ];
  for (const [overrides, expected] of cases) {
    assert.equal(decideAccess({ ...base, ...overrides }), expected, JSON.stringify(overrides));
  }
  assert.equal(normalizeEntry(" convos:ABC "), "abc");
  assert.equal(normalizeEntry("*"), "*");
});

test("accounts: the root is default; named accounts inherit settings but not the identity", () => {
  const cfg = {
    channels: {
      convos: {
        env: "local", apiUrl: "http://n", dmPolicy: "allowlist", identityId: "id-root", ownerConversationId: "c-root",
        accounts: { work: { identityId: "id-work", ownerConversationId: "c-work" }, fresh: { name: "F" } },
      },
    },
  };
  assert.deepEqual(listAccountIds(cfg), ["default", "work", "fresh"]);
  const work = resolveAccount(cfg, "work");
  assert.equal(work.config.identityId, "id-work");
  assert.equal(work.env, "local");
  assert.equal(work.dmPolicy, "allowlist");
  const fresh = resolveAccount(cfg, "fresh");
  assert.equal(fresh.config.identityId, undefined);
  assert.equal(fresh.configured, false);
  assert.equal(resolveAccount(cfg, "default").config.ownerConversationId, "c-root");
  assert.deepEqual(listAccountIds({ channels: { convos: { accounts: { work: {} } } } }), ["work"]);
  assert.deepEqual(listAccountIds({}), ["default"]);
  assert.deepEqual(Object.keys(engineConfig(resolveAccount({ channels: { convos: { engineCommand: ["x"], env: "dev" } } }))), ["env"]);
});

test("a join is saved on its account, and the invite's creator becomes a command owner once", () => {
  let cfg = { commands: { ownerAllowFrom: ["telegram:1"] }, channels: { convos: { dmPolicy: "pairing" } } };
  cfg = applyJoin(cfg, "default", { env: "dev", identityId: "i1", ownerConversationId: "c1", ownerInboxId: A });
  assert.deepEqual(cfg.channels.convos, { dmPolicy: "pairing", enabled: true, env: "dev", identityId: "i1", ownerConversationId: "c1" });
  assert.deepEqual(cfg.commands.ownerAllowFrom, ["telegram:1", `convos:${A}`]);
  cfg = applyJoin(cfg, "work", { env: "dev", identityId: "i2", ownerConversationId: "c2", ownerInboxId: A });
  assert.equal(cfg.channels.convos.identityId, "i1");
  assert.deepEqual(cfg.channels.convos.accounts.work, { enabled: true, env: "dev", identityId: "i2", ownerConversationId: "c2" });
  assert.deepEqual(cfg.commands.ownerAllowFrom, ["telegram:1", `convos:${A}`]);
  const pending = applyJoin({}, "default", { env: "dev", identityId: "i3" });
  assert.equal(pending.commands, undefined);
  assert.equal(pending.channels.convos.ownerConversationId, undefined);
});
