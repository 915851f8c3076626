"""The remote attachment scheme against libxmtp's own implementation in node-sdk, both ways.

node-sdk's ``encryptAttachment``/``decryptAttachment`` (libxmtp, the code under convos-cli and the
Convos apps) against our :mod:`openclaw_convos.xmtp.attachments`: what one encrypts the other
decrypts to the same bytes, name and type. No devnode needed.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from openclaw_convos.xmtp import attachments as a

from .peer import CliInstall

SCRIPT = """
const [sdkPath, mode, inPath, outPath] = process.argv.slice(2);
const sdk = await import(sdkPath);
const fs = await import("node:fs");
const hex = (b) => Buffer.from(b).toString("hex");
const unhex = (s) => new Uint8Array(Buffer.from(s, "hex"));
if (mode === "encrypt") {
  const content = fs.readFileSync(inPath);
  const enc = sdk.encryptAttachment({ filename: "from-node.bin", mimeType: "application/x-test", content });
  fs.writeFileSync(outPath, JSON.stringify({
    payload: hex(enc.payload), contentDigest: enc.contentDigest, secret: hex(enc.secret),
    salt: hex(enc.salt), nonce: hex(enc.nonce), contentLength: enc.payload.length,
  }));
} else {
  const v = JSON.parse(fs.readFileSync(inPath, "utf8"));
  const att = sdk.decryptAttachment(unhex(v.payload), {
    url: "https://example.test/x", contentDigest: v.contentDigest, secret: unhex(v.secret),
    salt: unhex(v.salt), nonce: unhex(v.nonce), scheme: "https", contentLength: v.contentLength,
    filename: v.filename,
  });
  fs.writeFileSync(outPath, JSON.stringify({
    filename: att.filename, mimeType: att.mimeType, content: hex(att.content),
  }));
}
"""


async def node(install: CliInstall, folder: Path, *args: str) -> None:
    inside = "/opt/convos" if install._rootfs is not None else str(install.folder)
    sdk = f"{inside}/node_modules/@xmtp/node-sdk/dist/index.js"
    script = folder / "scheme.mjs"
    script.write_text(SCRIPT)
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(folder)}
    argv = install.node_argv([str(script), sdk, *args], env, (folder,), folder)
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=folder,
        env=install.process_env(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode(errors="replace")


async def test_node_sdk_encrypts_we_decrypt(convos_cli: CliInstall, tmp_path: Path) -> None:
    content = bytes(range(256)) * 4096 + b"tail"  # 1 MB and a bit
    (tmp_path / "in.bin").write_bytes(content)
    await node(convos_cli, tmp_path, "encrypt", str(tmp_path / "in.bin"), str(tmp_path / "enc.json"))
    v = json.loads((tmp_path / "enc.json").read_text())
    ref = a.RemoteAttachment(
        url="https://example.test/x",
        content_digest=v["contentDigest"],
        secret=bytes.fromhex(v["secret"]),
        salt=bytes.fromhex(v["salt"]),
        nonce=bytes.fromhex(v["nonce"]),
        content_length=v["contentLength"],
    )
    got = a.decrypt_attachment(bytes.fromhex(v["payload"]), ref)
    assert got == a.InlineAttachment("from-node.bin", "application/x-test", content)


async def test_we_encrypt_node_sdk_decrypts(convos_cli: CliInstall, tmp_path: Path) -> None:
    content = b"\xff\xd8\xff\xe0 jpeg-ish " + bytes(range(256)) * 100
    enc = a.encrypt_attachment(a.InlineAttachment("from-python.jpg", "image/jpeg", content))
    r = enc.reference
    (tmp_path / "enc.json").write_text(
        json.dumps(
            {
                "payload": enc.payload.hex(),
                "contentDigest": r.content_digest,
                "secret": r.secret.hex(),
                "salt": r.salt.hex(),
                "nonce": r.nonce.hex(),
                "contentLength": r.content_length,
                "filename": r.filename,
            }
        )
    )
    await node(convos_cli, tmp_path, "decrypt", str(tmp_path / "enc.json"), str(tmp_path / "out.json"))
    out = json.loads((tmp_path / "out.json").read_text())
    assert (out["filename"], out["mimeType"], bytes.fromhex(out["content"])) == (
        "from-python.jpg",
        "image/jpeg",
        content,
    )
